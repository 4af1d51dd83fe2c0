"""The toy experiment through its config and entry point, as a user runs it."""

import json

import numpy as np
import paddle
import pytest
from hydra import compose
from hydra import initialize_config_dir

from conftest import REPO
from conftest import run_entry
from ppsci_ext.arch import ToyGenerator
from ppsci_ext.experiments import common
from ppsci_ext.experiments import toy
from ppsci_ext.solver import CheckpointError

SCRIPT = REPO / "examples" / "wgangp" / "wgangp_toy.py"
SHORT = ["TRAIN.epochs=2", "TRAIN.iters_per_epoch=3", "TRAIN.save_freq=1", "log_freq=1",
         "MODEL.generator.hidden_dim=32", "MODEL.critic.hidden_dim=32",
         "DATA.num_train_samples=2000", "EVAL.num_samples=500"]


def toy_cfg(*overrides):
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base=None):
        return compose("wgangp_toy.yaml", overrides=list(overrides))


@pytest.mark.parametrize(
    "override, message",
    [
        ("DATA.mode=circles", "DATA.mode='circles' is not valid: one of 8gaussians, 25gaussians, swissroll"),
        ("LOSS.penalty_weight=-1", "LOSS.penalty_weight=-1 is not valid: a number >= 0"),
        ("TRAIN.n_critic=0", "TRAIN.n_critic=0 is not valid: an integer >= 1"),
        ("TRAIN.n_critic=-2", "TRAIN.n_critic=-2 is not valid"),
        ("TRAIN.batch_size.critic=0", "TRAIN.batch_size.critic=0 is not valid"),
        ("TRAIN.optimizer.learning_rate=0", "TRAIN.optimizer.learning_rate=0 is not valid"),
        ("TRAIN.optimizer.beta2=1.5", "TRAIN.optimizer.beta2=1.5 is not valid"),
        ("LOSS.name=hinge", "LOSS.name='hinge' is not valid: one of wgan_gp, wgan_clip"),
        ("TRAIN.pretrained_model_path=g.pdparams", "TRAIN.pretrained_model_path='g.pdparams' is not valid"),
        ("TRAIN.optimizer.critic_learning_rate=0", "TRAIN.optimizer.critic_learning_rate=0 is not valid: null"),
        ("LOSS.penalty_interval=0", "LOSS.penalty_interval=0 is not valid: an integer >= 1"),
        ("LOSS.penalty_interval=1.5", "LOSS.penalty_interval=1.5 is not valid"),
        ("TRAIN.processes=0", "TRAIN.processes=0 is not valid: an integer >= 1"),
        ("TRAIN.processes=3", "TRAIN.batch_size.critic=256 is not valid: a multiple of TRAIN.processes=3"),
    ],
)
def test_bad_config_values_are_named(tmp_path, override, message):
    cfg = toy_cfg(override, f"output_dir={tmp_path}")
    with pytest.raises(common.ConfigError) as info:
        toy.check_config(cfg)
    assert message in str(info.value)


def test_eval_requires_the_generator_path(tmp_path):
    cfg = toy_cfg("mode=eval", f"output_dir={tmp_path}")
    with pytest.raises(common.ConfigError, match="EVAL.pretrained_gen_model_path is required"):
        toy.evaluate(cfg)
    cfg = toy_cfg("mode=eval", f"output_dir={tmp_path}", f"EVAL.pretrained_gen_model_path={tmp_path}/nope.pdparams")
    with pytest.raises(FileNotFoundError, match="nope.pdparams"):
        toy.evaluate(cfg)


def test_weights_of_another_architecture_are_refused(tmp_path):
    path = tmp_path / "wide.pdparams"
    paddle.save(ToyGenerator(hidden_dim=64).state_dict(), str(path))
    cfg = toy_cfg("mode=eval", f"output_dir={tmp_path}", f"EVAL.pretrained_gen_model_path={path}")
    with pytest.raises(CheckpointError) as info:
        toy.evaluate(cfg)
    assert "net.0.weight: file [2, 64], network [2, 512]" in str(info.value)
    assert not (tmp_path / "samples.npy").exists()


def test_paddlescience_toy_generator_gives_its_points(fixtures_dir, tmp_path):
    golden = np.load(fixtures_dir / "paddlescience_golden" / "toy_generator.npz")
    gen = common.load_generator(REPO / "conf" / "wgangp_toy.yaml",
                                str(fixtures_dir / "paddlescience_golden" / "toy_generator.pdparams"))
    out = common.sample(gen, noise=golden["noise"])
    np.testing.assert_allclose(out, golden["output"], atol=1e-5)


def test_file_of_no_known_layout_is_refused(tmp_path):
    state = {f"generator.block{i}.weight": paddle.zeros([2, 2]) for i in range(4)}
    path = tmp_path / "foreign.pdparams"
    paddle.save(state, str(path))
    with pytest.raises(CheckpointError, match="missing from the file: net.0.weight"):
        common.load_generator(REPO / "conf" / "wgangp_toy.yaml", str(path))


