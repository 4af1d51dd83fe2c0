"""CPU settings: applied before Paddle loads, warned about when too late."""

import os
import re
import subprocess
import sys

from ppsci_ext import runtime


def _python(code, **env_changes):
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_NUM_THREADS", "MKL_DEBUG_CPU_TYPE", "PPSCI_EXT_CPU_TUNING")}
    env.update(env_changes)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


def test_import_before_paddle_sets_threads_and_mkl():
    done = _python("import os, ppsci_ext; from ppsci_ext import runtime; print(os.environ['OMP_NUM_THREADS'], "
                   "os.environ.get('MKL_DEBUG_CPU_TYPE'), runtime.mkl_dispatch_unlocked)")
    threads, mkl, patched = done.stdout.split()
    assert int(threads) == runtime.available_cores()
    # on AMD: the MKL dispatch patch, or MKL_DEBUG_CPU_TYPE=5 where it cannot be applied
    assert mkl == ("5" if runtime.is_amd_cpu() and patched == "False" else "None")


def test_user_values_win():
    done = _python("import os, ppsci_ext; print(os.environ['OMP_NUM_THREADS'])", OMP_NUM_THREADS="1")
    assert done.stdout.strip() == "1"


def test_paddle_imported_first_gives_a_warning_naming_the_fix():
    done = _python("import paddle, ppsci_ext")
    assert "RuntimeWarning" in done.stderr and "Import ppsci_ext before paddle" in done.stderr
    quiet = _python("import paddle, ppsci_ext", PPSCI_EXT_CPU_TUNING="0")
    assert "Import ppsci_ext before paddle" not in quiet.stderr
    # Paddle sets OMP_NUM_THREADS=1 on import when it is unset; the user's own 1 (set
    # before Python started) is no reason to warn about threads
    chosen = _python("import paddle, ppsci_ext", OMP_NUM_THREADS="1")
    unset = re.search(r"without (.*?) set, so", chosen.stderr)
    assert unset is None or "OMP_NUM_THREADS" not in unset.group(1), chosen.stderr
    assert "OMP_NUM_THREADS" in re.search(r"without (.*?) set, so", done.stderr).group(1)


def test_mkl_dispatch_patch_on_amd_gives_correct_products():
    code = ("import ppsci_ext, numpy as np, paddle; from ppsci_ext import runtime; "
            "a = np.random.default_rng(0).standard_normal((300, 200)).astype('float32'); "
            "b = np.random.default_rng(1).standard_normal((200, 100)).astype('float32'); "
            "c = (paddle.to_tensor(a) @ paddle.to_tensor(b)).numpy(); "
            "print(runtime.mkl_dispatch_unlocked, float(np.abs(c - a.astype('float64') @ b).max()))")
    patched, error = _python(code).stdout.split()
    # on AMD the patch replaces MKL_DEBUG_CPU_TYPE; elsewhere nothing is patched
    assert patched == str(runtime.is_amd_cpu())
    assert float(error) < 1e-3


def test_user_mkl_setting_turns_the_patch_off():
    done = _python("import ppsci_ext; from ppsci_ext import runtime; print(runtime.mkl_dispatch_unlocked)",
                   MKL_DEBUG_CPU_TYPE="5")
    assert done.stdout.strip() == "False"
