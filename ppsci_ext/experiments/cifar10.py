r"""The CIFAR-10 experiment: the paper's ResNet WGAN-GP and, with
``MODEL.num_classes=10``, its supervised AC-WGAN-GP.

``mode=train`` trains on the 50,000 training images of ``DATA.data_path``
(``cifar-10-python.tar.gz`` or its extracted folder). The images stay uint8 in memory
(154 MB); each real batch is scaled and dequantised as it is drawn,

$$
x' = \frac{x + 128\,u}{128} - 1, \quad u \sim U\left(0, \tfrac{1}{128}\right),
$$

by the solver's ``real_transform``. With ``TRAIN.eval_during_train`` the generator is
scored every ``TRAIN.eval_freq`` epochs on ``EVAL.num_samples_during_train`` images
(IS and FID, logged and appended to ``eval_history.jsonl``; see
:mod:`ppsci_ext.experiments.inception_eval`).

``mode=eval`` loads ``EVAL.pretrained_gen_model_path`` (and, optionally,
``EVAL.pretrained_dis_model_path``) and writes ``samples.npy`` (uint8
``[N, 32, 32, 3]``, N = ``EVAL.num_samples``), ``samples.png`` (an 8 x 8 grid; 10 x 10
with one row per class for a conditional generator) and ``metrics.json`` with the
Inception Score and the FID against CIFAR-10 train statistics (computed once from
``DATA.data_path`` and cached). A metric whose weights or data are absent is
reported in ``metrics.json`` under ``not_computed`` with the missing file and the
command that gets it; the samples and the grid are written regardless.

``mode=export`` saves the generator as a Paddle inference model (a conditional one
takes ``label`` as its second input) and ``mode=infer`` draws ``INFER.num_samples``
images from it with Paddle Inference, written as PNG files and ``infer_samples.npy``.
"""

from __future__ import annotations

import json
import os
from typing import Dict
from typing import List
from typing import Optional
from typing import Tuple

import numpy as np
import paddle
from omegaconf import DictConfig
from ppsci.utils import logger

from ppsci_ext.data.cifar10 import CIFAR10_CLASSES
from ppsci_ext.data.cifar10 import CIFAR10_URL
from ppsci_ext.data.cifar10 import Cifar10Error
from ppsci_ext.data.cifar10 import dequantize_batch
from ppsci_ext.data.cifar10 import load_cifar10
from ppsci_ext.data.cifar10 import to_model_range
from ppsci_ext.arch.resnet32 import IMAGE_SIZES
from ppsci_ext.experiments import common
from ppsci_ext.experiments import inception_eval

__all__ = [
    "NUM_CLASSES",
    "check_config",
    "load_train_data",
    "real_transform",
    "quantize",
    "image_grid",
    "save_image_grid",
    "generate_images",
    "build_generator",
    "train",
    "evaluate",
    "export",
    "infer",
    "run",
]

#: Classes of CIFAR-10; ``MODEL.num_classes`` is 0 (unconditional) or this.
NUM_CLASSES = len(CIFAR10_CLASSES)
_IMAGE_SHAPE = (3, 32, 32)


# ---------------------------------------------------------------------- config


def _resolve_keys(cfg: DictConfig) -> None:
    """Fill ``MODEL.generator.input_keys`` and ``MODEL.critic.output_keys`` when null,
    from ``MODEL.num_classes`` (one config key switches to AC-WGAN-GP)."""
    conditional = cfg.MODEL.num_classes > 0 if common.is_int(cfg.MODEL.num_classes) else False
    if cfg.MODEL.generator.get("input_keys") is None:
        cfg.MODEL.generator.input_keys = ["z", "label"] if conditional else ["z"]
    if cfg.MODEL.critic.get("output_keys") is None:
        cfg.MODEL.critic.output_keys = ["score", "logits"] if conditional else ["score"]


#: The keys this experiment reads besides the shared ones (unknown keys are refused).
CONFIG_KEYS = common.config_keys({
    "DATA": {"data_path": None, "dequantize": None},
    "MODEL": {"num_classes": None},
    "LOSS": {"critic_class_weight": None, "generator_class_weight": None},
    "EVAL": {k: None for k in ("pretrained_gen_model_path", "pretrained_dis_model_path", "num_samples",
                               "num_samples_during_train", "critic_num_samples", "is_splits",
                               "batch_size", "inception_weights", "cache_dir", "fid_reference")},
    "INFER": {"num_samples": None},
})


