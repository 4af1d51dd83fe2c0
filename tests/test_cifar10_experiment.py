"""The CIFAR-10 experiment through its config and entry point: training both
variants (WGAN-GP and AC-WGAN-GP) on a tiny archive in the exact
cifar-10-python.tar.gz layout, resuming, eval, export, infer, config errors and
PaddleScience's CIFAR-10 generators."""

import json
from pathlib import Path

import numpy as np
import paddle
import pytest
from hydra import compose
from hydra import initialize_config_dir
from PIL import Image

from conftest import REPO
from conftest import run_entry
from ppsci_ext.arch import ResNet32Generator
from ppsci_ext.data.cifar10 import CIFAR10_CLASSES
from ppsci_ext.data.cifar10 import CIFAR10_URL
from ppsci_ext.data.cifar10 import write_cifar10
from ppsci_ext.experiments import cifar10
from ppsci_ext.experiments import common

SCRIPT = REPO / "examples" / "wgangp" / "wgangp_cifar10.py"
PER_BATCH = 4  # images per batch file: 20 training images, 4 test images


@pytest.fixture(scope="module")
def cifar_tar(tmp_path_factory):
    """A tiny archive in the cifar-10-python.tar.gz layout: random images, 5 x 4
    for training and 4 for testing."""
    rng = np.random.default_rng(0)
    def split(n):
        return rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8), rng.integers(0, 10, n)
    path = tmp_path_factory.mktemp("cifar") / "cifar-10-python.tar.gz"
    return Path(write_cifar10(path, split(5 * PER_BATCH), split(PER_BATCH)))


def short(tmp_path, data):
    """A few iterations of small networks on the tiny archive, metrics off (empty cache)."""
    return [
        f"output_dir={tmp_path}", f"DATA.data_path={data}",
        "TRAIN.epochs=2", "TRAIN.iters_per_epoch=2", "TRAIN.save_freq=1", "log_freq=1",
        "TRAIN.batch_size.critic=8", "TRAIN.batch_size.generator=8",
        "MODEL.generator.dim=8", "MODEL.critic.dim=8",
        "EVAL.num_samples=20", "EVAL.critic_num_samples=8", "EVAL.batch_size=10",
        f"EVAL.cache_dir={tmp_path}/empty_cache",
        "INFER.num_samples=12", "INFER.batch_size=12",
    ]


def cifar_cfg(*overrides):
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base=None):
        return compose("wgangp_cifar10.yaml", overrides=list(overrides))


def grid_size(rows, cols):
    return (rows * 34 + 2, cols * 34 + 2)


# --------------------------------------------------------------------- config


def test_default_config_is_the_papers_schedule():
    cfg = cifar_cfg("output_dir=/tmp/unused")
    cifar10.check_config(cfg)
    train = cfg.TRAIN
    assert (train.batch_size.critic, train.batch_size.generator, train.n_critic) == (64, 128, 5)
    assert cfg.LOSS.name == "wgan_gp" and cfg.LOSS.penalty_weight == 10
    opt = train.optimizer
    assert (opt.name, opt.learning_rate, opt.beta1, opt.beta2) == ("Adam", 2e-4, 0, 0.9)
    assert opt.lr_decay == "linear"
    assert train.epochs * train.iters_per_epoch == 100_000 and not train.ema.use_ema
    assert cfg.MODEL.generator.dim == cfg.MODEL.critic.dim == cfg.MODEL.generator.noise_dim == 128
    assert cfg.MODEL.num_classes == 0 and list(cfg.MODEL.generator.input_keys) == ["z"]
    assert cfg.EVAL.num_samples == 50000 and cfg.DATA.dequantize

    cfg = cifar_cfg("output_dir=/tmp/unused", "MODEL.num_classes=10")
    cifar10.check_config(cfg)
    assert cfg.MODEL.generator.num_classes == cfg.MODEL.critic.num_classes == 10
    assert list(cfg.MODEL.generator.input_keys) == ["z", "label"]
    assert list(cfg.MODEL.critic.output_keys) == ["score", "logits"]
    assert (cfg.LOSS.critic_class_weight, cfg.LOSS.generator_class_weight) == (1.0, 0.1)


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["MODEL.num_classes=5"], "MODEL.num_classes=5 is not valid: 0 (WGAN-GP) or 10 (AC-WGAN-GP)"),
        (["MODEL.generator.num_classes=10"], "MODEL.generator.num_classes=10 is not valid"),
        (["MODEL.critic.dim=0"], "MODEL.critic.dim=0 is not valid: an integer >= 1"),
        (["MODEL.num_classes=10", "MODEL.generator.input_keys=[z]"],
         "MODEL.generator.input_keys=['z'] is not valid: 2 key(s)"),
        (["MODEL.num_classes=10", "LOSS.generator_class_weight=-1"],
         "LOSS.generator_class_weight=-1 is not valid: a number >= 0"),
        (["EVAL.num_samples=5"],
         "EVAL.num_samples=5 is not valid: an integer >= max(2, EVAL.is_splits) = 10"),
        (["EVAL.is_splits=0"], "EVAL.is_splits=0 is not valid"),
        (["DATA.dequantize=maybe"], "DATA.dequantize='maybe' is not valid: true or false"),
        (["TRAIN.n_critic=0"], "TRAIN.n_critic=0 is not valid: an integer >= 1"),
        (["LOSS.penalty_weight=-10"], "LOSS.penalty_weight=-10 is not valid"),
        (["TRAIN.optimizer.beta2=1.0"], "TRAIN.optimizer.beta2=1.0 is not valid"),
        (["INFER.num_samples=0"], "INFER.num_samples=0 is not valid"),
    ],
)
def test_bad_config_values_are_named(tmp_path, overrides, message):
    cfg = cifar_cfg(f"output_dir={tmp_path}", *overrides)
    with pytest.raises(common.ConfigError) as info:
        cifar10.check_config(cfg)
    assert message in str(info.value)


