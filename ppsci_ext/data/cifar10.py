r"""CIFAR-10 (python version) read straight from ``cifar-10-python.tar.gz``, and the
official pixel scaling.

Layout of the archive (https://www.cs.toronto.edu/~kriz/cifar.html): folder
``cifar-10-batches-py`` with ``data_batch_1`` .. ``data_batch_5`` (10,000 training
images each), ``test_batch`` (10,000) and ``batches.meta``. Each batch is a
Python 2 pickle of a dict with ``data``, uint8 ``[N, 3072]`` (the R, G, B planes of
32 x 32, rows top to bottom), and ``labels``, N ints in 0..9. Loaded with
``encoding="bytes"`` the keys are bytes; batches written by Python 3 may have str
keys. Both are read.

Memory: the 50,000 training images take 154 MB as uint8 and 614 MB as float32
(50,000 x 3 x 32 x 32 x 4 bytes). Keep them uint8 and convert each batch as it is
used: :func:`to_model_range` (numpy) or :func:`dequantize_batch` (a Paddle tensor,
with Paddle's random generator) do the official scaling on whatever they are
given. :func:`to_model_range` on the whole set is there for code that needs float
inputs up front (e.g. ppsci's ``NamedArrayDataset``, which has no cheap per-batch
transform); it allocates the output once and nothing else.
"""

from __future__ import annotations

import io
import os
import pickle
import tarfile
import zlib
from typing import Dict
from typing import List
from typing import Optional
from typing import Tuple
from typing import Union

import numpy as np

__all__ = [
    "CIFAR10_URL",
    "CIFAR10_CLASSES",
    "Cifar10Error",
    "load_cifar10",
    "write_cifar10",
    "to_model_range",
    "dequantize_batch",
]

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
_FOLDER = "cifar-10-batches-py"
_ARCHIVE = "cifar-10-python.tar.gz"
_SPLITS = {
    "train": tuple(f"data_batch_{i}" for i in range(1, 6)),
    "test": ("test_batch",),
}
_IMAGE_BYTES = 3 * 32 * 32

# Everything a CIFAR-10 batch pickle (Python 2 or 3, numpy 1 or 2) may refer to;
# any other global is refused, so a foreign pickle cannot run code.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
    ("copy_reg", "_reconstructor"),
    ("copyreg", "_reconstructor"),
    ("__builtin__", "object"),
    ("builtins", "object"),
}


class Cifar10Error(ValueError):
    """A CIFAR-10 archive or folder that is truncated, damaged or not CIFAR-10."""


def _help(problem: str) -> str:
    return (
        f"{problem}. Give the path of {_ARCHIVE} (download it from {CIFAR10_URL}, "
        f"163 MB), of the '{_FOLDER}' folder extracted from it, or of the folder "
        "holding either."
    )


class _BatchUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"refers to {module}.{name}, which no CIFAR-10 batch does")
        return super().find_class(module, name)


def _field(batch: dict, key: str):
    for k in (key, key.encode("ascii")):
        if k in batch:
            return batch[k]
    return None


def _parse_batch(raw: bytes, where: str) -> Tuple[np.ndarray, np.ndarray]:
    try:
        batch = _BatchUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except Exception as exc:  # any unpickling failure means the member is damaged
        raise Cifar10Error(
            _help(f"{where} is damaged or not a CIFAR-10 batch ({type(exc).__name__}: {exc})")
        ) from exc
    if not isinstance(batch, dict):
        raise Cifar10Error(_help(f"{where} holds a {type(batch).__name__}, not a CIFAR-10 batch dict"))
    data, labels = _field(batch, "data"), _field(batch, "labels")
    if data is None or labels is None:
        keys = ", ".join(repr(k) for k in list(batch)[:8])
        raise Cifar10Error(_help(f"{where} has no 'data' / 'labels' entries (keys: {keys})"))
    data = np.asarray(data)
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != _IMAGE_BYTES:
        raise Cifar10Error(
            _help(f"{where}: 'data' is {data.dtype} {list(data.shape)}, expected uint8 [N, 3072]")
        )
    if len(labels) != len(data) or (len(labels) and (labels.min() < 0 or labels.max() > 9)):
        raise Cifar10Error(
            _help(f"{where}: 'labels' must be {len(data)} class indices in 0..9")
        )
    return data, labels


def _member_name(info: tarfile.TarInfo) -> str:
    name = info.name
    return name[2:] if name.startswith("./") else name


