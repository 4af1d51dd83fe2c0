"""ppsci_ext: WGAN-GP for PaddleScience.

Generator and critic architectures (:mod:`ppsci_ext.arch`), the Wasserstein losses
with gradient penalty (:mod:`ppsci_ext.loss`), metrics (:mod:`ppsci_ext.metric`),
data (:mod:`ppsci_ext.data`) and one adversarial trainer on ``ppsci.solver.Solver``
(:mod:`ppsci_ext.solver`).

Import this package before ``paddle``: it puts the CPU settings Paddle needs into
the environment first (see :mod:`ppsci_ext.runtime`).
"""

from ppsci_ext import runtime as _runtime

_runtime.configure_cpu()

__version__ = "0.1.0"