def check_config(cfg: DictConfig) -> None:
    """Check the CIFAR-10 keys (and the shared adversarial ones) before any work.

    Args:
        cfg (DictConfig): The composed ``wgangp_cifar10.yaml``.

    Raises:
        common.ConfigError: naming the first bad key, its value and what is valid.

    Examples:
        >>> from omegaconf import OmegaConf
        >>> from ppsci_ext.experiments import cifar10
        >>> cfg = OmegaConf.load("conf/wgangp_cifar10.yaml")  # doctest: +SKIP
        >>> cfg.MODEL.num_classes = 3  # doctest: +SKIP
        >>> cifar10.check_config(cfg)  # doctest: +SKIP
        Traceback (most recent call last):
        ConfigError: MODEL.num_classes=3 is not valid: 0 (WGAN-GP) or 10 (AC-WGAN-GP)
    """
    common.check_config(cfg, CONFIG_KEYS)
    req = common.require
    model = cfg.MODEL
    req(model.num_classes in (0, NUM_CLASSES) and common.is_int(model.num_classes),
        "MODEL.num_classes", model.num_classes, f"0 (WGAN-GP) or {NUM_CLASSES} (AC-WGAN-GP)")
    for net in ("generator", "critic"):
        dim = model[net].get("dim", 128)
        req(common.is_int(dim) and dim >= 1, f"MODEL.{net}.dim", dim, "an integer >= 1")
        req(model[net].get("num_classes", 0) == model.num_classes, f"MODEL.{net}.num_classes",
            model[net].get("num_classes"), "the same as MODEL.num_classes (set that key instead)")
    sizes = [model[net].get("image_size", 32) for net in ("generator", "critic")]
    req(sizes[0] in IMAGE_SIZES, "MODEL.generator.image_size", sizes[0],
        f"one of {', '.join(map(str, IMAGE_SIZES))} (the sizes the ResNets are built for)")
    req(sizes[0] == sizes[1], "MODEL.critic.image_size", sizes[1],
        f"the same as MODEL.generator.image_size ({sizes[0]})")
    req(sizes[0] == 32 or cfg.mode != "train", "MODEL.generator.image_size", sizes[0],
        "32 for training: CIFAR-10 images are 32 x 32")
    for net in ("generator", "critic"):
        channels = model[net].get("channels", 3)
        req(channels == 3, f"MODEL.{net}.channels", channels, "3: CIFAR-10 images are RGB")
    noise_dim = model.generator.get("noise_dim", 128)
    req(common.is_int(noise_dim) and noise_dim >= 1, "MODEL.generator.noise_dim", noise_dim,
        "an integer >= 1")
    _resolve_keys(cfg)
    n_in = 2 if model.num_classes else 1
    req(len(model.generator.input_keys) == n_in, "MODEL.generator.input_keys",
        list(model.generator.input_keys),
        f"{n_in} key(s) for MODEL.num_classes={model.num_classes} (or null)")
    req(len(model.critic.output_keys) == n_in, "MODEL.critic.output_keys",
        list(model.critic.output_keys),
        f"{n_in} key(s) for MODEL.num_classes={model.num_classes} (or null)")
    if model.num_classes:
        for key in ("critic_class_weight", "generator_class_weight"):
            value = cfg.LOSS.get(key)
            req(common.is_number(value) and value >= 0, f"LOSS.{key}", value, "a number >= 0")
    req(isinstance(cfg.DATA.dequantize, bool), "DATA.dequantize", cfg.DATA.dequantize,
        "true or false")
    ev = cfg.EVAL
    req(common.is_int(ev.is_splits) and ev.is_splits >= 1, "EVAL.is_splits", ev.is_splits,
        "an integer >= 1")
    for key in ("num_samples", "num_samples_during_train"):
        req(common.is_int(ev[key]) and ev[key] >= max(2, ev.is_splits), f"EVAL.{key}", ev[key],
            f"an integer >= max(2, EVAL.is_splits) = {max(2, ev.is_splits)}")
    for key in ("critic_num_samples", "batch_size"):
        req(common.is_int(ev[key]) and ev[key] >= 1, f"EVAL.{key}", ev[key], "an integer >= 1")
    for key in ("batch_size", "num_samples"):
        value = cfg.INFER[key]
        req(common.is_int(value) and value >= 1, f"INFER.{key}", value, "an integer >= 1")