def _read_tar(path: str, members: Tuple[str, ...]) -> List[Tuple[np.ndarray, np.ndarray]]:
    # One pass in archive order: a .tar.gz cannot seek backwards without
    # decompressing again from the start.
    wanted = {f"{_FOLDER}/{m}": m for m in members}
    found: Dict[str, Tuple[np.ndarray, np.ndarray]] = {}
    try:
        with tarfile.open(path, "r:*") as tar:
            for info in tar:
                member = wanted.get(_member_name(info))
                if member is None or member in found or not info.isfile():
                    continue
                raw = tar.extractfile(info).read()
                if len(raw) != info.size:
                    raise EOFError(f"{member} ends after {len(raw)} of {info.size} bytes")
                found[member] = _parse_batch(raw, f"{path!r} member {_FOLDER}/{member}")
            # Read on to the end of the stream: gzip checks its CRC and length
            # there, which catches damage the tar headers cannot.
            while tar.fileobj.read(1 << 20):
                pass
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise Cifar10Error(
            _help(f"{path!r} could not be read as a .tar.gz archive: it is truncated, "
                  f"damaged or not a tar file ({type(exc).__name__}: {exc})")
        ) from exc
    missing = [m for m in members if m not in found]
    if missing:
        raise Cifar10Error(
            _help(f"{path!r} is not the CIFAR-10 python archive: it has no "
                  + ", ".join(f"'{_FOLDER}/{m}'" for m in missing))
        )
    return [found[m] for m in members]


def _read_folder(folder: str, members: Tuple[str, ...]) -> List[Tuple[np.ndarray, np.ndarray]]:
    out = []
    for member in members:
        file = os.path.join(folder, member)
        if not os.path.isfile(file):
            raise Cifar10Error(_help(f"{folder!r} has no file '{member}'"))
        with open(file, "rb") as f:
            out.append(_parse_batch(f.read(), repr(file)))
    return out


