"""Shared test set-up.

Single-threaded Paddle makes CPU results bit-for-bit repeatable (the exact-resume
tests rely on it) and the networks here are small; ``ppsci_ext`` is imported before
anything imports paddle so its CPU settings apply.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import ppsci_ext  # noqa: E402,F401

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(os.environ.get("PPSCI_EXT_FIXTURES", REPO.parent / "shared" / "fixtures"))


@pytest.fixture
def fixtures_dir():
    if not FIXTURES.is_dir():
        pytest.skip(f"shared fixtures not found at {FIXTURES} (set PPSCI_EXT_FIXTURES)")
    return FIXTURES


def run_entry(script, *overrides, cwd=None, env_extra=None, timeout=600):
    """Run an example entry point in a fresh interpreter; return the CompletedProcess."""
    import subprocess

    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, str(script), *overrides],
        cwd=cwd or REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