def test_training_data_must_be_given_and_be_cifar10(tmp_path):
    cfg = cifar_cfg(f"output_dir={tmp_path}")
    with pytest.raises(common.ConfigError, match="DATA.data_path is required") as info:
        cifar10.train(cfg)
    assert CIFAR10_URL in str(info.value)
    cfg = cifar_cfg(f"output_dir={tmp_path}", f"DATA.data_path={tmp_path}/nope.tar.gz")
    with pytest.raises(FileNotFoundError, match="nope.tar.gz") as info:
        cifar10.train(cfg)
    assert CIFAR10_URL in str(info.value)
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not an archive" * 100)
    cfg = cifar_cfg(f"output_dir={tmp_path}", f"DATA.data_path={junk}")
    with pytest.raises(common.ConfigError, match="DATA.data_path=.*junk.tar.gz") as info:
        cifar10.train(cfg)
    assert CIFAR10_URL in str(info.value)
    assert not (tmp_path / "model_generator.pdparams").exists()


def test_critic_batch_larger_than_the_data_is_named(tmp_path, cifar_tar):
    cfg = cifar_cfg(*short(tmp_path, cifar_tar), "TRAIN.batch_size.critic=64")
    with pytest.raises(common.ConfigError, match="TRAIN.batch_size.critic=64 is not valid: .* only 20"):
        cifar10.train(cfg)


def test_eval_during_train_without_inception_weights_fails_before_training(tmp_path, cifar_tar):
    cfg = cifar_cfg(*short(tmp_path, cifar_tar), "TRAIN.eval_during_train=true")
    with pytest.raises(FileNotFoundError) as info:
        cifar10.train(cfg)
    assert "fid_inception_v3_pool3.pdparams" in str(info.value)
    assert "python -m ppsci_ext.metric.inception --fetch" in str(info.value)
    assert not (tmp_path / "checkpoints").exists()


# ------------------------------------------------------------------ end to end


def _params(model):
    return {k: v.numpy() for k, v in model.state_dict().items()}


def _check_no_metrics_message(metrics):
    assert metrics["IS"] is None and metrics["FID"] is None
    missing = metrics["not_computed"]
    assert "fid_inception_v3_pool3.pdparams" in missing["FID"]
    assert "python -m ppsci_ext.metric.inception --fetch" in missing["FID"]
    assert "pt_inception-2015-12-05-6726825d.pth" in missing["IS"]
    assert "python -m ppsci_ext.metric.inception --convert" in missing["IS"]