def test_python_api_samples_from_given_or_random_noise():
    gen = ToyGenerator(hidden_dim=8)
    noise = np.random.default_rng(0).standard_normal((7, 2)).astype("float32")
    a = common.sample(gen, noise=noise)
    b = common.sample(gen, noise=noise, batch_size=3)
    np.testing.assert_allclose(a, b, atol=1e-6)
    np.testing.assert_array_equal(common.sample(gen, 5, seed=1), common.sample(gen, 5, seed=1))
    with pytest.raises(ValueError, match=r"noise must be \[N, 2\]"):
        common.sample(gen, noise=np.zeros((3, 5)))


@pytest.mark.slow  # four entry-point processes (train, eval, export, infer): about 30 s
def test_train_then_eval_from_the_repository_root(tmp_path):
    out = tmp_path / "run"
    done = run_entry(SCRIPT, "mode=train", f"output_dir={out}", *SHORT)
    assert done.returncode == 0, done.stderr[-3000:]
    for name in ("model_generator.pdparams", "model_discriminator.pdparams", "history.csv",
                 "loss_curves.png", "checkpoints/latest.pdckpt", "train.log"):
        assert (out / name).is_file(), name
    log = (out / "train.log").read_text()
    for field in ("critic_loss", "wasserstein", "penalty", "grad_norm", "generator_loss", "it/s", "eta"):
        assert field in log
    done = run_entry(SCRIPT, "mode=eval", f"output_dir={out}", *SHORT,
                     f"EVAL.pretrained_gen_model_path={out}/model_generator.pdparams",
                     f"EVAL.pretrained_dis_model_path={out}/model_discriminator.pdparams")
    assert done.returncode == 0, done.stderr[-3000:]
    samples = np.load(out / "samples.npy")
    assert samples.shape == (500, 2) and samples.dtype == np.float32
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"high_quality_share", "modes_covered", "sliced_w1"} <= set(metrics)
    assert (out / "samples.png").stat().st_size > 10000

    # export the generator, then draw the same points with Paddle Inference
    done = run_entry(SCRIPT, "mode=export", f"output_dir={out}", *SHORT,
                     f"INFER.pretrained_model_path={out}/model_generator.pdparams")
    assert done.returncode == 0, done.stderr[-3000:]
    done = run_entry(SCRIPT, "mode=infer", f"output_dir={out}", *SHORT, "INFER.num_samples=500")
    assert done.returncode == 0, done.stderr[-3000:]
    np.testing.assert_allclose(np.load(out / "infer_samples.npy"), samples, atol=1e-4)


def test_entry_point_runs_from_its_own_folder_and_reports_errors_in_one_line(tmp_path):
    done = run_entry("wgangp_toy.py", "mode=train", f"output_dir={tmp_path}", "DATA.mode=moons",
                     cwd=SCRIPT.parent)
    assert done.returncode == 2
    assert "error: DATA.mode='moons' is not valid" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("critic_lr, expected", [(None, 2e-3), (5e-3, 5e-3)])
def test_critic_learning_rate_and_penalty_interval_reach_the_solver(tmp_path, critic_lr, expected):
    overrides = ["DATA.mode=8gaussians", f"output_dir={tmp_path}", "LOSS.penalty_interval=3", *SHORT]
    if critic_lr is not None:
        overrides.append(f"TRAIN.optimizer.critic_learning_rate={critic_lr}")
    cfg = toy_cfg(*overrides)
    toy.check_config(cfg)
    generator, critic = common.build_networks(cfg)
    data = {"x": np.random.default_rng(0).standard_normal((512, 2)).astype("float32")}
    solver = common.build_solver(cfg, generator, critic, data)
    assert solver.optimizer_generator.get_lr() == pytest.approx(cfg.TRAIN.optimizer.learning_rate)
    assert solver.optimizer_critic.get_lr() == pytest.approx(expected)  # null: the generator's
    assert solver.penalty_interval == 3


def test_configured_batches_are_totals_split_between_processes(tmp_path, monkeypatch):
    cfg = toy_cfg("DATA.mode=8gaussians", f"output_dir={tmp_path}", "TRAIN.batch_size.generator=6")
    assert common.per_process_batch(cfg, "critic") == 256
    monkeypatch.setattr(paddle.distributed, "get_world_size", lambda: 2)
    assert (common.per_process_batch(cfg, "critic"), common.per_process_batch(cfg, "generator")) == (128, 3)
    monkeypatch.setattr(paddle.distributed, "get_world_size", lambda: 4)
    with pytest.raises(common.ConfigError, match="TRAIN.batch_size.generator=6 is not valid: a multiple of the 4"):
        common.per_process_batch(cfg, "generator")
