"""Data-parallel training with Paddle's launcher (2 CPU processes)."""

import subprocess
import sys

import numpy as np
import paddle
import pytest

from conftest import REPO


@pytest.mark.slow
def test_two_process_run_trains_in_step_and_writes_once(tmp_path):
    out = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2",
         "--log_dir", str(tmp_path / "log"), str(REPO / "examples" / "wgangp" / "wgangp_toy.py"),
         "TRAIN.epochs=2", "TRAIN.iters_per_epoch=5", "log_freq=5", f"output_dir={out}",
         "MODEL.generator.hidden_dim=32", "MODEL.critic.hidden_dim=32", "DATA.num_train_samples=4096"],
        capture_output=True, text=True, timeout=600,
    )
    logs = "".join(p.read_text() for p in (tmp_path / "log").glob("workerlog.*"))
    assert done.returncode == 0, logs[-4000:]
    state = paddle.load(str(out / "model_generator.pdparams"))
    assert set(state) == {f"net.{i}.{p}" for i in (0, 2, 4, 6) for p in ("weight", "bias")}
    assert all(np.isfinite(np.asarray(v)).all() for v in state.values())
    assert len(list((out / "checkpoints").iterdir())) == 1
