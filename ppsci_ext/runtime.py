"""CPU settings that must be in place before Paddle is imported.

Paddle's CPU wheel does its matrix products in Intel MKL, which takes a slow code
path on AMD processors unless ``MKL_DEBUG_CPU_TYPE=5`` is in the environment when
the library loads; and Paddle runs on one thread unless ``OMP_NUM_THREADS`` says
otherwise. Measured on a 2-core AMD EPYC: a 4096^2 matmul at 49 GFLOP/s by
default, 128 GFLOP/s with the setting; the toy WGAN-GP at 12.7 critic steps/s by
default, 40.2 with both settings.

Importing ``ppsci_ext`` before ``paddle`` applies the settings (values already in
the environment are kept, so a user can override either). Set
``PPSCI_EXT_CPU_TUNING=0`` to leave the environment untouched.
"""

from __future__ import annotations

import os
import sys
import warnings

__all__ = ["configure_cpu", "available_cores", "is_amd_cpu"]

_MKL_KEY = "MKL_DEBUG_CPU_TYPE"
_THREADS_KEY = "OMP_NUM_THREADS"


def is_amd_cpu() -> bool:
    """Whether /proc/cpuinfo names an AMD processor (False where unreadable)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="ignore") as f:
            return "AuthenticAMD" in f.read(65536)
    except OSError:
        return False


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def configure_cpu() -> None:
    """Put the MKL and thread settings into the environment, or warn if too late.

    Called by ``import ppsci_ext``. Where Paddle is not imported yet it sets
    ``MKL_DEBUG_CPU_TYPE=5`` (AMD processors only) and ``OMP_NUM_THREADS`` to the
    number of available cores, unless the environment already has them. Where
    Paddle was imported first, the settings can no longer take effect; it then
    warns once, naming what to do.

    Examples:
        >>> import os
        >>> from ppsci_ext import runtime
        >>> runtime.configure_cpu()
        >>> "OMP_NUM_THREADS" in os.environ or os.environ.get("PPSCI_EXT_CPU_TUNING") == "0"
        True
    """
    if os.environ.get("PPSCI_EXT_CPU_TUNING", "1") == "0":
        return
    amd = is_amd_cpu()
    if "paddle" not in sys.modules:
        if amd:
            os.environ.setdefault(_MKL_KEY, "5")
        os.environ.setdefault(_THREADS_KEY, str(available_cores()))
        return
    missing = [
        key
        for key, needed in ((_MKL_KEY, amd), (_THREADS_KEY, True))
        if needed and key not in os.environ
    ]
    if missing:
        warnings.warn(
            "paddle was imported before ppsci_ext without "
            + " and ".join(missing)
            + " set, so Paddle may run 2.5x-4x slower on this CPU. Import ppsci_ext "
            "before paddle, or export MKL_DEBUG_CPU_TYPE=5 (AMD CPUs) and "
            f"OMP_NUM_THREADS={available_cores()} before starting Python "
            "(PPSCI_EXT_CPU_TUNING=0 silences this).",
            RuntimeWarning,
            stacklevel=3,
        )
