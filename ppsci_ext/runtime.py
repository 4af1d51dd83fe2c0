"""CPU settings that must be in place before Paddle is imported.

Paddle's CPU wheel does its matrix products in the Intel MKL it bundles
(``paddle/libs/libmklml_intel.so``), which picks its kernels by asking
``mkl_serv_intel_cpu_true()`` whether the processor is Intel's, and on any other
vendor falls back to generic code however capable the processor is. Paddle also
runs on one thread unless ``OMP_NUM_THREADS`` says otherwise.

On AMD processors this module therefore, before Paddle loads, either

* makes that one MKL function answer "yes" (6 bytes of machine code, patched in
  this process's memory only; MKL then dispatches on the instruction sets the
  processor reports, e.g. AVX-512), or, where that cannot be done,
* sets ``MKL_DEBUG_CPU_TYPE=5`` (MKL's own switch to its AVX2 kernels).

Measured on a 2-core AMD EPYC (AVX-512), 4096^2 float32 matmul: 49 GFLOP/s
untouched, 128-261 GFLOP/s with ``MKL_DEBUG_CPU_TYPE=5``, 468-482 GFLOP/s
patched (PyTorch 2.13 on the same machine: 200).

Importing ``ppsci_ext`` before ``paddle`` applies the settings; values already in
the environment are kept (a user-set ``MKL_DEBUG_CPU_TYPE`` also disables the
patch, since both together select a slow path). ``PPSCI_EXT_CPU_TUNING=0`` leaves
the process untouched.
"""

from __future__ import annotations

import ctypes
import importlib.util
import mmap
import os
import platform
import sys
import warnings

__all__ = ["configure_cpu", "available_cores", "is_amd_cpu", "unlock_mkl_dispatch"]

# x86-64 for "mov eax, 1; ret".
_RETURN_ONE = b"\xb8\x01\x00\x00\x00\xc3"
# Whether this process's MKL was patched (read by tests and benchmarks).
mkl_dispatch_unlocked = False
# The thread count the environment gave before configure_cpu filled it in (None: unset).
threads_from_environment = None

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


def _paddle_mkl_path() -> str | None:
    """Path of the MKL that Paddle bundles, found without importing Paddle."""
    spec = importlib.util.find_spec("paddle")
    if spec is None or not spec.origin:
        return None
    path = os.path.join(os.path.dirname(spec.origin), "libs", "libmklml_intel.so")
    return path if os.path.isfile(path) else None


def unlock_mkl_dispatch() -> bool:
    """Let Paddle's bundled MKL use the processor's best kernels on non-Intel CPUs.

    Loads ``libmklml_intel.so`` (and the OpenMP runtime it needs) from Paddle's
    package before Paddle does, and overwrites the start of
    ``mkl_serv_intel_cpu_true`` with ``return 1``. Paddle later reuses the loaded
    library. Nothing is written to disk. Returns whether the patch is in place;
    returns False, changing nothing, on anything but x86-64 Linux, when Paddle or
    its MKL is absent, when Paddle is already imported, or when the memory cannot
    be made writable.
    """
    global mkl_dispatch_unlocked
    if mkl_dispatch_unlocked:
        return True
    if sys.platform != "linux" or platform.machine() not in ("x86_64", "AMD64"):
        return False
    if "paddle" in sys.modules:
        return False
    path = _paddle_mkl_path()
    if path is None:
        return False
    try:
        ctypes.CDLL(os.path.join(os.path.dirname(path), "libiomp5.so"), mode=ctypes.RTLD_GLOBAL)
        mkl = ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
        check = mkl.mkl_serv_intel_cpu_true
    except (OSError, AttributeError):
        return False
    check.restype = ctypes.c_int
    if check() == 1:  # an Intel processor: nothing to do
        return False
    address = ctypes.cast(check, ctypes.c_void_p).value
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    page = address & ~(mmap.PAGESIZE - 1)
    span = address + len(_RETURN_ONE) - page
    read_exec, read_write_exec = 5, 7
    if libc.mprotect(page, span, read_write_exec) != 0:
        return False
    ctypes.memmove(address, _RETURN_ONE, len(_RETURN_ONE))
    libc.mprotect(page, span, read_exec)
    mkl_dispatch_unlocked = check() == 1
    return mkl_dispatch_unlocked


def _chosen_by_user(key: str) -> bool:
    """Whether the environment holds the user's value of ``key``. Paddle sets
    ``OMP_NUM_THREADS`` to 1 on import when it is unset, so after ``import paddle``
    a 1 there counts as the user's only when the process started with it
    (``/proc/self/environ``, Linux; trusted where that cannot be read) or where one
    core is all there is."""
    if key not in os.environ:
        return False
    if key != _THREADS_KEY or os.environ[key] != "1" or available_cores() == 1:
        return True
    try:
        with open("/proc/self/environ", "rb") as f:
            started_with = f.read().split(b"\0")
    except OSError:
        return True
    return any(entry.startswith(key.encode() + b"=") for entry in started_with)


def configure_cpu() -> None:
    """Put the MKL and thread settings into the environment, or warn if too late.

    Called by ``import ppsci_ext``. Where Paddle is not imported yet it sets
    ``OMP_NUM_THREADS`` to the number of available cores and, on AMD processors,
    applies :func:`unlock_mkl_dispatch` or, where that fails, sets
    ``MKL_DEBUG_CPU_TYPE=5``; values the environment already has are kept. Where
    Paddle was imported first, the settings can no longer take effect; it then
    warns once, naming what to do.

    Examples:
        >>> import os
        >>> from ppsci_ext import runtime
        >>> runtime.configure_cpu()
        >>> "OMP_NUM_THREADS" in os.environ or os.environ.get("PPSCI_EXT_CPU_TUNING") == "0"
        True
    """
    global threads_from_environment
    if os.environ.get("PPSCI_EXT_CPU_TUNING", "1") == "0":
        return
    amd = is_amd_cpu()
    if "paddle" not in sys.modules:
        if threads_from_environment is None:
            threads_from_environment = os.environ.get(_THREADS_KEY)
        if amd and _MKL_KEY not in os.environ and not unlock_mkl_dispatch():
            os.environ[_MKL_KEY] = "5"
        os.environ.setdefault(_THREADS_KEY, str(available_cores()))
        return
    missing = [
        key
        for key, needed in ((_MKL_KEY, amd and not mkl_dispatch_unlocked), (_THREADS_KEY, True))
        if needed and not _chosen_by_user(key)
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