def load_cifar10(path: Union[str, os.PathLike], split: str = "train") -> Tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 images and labels, read without extracting anything to disk.

    Args:
        path: ``cifar-10-python.tar.gz``, the ``cifar-10-batches-py`` folder
            extracted from it, or a folder holding either (the folder is preferred).
        split: "train" (data_batch_1..5, 50,000 images) or "test" (test_batch,
            10,000 images).

    Returns:
        ``(images, labels)``: uint8 ``[N, 3, 32, 32]`` (channels R, G, B; rows top
        to bottom; a reshape of the file's rows, no copy) and int64 ``[N]``.

    Raises:
        FileNotFoundError: nothing at ``path``, or a folder with neither form in it.
        Cifar10Error: a truncated or damaged archive, or one that is not CIFAR-10.
            The messages give the official download address.

    Examples:
        >>> from ppsci_ext.data.cifar10 import load_cifar10
        >>> images, labels = load_cifar10("cifar-10-python.tar.gz")  # doctest: +SKIP
        >>> images.shape, images.dtype, labels.shape  # doctest: +SKIP
        ((50000, 3, 32, 32), dtype('uint8'), (50000,))
    """
    if split not in _SPLITS:
        raise ValueError(f"split={split!r} is not valid; valid: {', '.join(_SPLITS)}")
    members = _SPLITS[split]
    path = os.fspath(path)
    if os.path.isdir(path):
        if os.path.isdir(os.path.join(path, _FOLDER)):
            batches = _read_folder(os.path.join(path, _FOLDER), members)
        elif os.path.isfile(os.path.join(path, _ARCHIVE)):
            batches = _read_tar(os.path.join(path, _ARCHIVE), members)
        elif any(os.path.isfile(os.path.join(path, m)) for m in _SPLITS["train"] + _SPLITS["test"]):
            batches = _read_folder(path, members)
        else:
            raise FileNotFoundError(
                _help(f"CIFAR-10 not found in folder {path!r}: it holds neither "
                      f"'{_FOLDER}' nor '{_ARCHIVE}' nor the batch files")
            )
    elif os.path.isfile(path):
        batches = _read_tar(path, members)
    else:
        raise FileNotFoundError(_help(f"CIFAR-10 not found: {path!r} does not exist"))
    data = batches[0][0] if len(batches) == 1 else np.concatenate([b[0] for b in batches])
    labels = batches[0][1] if len(batches) == 1 else np.concatenate([b[1] for b in batches])
    return data.reshape(-1, 3, 32, 32), labels


def write_cifar10(
    path: Union[str, os.PathLike],
    train: Tuple[np.ndarray, np.ndarray],
    test: Tuple[np.ndarray, np.ndarray],
    class_names: Tuple[str, ...] = CIFAR10_CLASSES,
) -> str:
    """Write images and labels as a ``cifar-10-python.tar.gz`` in the official
    layout, which :func:`load_cifar10` reads back unchanged: the training images split
    in order over ``data_batch_1`` .. ``data_batch_5`` (as evenly as they go), the
    test images in ``test_batch``, and ``batches.meta``. For made-up data in tests and
    benchmarks, or one's own 32 x 32 images in this layout.

    Args:
        path: The archive to write.
        train: ``(images, labels)``: uint8 ``[N, 3, 32, 32]`` (or ``[N, 3072]``) and
            ``N`` integers in 0..9.
        test: The same for the test split.
        class_names: The ten names written to ``batches.meta``.

    Returns:
        ``path`` as a string.

    Examples:
        >>> import os, tempfile
        >>> import numpy as np
        >>> from ppsci_ext.data.cifar10 import load_cifar10, write_cifar10
        >>> rng = np.random.default_rng(0)
        >>> images = rng.integers(0, 256, (10, 3, 32, 32), dtype=np.uint8)
        >>> labels = np.arange(10)
        >>> path = write_cifar10(os.path.join(tempfile.mkdtemp(), "cifar-10-python.tar.gz"),
        ...                      (images, labels), (images[:2], labels[:2]))
        >>> loaded, loaded_labels = load_cifar10(path, "train")
        >>> bool((loaded == images).all()), loaded_labels.tolist()
        (True, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    """
    def member(tar: tarfile.TarFile, name: str, obj: dict) -> None:
        payload = pickle.dumps(obj, protocol=2)  # protocol 2: readable by Python 2, as the original
        info = tarfile.TarInfo(f"{_FOLDER}/{name}")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))

    path = os.fspath(path)
    folder = tarfile.TarInfo(_FOLDER)
    folder.type = tarfile.DIRTYPE
    with tarfile.open(path, "w:gz") as tar:
        tar.addfile(folder)
        for split, (images, labels) in (("train", train), ("test", test)):
            images = np.ascontiguousarray(images, dtype=np.uint8).reshape(-1, _IMAGE_BYTES)
            labels = np.asarray(labels, dtype=np.int64).reshape(-1)
            if len(images) != len(labels):
                raise ValueError(f"{split}: {len(images)} images but {len(labels)} labels")
            names = _SPLITS[split]
            for name, part in zip(names, np.array_split(np.arange(len(images)), len(names))):
                member(tar, name, {b"batch_label": name.encode(), b"data": images[part],
                                   b"labels": [int(v) for v in labels[part]]})
        member(tar, "batches.meta", {b"label_names": [n.encode() for n in class_names],
                                     b"num_vis": _IMAGE_BYTES})
    return path


def to_model_range(
    images: np.ndarray,
    rng: Optional[Union[np.random.Generator, int]] = None,
    dequantize: bool = True,
) -> np.ndarray:
    r"""The official scaling of uint8 pixels to the generator's range,

    $$
    x' = 2\left(\frac{x}{256} - \frac12\right) + u = \frac{x + 128\,u}{128} - 1,
    \quad u \sim U\left(0, \tfrac{1}{128}\right),
    $$

    so $x' \in [-1, 1)$ (float32 rounding can give exactly 1 for $x = 255$).

    Works on any shape (a batch or the whole set) and returns float32 of the same
    shape. The output is the only array allocated: the noise is drawn into it, then
    the pixels are added and the result scaled in place (the whole training set
    needs 614 MB; prefer converting batch by batch).

    Args:
        images: uint8 pixels (or other integers in 0..255).
        rng: numpy Generator or seed for the noise. Defaults to a fresh generator.
        dequantize: Add the U(0, 1/128) noise. False gives the plain scaling
            $x/128 - 1$. Defaults to True.

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.data.cifar10 import to_model_range
        >>> x = to_model_range(np.array([0, 128, 255], dtype=np.uint8), dequantize=False)
        >>> x.tolist(), x.dtype
        ([-1.0, 0.0, 0.9921875], dtype('float32'))
        >>> y = to_model_range(np.full(1000, 255, dtype=np.uint8), rng=0)
        >>> bool(y.min() >= 0.9921875 and y.max() <= 1.0)
        True
    """
    images = np.asarray(images)
    out = np.empty(images.shape, dtype=np.float32)
    if dequantize:
        if not isinstance(rng, np.random.Generator):
            rng = np.random.default_rng(rng)
        rng.random(dtype=np.float32, out=out)  # u * 128, in [0, 1)
        np.add(out, images, out=out, casting="unsafe")
    else:
        out[...] = images
    out *= np.float32(1.0 / 128.0)
    out -= np.float32(1.0)
    return out


def dequantize_batch(images, dequantize: bool = True):
    """:func:`to_model_range` for a Paddle tensor of pixels (e.g. a uint8 batch from
    a data loader), on its device, with Paddle's random generator (so
    ``paddle.seed`` makes it repeatable).

    Examples:
        >>> import paddle
        >>> from ppsci_ext.data.cifar10 import dequantize_batch
        >>> x = dequantize_batch(paddle.to_tensor([[0, 255]], dtype="uint8"))
        >>> x.dtype == paddle.float32, bool(x.min() >= -1.0), bool(x.max() <= 1.0)
        (True, True, True)
    """
    import paddle

    x = images.astype("float32")
    if dequantize:
        x = x + paddle.rand(x.shape, dtype="float32")
    return x * (1.0 / 128.0) - 1.0

