"""A training process killed with SIGKILL and resumed from its checkpoint ends with
the weights of an uninterrupted run (single-threaded CPU, bit for bit)."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import paddle
import pytest

from conftest import REPO

SCRIPT = REPO / "examples" / "wgangp" / "wgangp_toy.py"
ARGS = ["TRAIN.epochs=6", "TRAIN.iters_per_epoch=20", "TRAIN.save_freq=1", "log_freq=1000",
        "MODEL.generator.hidden_dim=64", "MODEL.critic.hidden_dim=64", "TRAIN.ema.use_ema=true",
        "TRAIN.optimizer.lr_decay=linear", "DATA.num_train_samples=5000"]
ENV = dict(os.environ, OMP_NUM_THREADS="1")


def _train(out, *extra):
    return subprocess.run([sys.executable, str(SCRIPT), f"output_dir={out}", *ARGS, *extra],
                          env=ENV, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_weights(tmp_path):
    done = _train(tmp_path / "full")
    assert done.returncode == 0, done.stderr[-3000:]

    out = tmp_path / "killed"
    ckpt = out / "checkpoints" / "latest.pdckpt"
    for attempt in range(3):  # kill it at a few different moments
        extra = [f"TRAIN.checkpoint_path={ckpt}"] if ckpt.exists() else []
        proc = subprocess.Popen([sys.executable, str(SCRIPT), f"output_dir={out}", *ARGS, *extra],
                                env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        start = ckpt.stat().st_mtime if ckpt.exists() else 0
        deadline = time.time() + 300
        while time.time() < deadline and proc.poll() is None:
            if ckpt.exists() and ckpt.stat().st_mtime > start:
                time.sleep(0.3 * attempt)
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert ckpt.exists()
    done = _train(out, f"TRAIN.checkpoint_path={ckpt}")
    assert done.returncode == 0, done.stderr[-3000:]
    for name in ("model_generator.pdparams", "model_discriminator.pdparams"):
        want = paddle.load(str(tmp_path / "full" / name))
        got = paddle.load(str(out / name))
        for key in want:
            assert np.array_equal(np.asarray(want[key]), np.asarray(got[key])), (name, key)