def test_unconditional_train_eval_export_infer(tmp_path, cifar_tar):
    out = tmp_path / "run"
    cfg = cifar_cfg(*short(out, cifar_tar))
    cifar10.check_config(cfg)
    solver = cifar10.train(cfg)
    assert solver.global_step == 4 and solver.critic_constraint.loss.class_weight == 0
    for name in ("model_generator.pdparams", "model_discriminator.pdparams", "history.csv",
                 "loss_curves.png", "checkpoints/latest.pdckpt"):
        assert (out / name).is_file(), name
    assert np.isfinite(solver.history["critic_loss"]).all()
    # the real batches the critic sees are scaled and dequantised per batch
    x = solver.next_real_batch()[0]["x"].numpy()
    assert x.dtype == np.float32 and x.shape == (8, 3, 32, 32)
    assert x.min() >= -1.0 and x.max() <= 1.0 and len(np.unique(x)) > 256

    gen_path, critic_path = out / "model_generator.pdparams", out / "model_discriminator.pdparams"
    cfg = cifar_cfg(*short(out, cifar_tar), "mode=eval", f"EVAL.pretrained_gen_model_path={gen_path}",
                    f"EVAL.pretrained_dis_model_path={critic_path}")
    cifar10.check_config(cfg)
    metrics = cifar10.evaluate(cfg)
    assert json.loads((out / "metrics.json").read_text()) == json.loads(json.dumps(metrics))
    _check_no_metrics_message(metrics)
    for key in ("critic_score_fake", "critic_score_real", "wasserstein_estimate"):
        assert np.isfinite(metrics[key]), key
    samples = np.load(out / "samples.npy")
    assert samples.shape == (20, 32, 32, 3) and samples.dtype == np.uint8
    # they are the generator's images for the seeded noise (drawn in eval's batches:
    # MKL's GEMM may round the first layer differently for another batch size)
    generator = cifar10.build_generator(cfg, str(gen_path), "EVAL.pretrained_gen_model_path")
    noise = np.random.default_rng(cfg.seed).standard_normal((20, 128)).astype("float32")
    np.testing.assert_array_equal(
        cifar10.quantize(common.sample(generator, noise=noise, batch_size=cfg.EVAL.batch_size)),
        samples)
    with Image.open(out / "samples.png") as grid:
        assert grid.size == grid_size(8, 8)

    cfg = cifar_cfg(*short(out, cifar_tar), "mode=export", f"INFER.pretrained_model_path={gen_path}")
    cifar10.check_config(cfg)
    cifar10.export(cfg)
    cfg = cifar_cfg(*short(out, cifar_tar), "mode=infer")
    cifar10.check_config(cfg)
    images = cifar10.infer(cfg)
    assert images.shape == (12, 32, 32, 3) and images.dtype == np.uint8
    np.testing.assert_array_equal(np.load(out / "infer_samples.npy"), images)
    noise = np.random.default_rng(cfg.seed).standard_normal((12, 128)).astype("float32")
    expected = cifar10.quantize(common.sample(generator, noise=noise))
    assert np.abs(images.astype(int) - expected.astype(int)).max() <= 1  # float rounding
    pngs = sorted((out / "infer_images").glob("*.png"))
    assert len(pngs) == 12
    np.testing.assert_array_equal(np.asarray(Image.open(pngs[3])), images[3])
    assert (out / "infer_samples.png").is_file()


def test_conditional_train_resume_eval_export_infer(tmp_path, cifar_tar):
    ac = ["MODEL.num_classes=10", "TRAIN.optimizer.lr_decay=none"]
    full = cifar_cfg(*short(tmp_path / "full", cifar_tar), *ac)
    cifar10.check_config(full)
    solver = cifar10.train(full)
    assert solver.critic_arch.num_classes == 10 and solver.generator_arch.is_conditional
    assert (solver.critic_constraint.loss.class_weight, solver.generator_loss.class_weight) == (1.0, 0.1)
    # the real labels reach the critic's classifier loss
    _, labels, _ = solver.next_real_batch()
    assert list(labels) == ["label"] and labels["label"].shape == [8]
    expected = (_params(solver.generator_arch), _params(solver.critic_arch))

    # the same run, one epoch, then continued from its checkpoint
    part = tmp_path / "part"
    cfg = cifar_cfg(*short(part, cifar_tar), *ac, "TRAIN.epochs=1")
    cifar10.check_config(cfg)
    assert cifar10.train(cfg).global_step == 2
    cfg = cifar_cfg(*short(part, cifar_tar), *ac, f"TRAIN.checkpoint_path={part}/checkpoints/latest.pdckpt")
    cifar10.check_config(cfg)
    resumed = cifar10.train(cfg)
    assert resumed.global_step == 4 and resumed.history["iteration"] == [1, 2, 3, 4]
    for want, got in zip(expected, (_params(resumed.generator_arch), _params(resumed.critic_arch))):
        for k in want:
            assert np.array_equal(want[k], got[k]), k

    gen_path = part / "model_generator.pdparams"
    cfg = cifar_cfg(*short(part, cifar_tar), *ac, "mode=eval", "EVAL.num_samples=30",
                    f"EVAL.pretrained_gen_model_path={gen_path}",
                    f"EVAL.pretrained_dis_model_path={part}/model_discriminator.pdparams")
    cifar10.check_config(cfg)
    metrics = cifar10.evaluate(cfg)
    _check_no_metrics_message(metrics)
    assert metrics["conditional"] and 0 <= metrics["critic_accuracy_real"] <= 1
    assert np.load(part / "samples.npy").shape == (30, 32, 32, 3)
    np.testing.assert_array_equal(np.load(part / "samples_labels.npy"), np.arange(30) % 10)
    with Image.open(part / "samples.png") as grid:
        assert grid.size == grid_size(10, 10)  # one row per class

    cfg = cifar_cfg(*short(part, cifar_tar), *ac, "mode=export", f"INFER.pretrained_model_path={gen_path}")
    cifar10.check_config(cfg)
    cifar10.export(cfg)
    assert (part / "inference" / "wgangp_cifar10_generator.pdiparams").is_file()


