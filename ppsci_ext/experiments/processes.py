"""Data-parallel training on the cores of one machine, started by the command itself.

``TRAIN.processes: N`` (N > 1) makes ``mode=train`` start N CPU processes that share
every batch (gloo all-reduce, as under ``python -m paddle.distributed.launch``), each
with ``OMP_NUM_THREADS`` = cores // N. On a small CPU this is faster than one
process with N threads: Paddle convolves one image at a time, and a second thread
helps little with MNIST's small GEMMs. Measured on 2 cores
(``benchmarks/bench_processes.py``): MNIST 1.67 -> 2.49 iterations per second,
CIFAR-10 430 -> 297 minutes per 1,000 iterations.

The batch sizes in the config are totals, split evenly between the processes, so a
recipe trains the same whatever the process count.
"""

from __future__ import annotations

import ctypes
import os
import re
import signal
import sys
from typing import Any, Callable, Dict

import paddle
from omegaconf import DictConfig, OmegaConf

from ppsci_ext.runtime import available_cores

__all__ = ["process_count", "launched", "train_in_processes"]


def process_count(cfg: DictConfig) -> int:
    """``TRAIN.processes`` (1 where the key is absent).

    Examples:
        >>> from omegaconf import OmegaConf
        >>> from ppsci_ext.experiments.processes import process_count
        >>> process_count(OmegaConf.create({"TRAIN": {"processes": 2}})), process_count(OmegaConf.create({"TRAIN": {}}))
        (2, 1)
    """
    return int(cfg.TRAIN.get("processes", 1) or 1)


def launched() -> bool:
    """Whether this process is one of several (Paddle's launcher, or :func:`train_in_processes`)."""
    return paddle.distributed.get_world_size() > 1


def _die_with_parent() -> None:
    # A child left behind by a killed parent would go on writing into output_dir.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _child(config: Dict[str, Any], run: Callable[[DictConfig], Any], log_level: str) -> None:
    """One process: what Hydra's InitCallback and ``run_mode`` do, then ``run``."""
    from ppsci.utils import logger

    from ppsci_ext.experiments import common

    _die_with_parent()
    cfg = OmegaConf.create(config)
    OmegaConf.set_struct(cfg, True)
    logger.init_logger("ppsci", os.path.join(cfg.output_dir, "train.log"), log_level)
    paddle.device.set_device("cpu")
    common.run_mode(cfg, {"train": run})


def train_in_processes(cfg: DictConfig, run: Callable[[DictConfig], Any]) -> None:
    """Run ``run(cfg)`` (a module-level training function) in ``TRAIN.processes``
    CPU processes and wait for them; exit with the first failing process's code.

    Each process gets ``cores // N`` threads (at least 1) unless ``OMP_NUM_THREADS``
    was set before Python started. Rank 0 writes the files and the log, as under
    Paddle's launcher.
    """
    from ppsci.utils import logger

    from ppsci_ext import runtime

    n = process_count(cfg)
    threads = runtime.threads_from_environment or str(max(1, available_cores() // n))
    # The children read these when they import Paddle; this process's are in place already.
    os.environ["OMP_NUM_THREADS"] = threads
    logger.message(f"TRAIN.processes={n}: training in {n} processes of {threads} thread(s) each "
                   "(rank 0 logs and writes the files)")
    config = OmegaConf.to_container(cfg, resolve=True)  # e.g. ${now:...} resolved once, here
    log_level = cfg.get("log_level", "info")
    try:
        paddle.distributed.spawn(_child, args=(config, run, log_level), nprocs=n, backend="gloo")
    except KeyboardInterrupt:  # Ctrl-C reached every process; the last checkpoint is intact
        print(f"error: interrupted; continue with TRAIN.resume=auto output_dir={cfg.output_dir}",
              file=sys.stderr)
        sys.exit(130)
    except Exception as exc:  # raised by spawn when a process failed
        message = str(exc).strip()
        exited = re.search(r"terminated with exit code (\d+)", message)
        if exited:  # the process printed its own error (a user error exits with 2)
            sys.exit(int(exited.group(1)))
        print(f"error: a training process failed: {message}", file=sys.stderr)  # its traceback
        sys.exit(1)
