"""CPU settings: applied before Paddle loads, warned about when too late."""

import os
import subprocess
import sys

from ppsci_ext import runtime


def _python(code, **env_changes):
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_NUM_THREADS", "MKL_DEBUG_CPU_TYPE", "PPSCI_EXT_CPU_TUNING")}
    env.update(env_changes)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


def test_import_before_paddle_sets_threads_and_mkl():
    done = _python("import os, ppsci_ext; print(os.environ['OMP_NUM_THREADS'], os.environ.get('MKL_DEBUG_CPU_TYPE'))")
    threads, mkl = done.stdout.split()
    assert int(threads) == runtime.available_cores()
    assert mkl == ("5" if runtime.is_amd_cpu() else "None")


def test_user_values_win():
    done = _python("import os, ppsci_ext; print(os.environ['OMP_NUM_THREADS'])", OMP_NUM_THREADS="1")
    assert done.stdout.strip() == "1"


def test_paddle_imported_first_gives_a_warning_naming_the_fix():
    done = _python("import paddle, ppsci_ext")
    assert "RuntimeWarning" in done.stderr and "Import ppsci_ext before paddle" in done.stderr
    quiet = _python("import paddle, ppsci_ext", PPSCI_EXT_CPU_TUNING="0")
    assert "Import ppsci_ext before paddle" not in quiet.stderr