def _export_random_conditional_generator(out):
    paddle.seed(3)
    path = out / "random_generator.pdparams"
    paddle.save(ResNet32Generator(dim=8, num_classes=10).state_dict(), str(path))
    cfg = cifar_cfg(f"output_dir={out}", "mode=export", "MODEL.num_classes=10", "MODEL.generator.dim=8",
                    "INFER.num_samples=12", "INFER.batch_size=12", f"INFER.pretrained_model_path={path}")
    cifar10.check_config(cfg)
    cifar10.export(cfg)
    cfg.mode = "infer"
    return cfg


def test_conditional_infer_writes_labelled_pngs(tmp_path):
    cfg = _export_random_conditional_generator(tmp_path)
    images = cifar10.infer(cfg)
    assert images.shape == (12, 32, 32, 3) and images.dtype == np.uint8
    labels = np.load(tmp_path / "infer_labels.npy")
    assert labels.shape == (12,) and labels.min() >= 0 and labels.max() <= 9
    names = sorted(p.name for p in (tmp_path / "infer_images").glob("*.png"))
    assert names[0] == f"00000_{CIFAR10_CLASSES[labels[0]]}.png" and len(names) == 12


def test_conditional_infer_gives_the_generators_images(tmp_path):
    cfg = _export_random_conditional_generator(tmp_path)
    images = cifar10.infer(cfg)
    labels = np.load(tmp_path / "infer_labels.npy")
    generator = cifar10.build_generator(cfg, cfg.INFER.pretrained_model_path, "INFER.pretrained_model_path")
    noise = np.random.default_rng(cfg.seed).standard_normal((12, 128)).astype("float32")
    expected = cifar10.quantize(common.sample(generator, noise=noise, labels=labels, batch_size=12))
    assert np.abs(images.astype(int) - expected.astype(int)).max() <= 1


def test_eval_without_data_names_it_and_still_writes_samples(tmp_path, fixtures_dir):
    golden = fixtures_dir / "paddlescience_golden" / "cifar10_generator_unconditional.pdparams"
    cfg = cifar_cfg(f"output_dir={tmp_path}", "mode=eval", "EVAL.num_samples=10",
                    f"EVAL.cache_dir={tmp_path}/empty", f"EVAL.pretrained_gen_model_path={golden}")
    cifar10.check_config(cfg)
    metrics = cifar10.evaluate(cfg)
    assert "DATA.data_path" in metrics["not_computed"]["FID"]
    assert CIFAR10_URL in metrics["not_computed"]["FID"]
    assert np.load(tmp_path / "samples.npy").shape == (10, 32, 32, 3)
    with Image.open(tmp_path / "samples.png") as grid:
        assert grid.size == grid_size(8, 8)


