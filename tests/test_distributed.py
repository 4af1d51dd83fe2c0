"""Data-parallel training in 2 CPU processes: Paddle's launcher, and ``TRAIN.processes``."""

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


@pytest.mark.slow
def test_train_processes_starts_two_processes_that_split_the_batch(tmp_path):
    out = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, str(REPO / "examples" / "wgangp" / "wgangp_toy.py"), "TRAIN.processes=2",
         "TRAIN.epochs=2", "TRAIN.iters_per_epoch=5", "log_freq=5", f"output_dir={out}",
         "TRAIN.batch_size.critic=64", "TRAIN.batch_size.generator=64",
         "MODEL.generator.hidden_dim=32", "MODEL.critic.hidden_dim=32", "DATA.num_train_samples=4096"],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert "training in 2 processes of 1 thread(s) each" in done.stdout
    assert "[Iter 10/10]" in done.stdout.replace("Iter  ", "Iter ")  # rank 0 logs to the console
    log = (out / "train.log").read_text()
    assert "world_size'(2)" in log  # the solver ran with two processes
    state = paddle.load(str(out / "model_generator.pdparams"))
    assert all(np.isfinite(np.asarray(v)).all() for v in state.values())
    assert len(list((out / "checkpoints").iterdir())) == 1


@pytest.mark.slow
def test_a_user_error_in_the_processes_ends_the_command_with_its_message(tmp_path):
    done = subprocess.run(
        [sys.executable, str(REPO / "examples" / "wgangp" / "wgangp_mnist.py"), "TRAIN.processes=2",
         f"output_dir={tmp_path}", "DATA.data_path=missing.pkl.gz"],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 2
    assert "error: DATA.data_path='missing.pkl.gz' is not valid" in done.stderr
    assert "Traceback" not in done.stderr
