"""The adversarial trainer on ``ppsci.solver.Solver`` and its checkpoints."""

from ppsci_ext.solver.checkpoint import CheckpointError
from ppsci_ext.solver.wgan_solver import NonFiniteLossError
from ppsci_ext.solver.wgan_solver import WGANSolver
from ppsci_ext.solver.wgan_solver import adversarial_epoch_func

__all__ = ["WGANSolver", "NonFiniteLossError", "CheckpointError", "adversarial_epoch_func"]