@pytest.mark.parametrize("variant, num_classes", [("unconditional", 0), ("conditional", 10)])
def test_paddlescience_generators_give_their_images(fixtures_dir, tmp_path, variant, num_classes):
    golden = fixtures_dir / "paddlescience_golden"
    ref = np.load(golden / f"cifar10_generator_{variant}.npz")
    path = golden / f"cifar10_generator_{variant}.pdparams"
    cfg = cifar_cfg(f"output_dir={tmp_path}", "mode=eval", f"MODEL.num_classes={num_classes}",
                    f"EVAL.pretrained_gen_model_path={path}")
    cifar10.check_config(cfg)
    generator = cifar10.build_generator(cfg, cfg.EVAL.pretrained_gen_model_path,
                                        "EVAL.pretrained_gen_model_path")
    assert generator.variant == "paddlescience"
    labels = ref["labels"] if num_classes else None
    out = common.sample(generator, noise=ref["noise"], labels=labels)
    np.testing.assert_allclose(out, ref["output"], atol=1e-5)


def test_wrong_variant_for_paddlescience_weights_is_named(fixtures_dir, tmp_path):
    path = fixtures_dir / "paddlescience_golden" / "cifar10_generator_conditional.pdparams"
    cfg = cifar_cfg(f"output_dir={tmp_path}", "mode=eval", f"EVAL.pretrained_gen_model_path={path}")
    cifar10.check_config(cfg)
    with pytest.raises(common.ckpt.CheckpointError, match="num_classes"):
        cifar10.evaluate(cfg)
    assert not (tmp_path / "samples.npy").exists()


def test_entry_point_reports_missing_data_in_one_line(tmp_path):
    done = run_entry(SCRIPT, "mode=train", f"output_dir={tmp_path}")
    assert done.returncode == 2
    assert "error: DATA.data_path is required" in done.stderr and CIFAR10_URL in done.stderr
    assert "Traceback" not in done.stderr


# ------------------------------------------------------------------------ slow


@pytest.mark.slow
def test_entry_point_train_then_eval_from_the_repository_root(tmp_path, cifar_tar):
    out = tmp_path / "run"
    args = short(out, cifar_tar)
    done = run_entry(SCRIPT, "mode=train", *args, "MODEL.num_classes=10")
    assert done.returncode == 0, done.stderr[-3000:]
    log = (out / "train.log").read_text()
    for field in ("critic_loss", "wasserstein", "penalty", "grad_norm", "generator_loss", "it/s"):
        assert field in log
    done = run_entry(SCRIPT, "mode=eval", *args, "MODEL.num_classes=10",
                     f"EVAL.pretrained_gen_model_path={out}/model_generator.pdparams")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "python -m ppsci_ext.metric.inception --fetch" in done.stderr + done.stdout
    assert np.load(out / "samples.npy").shape == (20, 32, 32, 3)


@pytest.mark.slow
def test_fid_with_the_cached_inception_weights(tmp_path, cifar_tar, monkeypatch):
    """FID end to end (eval, and during training) with the real network; needs the
    converted weights in the default cache (``python -m ppsci_ext.metric.inception
    --fetch``). Reference statistics go to a temporary cache."""
    from ppsci_ext.metric import inception

    weights = inception.find_weights()
    if weights is None:
        pytest.skip("no FID Inception weights in the cache")
    out = tmp_path / "run"
    args = short(out, cifar_tar) + [f"EVAL.inception_weights={weights}",
                                     f"EVAL.cache_dir={tmp_path}/cache", "TRAIN.epochs=1",
                                     "TRAIN.eval_during_train=true", "TRAIN.eval_freq=1",
                                     "EVAL.num_samples_during_train=10"]
    from ppsci_ext.solver import WGANSolver

    scored = []
    evaluate_generator = WGANSolver.evaluate_generator

    def recording(self, epoch_id=None):
        scored.append(evaluate_generator(self, epoch_id))
        return scored[-1]

    monkeypatch.setattr(WGANSolver, "evaluate_generator", recording)
    cfg = cifar_cfg(*args)
    cifar10.check_config(cfg)
    cifar10.train(cfg)
    assert len(scored) == 1 and np.isfinite(scored[0]["samples"]["FID"])
    assert list((tmp_path / "cache" / "fid_stats").glob("cifar10_train-*.npz"))
    cfg = cifar_cfg(*args, "mode=eval", f"EVAL.pretrained_gen_model_path={out}/model_generator.pdparams")
    cifar10.check_config(cfg)
    metrics = cifar10.evaluate(cfg)
    assert metrics["FID"] is not None and np.isfinite(metrics["FID"]) and metrics["FID"] > 0
    assert metrics["fid_reference"].startswith("CIFAR-10 train, 20 images")