# ------------------------------------------------------------------------ data


def load_train_data(cfg: DictConfig, split: str = "train") -> Tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 images (uint8 ``[N, 3, 32, 32]``) and labels of ``DATA.data_path``.

    Args:
        cfg (DictConfig): The config; ``DATA.data_path`` is the archive or folder.
        split (str, optional): "train" or "test". Defaults to "train".

    Returns:
        Tuple[np.ndarray, np.ndarray]: Images and int64 labels.

    Raises:
        common.ConfigError: ``DATA.data_path`` is not set, or is damaged or not
            CIFAR-10 (the message gives the official download address).
        FileNotFoundError: nothing at ``DATA.data_path`` (with the address too).
    """
    path = cfg.DATA.data_path
    if not path:
        raise common.ConfigError(
            "DATA.data_path is required for mode=train: the path of cifar-10-python.tar.gz "
            f"(download it from {CIFAR10_URL}, 163 MB) or of the cifar-10-batches-py "
            "folder extracted from it"
        )
    try:
        return load_cifar10(path, split)
    except Cifar10Error as exc:
        raise common.ConfigError(f"DATA.data_path={path!r}: {exc}") from exc
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"DATA.data_path: {exc}") from exc


def real_transform(cfg: DictConfig):
    """The per-batch transform of the real images: uint8 to the generator's range
    $[-1, 1)$, with the U(0, 1/128) dequantisation noise when ``DATA.dequantize``
    (:func:`ppsci_ext.data.cifar10.dequantize_batch`, Paddle's random generator)."""
    key = cfg.MODEL.critic.input_keys[0]
    dequantize = bool(cfg.DATA.dequantize)

    def transform(inputs: Dict[str, paddle.Tensor]) -> Dict[str, paddle.Tensor]:
        out = dict(inputs)
        out[key] = dequantize_batch(inputs[key], dequantize)
        return out

    return transform


# ---------------------------------------------------------------------- images


def quantize(images: np.ndarray) -> np.ndarray:
    r"""Generator output (float NCHW in $[-1, 1]$) to uint8 NHWC pixels,
    $q = \operatorname{clip}(\lfloor (x + 1) \cdot 255.99 / 2 \rfloor, 0, 255)$, the
    quantisation the Inception Score and FID code applies.

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.experiments.cifar10 import quantize
        >>> q = quantize(np.array([-1.0, 0.0, 1.0], "float32").reshape(1, 1, 1, 3))
        >>> q.shape, q.dtype, q.reshape(-1).tolist()
        ((1, 1, 3, 1), dtype('uint8'), [0, 127, 255])
    """
    x = np.floor((np.asarray(images, np.float64) + 1.0) * (255.99 / 2.0))
    return np.clip(x, 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)


def image_grid(images: np.ndarray, rows: int, cols: int, pad: int = 2) -> np.ndarray:
    """Tile uint8 NHWC images row by row into one uint8 HWC image with ``pad`` white
    pixels between and around them; missing cells stay white.

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.experiments.cifar10 import image_grid
        >>> image_grid(np.zeros((3, 32, 32, 3), np.uint8), 2, 2).shape
        (70, 70, 3)
    """
    n, h, w, c = images.shape
    grid = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), 255, np.uint8)
    for i in range(min(n, rows * cols)):
        r, q = divmod(i, cols)
        top, left = pad + r * (h + pad), pad + q * (w + pad)
        grid[top : top + h, left : left + w] = images[i]
    return grid


def _save_png(image: np.ndarray, path: str) -> None:
    from PIL import Image

    Image.fromarray(image).save(path)


def save_image_grid(images: np.ndarray, rows: int, cols: int, path: str) -> None:
    """Write :func:`image_grid` of uint8 NHWC images as a PNG file."""
    _save_png(image_grid(images, rows, cols), path)


def generate_images(
    generator,
    num_samples: int,
    seed: int,
    batch_size: int,
    labels: Optional[np.ndarray] = None,
    out: Optional[np.ndarray] = None,
    what: str = "samples",
) -> np.ndarray:
    """Draw ``num_samples`` images as uint8 ``[N, 32, 32, 3]``, in chunks, so that
    only one chunk of floats is held at a time.

    Args:
        generator (GeneratorArch): The generator (put in eval mode while sampling).
        num_samples (int): Number of images.
        seed (int): Seed of the noise (one numpy generator for the whole draw).
        batch_size (int): Generator batch (a conditional generator's batch norm
            uses the moments of its batch).
        labels (Optional[np.ndarray]): Classes for a conditional generator.
            Defaults to ``arange(N) % num_classes`` (every class equally often).
        out (Optional[np.ndarray]): Where to write (e.g. a ``numpy.memmap``).
        what (str): Name shown in the progress lines. Defaults to "samples".

    Returns:
        np.ndarray: ``out``, or a new uint8 array.
    """
    if out is None:
        out = np.empty((num_samples, 32, 32, 3), np.uint8)
    if generator.is_conditional and labels is None:
        labels = np.arange(num_samples) % generator.num_classes
    rng = np.random.default_rng(seed)
    chunk = batch_size * max(1, 2000 // batch_size)
    for start in range(0, num_samples, chunk):
        stop = min(start + chunk, num_samples)
        noise = rng.standard_normal((stop - start, generator.noise_dim)).astype("float32")
        part = labels[start:stop] if generator.is_conditional else None
        out[start:stop] = quantize(common.sample(generator, noise=noise, labels=part,
                                                 batch_size=batch_size))
        if num_samples > chunk:
            logger.message(f"Generated {stop}/{num_samples} {what}")
    return out


# --------------------------------------------------------------------- metrics


def _inception_network(cfg: DictConfig):
    """:func:`inception_eval.find_network`, its FID message also naming the CIFAR-10
    archive when neither it nor ``EVAL.fid_reference`` is given."""
    net, missing = inception_eval.find_network(cfg)
    no_data = not cfg.DATA.data_path and not cfg.EVAL.get("fid_reference")
    if net is None and no_data and not cfg.EVAL.get("inception_weights"):
        missing["FID"] += (" It also needs CIFAR-10 train statistics: set DATA.data_path "
                           f"to cifar-10-python.tar.gz (download it from {CIFAR10_URL}).")
    return net, missing


def _fid_reference(cfg: DictConfig, net, images: Optional[np.ndarray] = None):
    """The FID reference (:func:`inception_eval.reference_statistics`):
    ``EVAL.fid_reference``, or the statistics of the CIFAR-10 training images
    (``images``, else read from ``DATA.data_path``), computed once and cached."""

    def train_pixels():
        if images is not None:
            return images.transpose(0, 2, 3, 1)
        if not cfg.DATA.data_path:
            raise FileNotFoundError(
                f"set DATA.data_path to cifar-10-python.tar.gz (download it from {CIFAR10_URL}) "
                "or EVAL.fid_reference to a .npz with mu and sigma")
        return load_cifar10(cfg.DATA.data_path, "train")[0].transpose(0, 2, 3, 1)

    stats, source, why = inception_eval.reference_statistics(
        cfg, net, "cifar10_train", train_pixels, "CIFAR-10 train")
    if stats is not None and not cfg.EVAL.get("fid_reference"):
        source += f" of {cfg.DATA.data_path or 'the training data'}"
    return stats, source, why


def _training_validator(cfg: DictConfig, images: np.ndarray, history: inception_eval.EvalHistory):
    """A function of the generator returning the validator of
    ``TRAIN.eval_during_train``: IS (with fc weights) and FID against the training
    images on ``EVAL.num_samples_during_train`` samples, recorded in ``history``.
    Fails before training when the Inception weights are absent."""
    net, missing = _inception_network(cfg)
    if net is None:
        raise FileNotFoundError(f"TRAIN.eval_during_train: {missing['FID']}")
    if "IS" in missing:
        logger.warning(f"TRAIN.eval_during_train scores the FID only. {missing['IS']}")
    reference, _, why = _fid_reference(cfg, net, images)
    if reference is None:
        raise FileNotFoundError(f"TRAIN.eval_during_train: {why}")
    batch = cfg.EVAL.batch_size
    metric = inception_eval.samples_metric(net, reference, cfg.MODEL.generator.output_keys[0],
                                           cfg.EVAL.is_splits, batch, history=history)

    def validator(generator):
        return {"generator": common.sample_validator(
            generator, cfg.EVAL.num_samples_during_train, metric, cfg.seed + 7, batch_size=batch)}

    return validator


# ----------------------------------------------------------------------- modes


def train(cfg: DictConfig):
    """Train the generator and critic on CIFAR-10 as ``cfg`` says (see the module
    docstring); returns the :class:`~ppsci_ext.solver.WGANSolver`."""
    _resolve_keys(cfg)
    images, labels = load_train_data(cfg)
    if len(images) < cfg.TRAIN.batch_size.critic:
        raise common.ConfigError(
            f"TRAIN.batch_size.critic={cfg.TRAIN.batch_size.critic} is not valid: "
            f"DATA.data_path holds only {len(images)} training images"
        )
    logger.message(f"CIFAR-10: {len(images)} training images from {cfg.DATA.data_path} (uint8)")
    history = inception_eval.EvalHistory(cfg.output_dir)
    validator = _training_validator(cfg, images, history) if cfg.TRAIN.eval_during_train else None
    solver = common.train(
        cfg,
        {cfg.MODEL.critic.input_keys[0]: images},
        {"label": labels} if cfg.MODEL.num_classes else None,
        validator=validator,
        real_transform=real_transform(cfg),
        callbacks=(history,) if validator else (),
    )
    if solver.rank == 0:
        logger.message(f"Training finished; weights are in {cfg.output_dir}")
    return solver


def build_generator(cfg: DictConfig, path: Optional[str], key: str):
    """The configured generator with the weights at ``path`` (this package's or a
    PaddleScience layout, see :func:`common.load_weights`), in eval mode.

    Examples:
        >>> from ppsci_ext.experiments import cifar10
        >>> gen = cifar10.build_generator(cfg, "model_generator.pdparams",  # doctest: +SKIP
        ...                               "EVAL.pretrained_gen_model_path")
    """
    _resolve_keys(cfg)
    return common.load_network(cfg, "generator", path, key)


def _critic_report(cfg: DictConfig, critic, samples: np.ndarray,
                   labels: Optional[np.ndarray]) -> Dict[str, object]:
    """Mean critic score of generated and (with data) real test images, their
    difference (the Wasserstein estimate) and, for an AC critic, its accuracy."""
    n = min(cfg.EVAL.critic_num_samples, len(samples))
    rng = np.random.default_rng(cfg.seed + 3)

    def scores_of(pixels_nhwc, classes):
        x = to_model_range(pixels_nhwc.transpose(0, 3, 1, 2), rng=rng,
                           dequantize=bool(cfg.DATA.dequantize))
        score, correct = [], 0
        with paddle.no_grad():
            for s in range(0, len(x), cfg.EVAL.batch_size):
                out = critic({critic.input_keys[0]: paddle.to_tensor(x[s : s + cfg.EVAL.batch_size])})
                score.append(out[critic.output_keys[0]].numpy().reshape(-1))
                if critic.num_classes and classes is not None:
                    pred = out[critic.output_keys[1]].numpy().argmax(axis=1)
                    correct += int((pred == classes[s : s + cfg.EVAL.batch_size]).sum())
        return float(np.concatenate(score).mean()), correct / len(x)

    report: Dict[str, object] = {"critic_num_samples": n}
    report["critic_score_fake"], acc = scores_of(samples[:n], None if labels is None else labels[:n])
    if critic.num_classes and labels is not None:
        report["critic_accuracy_fake"] = acc
    try:
        real, real_labels = load_cifar10(cfg.DATA.data_path, "test") if cfg.DATA.data_path else (None, None)
    except (FileNotFoundError, Cifar10Error) as exc:
        real, report["critic_real_not_scored"] = None, str(exc)
    if real is None:
        report.setdefault("critic_real_not_scored",
                          f"set DATA.data_path (CIFAR-10, {CIFAR10_URL}) to score real test images")
        return report
    real, real_labels = real[:n], real_labels[:n]
    report["critic_score_real"], acc = scores_of(real.transpose(0, 2, 3, 1), real_labels)
    report["wasserstein_estimate"] = report["critic_score_real"] - report["critic_score_fake"]
    if critic.num_classes:
        report["critic_accuracy_real"] = acc
    return report


def evaluate(cfg: DictConfig) -> dict:
    """Write ``samples.npy``, ``samples.png`` and ``metrics.json`` for the generator
    of ``EVAL.pretrained_gen_model_path`` (see the module docstring); returns the
    metrics."""
    _resolve_keys(cfg)
    out_dir = common.prepare_output_dir(cfg)
    ev = cfg.EVAL
    generator = build_generator(cfg, ev.pretrained_gen_model_path, "EVAL.pretrained_gen_model_path")
    critic = None
    if ev.pretrained_dis_model_path:
        critic = common.load_network(cfg, "critic", ev.pretrained_dis_model_path,
                                     "EVAL.pretrained_dis_model_path")
    # What the metrics need is looked up first (cheap), so a missing file is
    # reported at once; the long work (samples, then the network) follows.
    net, not_computed = _inception_network(cfg)
    for why in not_computed.values():
        logger.warning(why)

    n = ev.num_samples
    labels = np.arange(n) % generator.num_classes if generator.is_conditional else None
    samples_path = os.path.join(out_dir, "samples.npy")
    samples = np.lib.format.open_memmap(samples_path, mode="w+", dtype=np.uint8, shape=(n, 32, 32, 3))
    generate_images(generator, n, cfg.seed, ev.batch_size, labels, out=samples)
    samples.flush()
    if labels is not None:
        np.save(os.path.join(out_dir, "samples_labels.npy"), labels.astype("int64"))
    grid_path = os.path.join(out_dir, "samples.png")
    if generator.is_conditional:
        k = generator.num_classes
        rows = generate_images(generator, k * 10, cfg.seed + 1, ev.batch_size,
                               np.repeat(np.arange(k), 10))
        save_image_grid(rows, k, 10, grid_path)
    else:
        save_image_grid(samples[:64], 8, 8, grid_path)
    logger.message(f"Wrote {n} samples to {samples_path} and the grid to {grid_path}")

    metrics: Dict[str, object] = {
        "num_samples": int(n),
        "conditional": bool(generator.is_conditional),
        "generator": str(ev.pretrained_gen_model_path),
    }
    reference = _fid_reference(cfg, net) if "FID" not in not_computed else (None, None, None)
    metrics.update(inception_eval.score_samples(cfg, samples, net, not_computed, reference))
    if critic is not None:
        metrics.update(_critic_report(cfg, critic, samples, labels))
    metrics["not_computed"] = not_computed
    with open(os.path.join(out_dir, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
    shown = {k: v for k, v in metrics.items() if k != "not_computed"}
    logger.message(f"Eval metrics ({out_dir}/metrics.json): {shown}")
    return metrics


def export(cfg: DictConfig) -> str:
    """Save the generator of ``INFER.pretrained_model_path`` as a Paddle inference
    model at ``INFER.export_path`` (inputs ``z`` and, when conditional, ``label``)."""
    generator = build_generator(cfg, cfg.INFER.pretrained_model_path, "INFER.pretrained_model_path")
    # A Solver built earlier in this process (mode=train from Python) switches
    # dynamic-to-static conversion off globally; paddle.jit.save needs it on.
    paddle.jit.enable_to_static(True)
    return common.export_generator(cfg, generator)


def infer(cfg: DictConfig) -> np.ndarray:
    """Draw ``INFER.num_samples`` images from the exported generator with Paddle
    Inference; write ``infer_samples.npy`` (uint8 ``[N, 32, 32, 3]``), one PNG per
    image under ``infer_images/`` (with the class in the name when conditional) and
    the grid ``infer_samples.png``. Returns the images.
    """
    _resolve_keys(cfg)
    out_dir = common.prepare_output_dir(cfg)
    k, noise_dim = cfg.MODEL.num_classes, cfg.MODEL.generator.get("noise_dim", 128)
    samples, labels = common.infer_samples(cfg, noise_dim, k)
    images = quantize(samples)
    np.save(os.path.join(out_dir, "infer_samples.npy"), images)
    names: List[str] = [f"{i:05d}" for i in range(len(images))]
    if k:
        np.save(os.path.join(out_dir, "infer_labels.npy"), labels)
        names = [f"{name}_{CIFAR10_CLASSES[c]}" for name, c in zip(names, labels)]
    folder = os.path.join(out_dir, "infer_images")
    os.makedirs(folder, exist_ok=True)
    for name, image in zip(names, images):
        _save_png(image, os.path.join(folder, f"{name}.png"))
    save_image_grid(images[:64], 8, 8, os.path.join(out_dir, "infer_samples.png"))
    logger.message(f"Wrote {len(images)} images to {folder}/ and {out_dir}/infer_samples.npy")
    return images


def run(cfg: DictConfig):
    """Check the config, then train, evaluate, export or infer as ``cfg.mode`` says."""
    return common.run_mode(
        cfg,
        {"train": train, "eval": evaluate, "export": export, "infer": infer},
        check=check_config,
    )
