"""Saving and loading weights and training state without losing or half-loading
anything.

- Every file is written under a temporary name in the same folder and then renamed
  over the target, so a process killed while saving leaves the previous file whole.
  A write that fails (a full disk, a folder that became read-only) raises
  :class:`WriteError` naming the file, after removing the temporary file.
- Loading a state dict into a network checks every name and shape first and raises
  one error listing what does not fit; Paddle's own ``set_state_dict`` only warns
  and keeps the mismatched parameters as they were. Non-finite weights are refused
  as well (a flipped exponent bit shows up as inf or NaN).
- A training checkpoint carries a SHA-256 digest of its contents
  (:func:`content_digest`), so a corrupted byte in its tensors is detected even when
  the file still unpickles.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import re
import tempfile
import zipfile
from typing import Any
from typing import Dict
from typing import Iterator
from typing import List
from typing import Mapping

import numpy as np
import paddle
from paddle import nn

__all__ = [
    "CheckpointError",
    "WriteError",
    "atomic_target",
    "save_atomic",
    "remove_stale_temp_files",
    "checkpoint_file",
    "load_file",
    "content_digest",
    "check_digest",
    "check_state_dict",
    "load_state_dict_strict",
    "portable_optimizer_state",
    "restore_optimizer_state",
]

#: Names of the temporary files :func:`atomic_target` writes (``.<name>.<random>.tmp``
#: with the target's extension kept when asked), so a later run can find the ones a
#: killed process left behind.
_TEMP_NAME = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp(\.[A-Za-z0-9]+)?$")


class CheckpointError(ValueError):
    """A weights or checkpoint file that is missing, damaged or does not fit."""


class WriteError(OSError):
    """A file could not be written (full disk, no permission, I/O error). The
    previous file of that name, if any, is unchanged and no partial file is left;
    ``errno`` is that of the underlying error."""


def _fsync_folder(folder: str) -> None:
    """Make a rename durable; not every platform can open a folder, which is fine."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_target(path: str, keep_extension: bool = False) -> Iterator[str]:
    """Yield a temporary path next to ``path``; once the block has written it, sync it
    to disk and rename it over ``path`` in one step.

    If the block or the rename fails, the temporary file is removed and ``path`` is
    left as it was; an ``OSError`` comes back as :class:`WriteError` naming ``path``.
    ``keep_extension`` ends the temporary name with the target's extension, for
    writers that choose the format from it (matplotlib).

    Examples:
        >>> import os, tempfile
        >>> from ppsci_ext.solver.checkpoint import atomic_target
        >>> path = os.path.join(tempfile.mkdtemp(), "history.csv")
        >>> with atomic_target(path) as tmp:
        ...     _ = open(tmp, "w").write("iteration\\n1\\n")
        >>> open(path).read().split()
        ['iteration', '1']
    """
    folder = os.path.dirname(os.path.abspath(path))
    name = os.path.basename(path)
    suffix = ".tmp" + (os.path.splitext(name)[1] if keep_extension else "")
    tmp = None
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=suffix, dir=folder)
        os.close(fd)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it owner-only
        yield tmp
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
        _fsync_folder(folder)
    except OSError as exc:
        error = WriteError(
            f"Could not write {path!r}: {exc.strerror or exc}"
            f"{' (errno ' + str(exc.errno) + ')' if exc.errno else ''}. The previous "
            f"{name} (if there was one) is unchanged and no partial file was left. "
            + _write_advice(exc.errno, folder)
        )
        error.errno = exc.errno
        raise error from exc
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.remove(tmp)


def _write_advice(errno_value, folder: str) -> str:
    import errno

    if errno_value in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return (f"Free space on the disk of {folder!r} (or choose another output_dir), then "
                "resume with TRAIN.resume=auto.")
    if errno_value in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"Make {folder!r} writable (or choose another output_dir), then resume with TRAIN.resume=auto."
    return f"Check the disk of {folder!r}, then resume with TRAIN.resume=auto."


def save_atomic(obj: Any, path: str) -> None:
    """``paddle.save(obj, path)`` through a temporary file and an atomic rename
    (:func:`atomic_target`).

    Raises:
        WriteError: the file could not be written; the previous one is unchanged.

    Examples:
        >>> import os, tempfile, paddle
        >>> from ppsci_ext.solver.checkpoint import save_atomic
        >>> path = os.path.join(tempfile.mkdtemp(), "w.pdparams")
        >>> save_atomic({"w": paddle.ones([2])}, path)
        >>> sorted(os.listdir(os.path.dirname(path)))
        ['w.pdparams']
    """
    with atomic_target(path) as tmp:
        paddle.save(obj, tmp)


def remove_stale_temp_files(folder: str) -> List[str]:
    """Remove the temporary files that a process killed while saving left in
    ``folder`` (never the finished files); return their paths."""
    removed = []
    if not os.path.isdir(folder):
        return removed
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if _TEMP_NAME.match(name) and os.path.isfile(path):
            try:
                os.remove(path)
                removed.append(path)
            except OSError:
                pass  # gone already, or not ours to remove: harmless
    return removed


def checkpoint_file(path: str) -> str:
    """The ``.pdckpt`` file that ``TRAIN.checkpoint_path`` names: the file itself, or
    ppsci's prefix convention (``output/checkpoints/latest``), or a folder holding
    ``latest.pdckpt``.

    Examples:
        >>> from ppsci_ext.solver.checkpoint import checkpoint_file
        >>> checkpoint_file("out/checkpoints/latest")
        'out/checkpoints/latest.pdckpt'
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        return os.path.join(path, "latest.pdckpt")
    if not os.path.splitext(path)[1]:
        return path + ".pdckpt"
    return path


def load_file(path: str, what: str = "weights file") -> Any:
    """``paddle.load`` with errors that name the file and say what to do.

    Raises:
        FileNotFoundError: the file does not exist.
        CheckpointError: the file is truncated, corrupted or not a Paddle file, or
            cannot be read.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{what} not found: {path!r}. Check the path (relative paths are taken "
            f"from the directory you started the command in: {os.getcwd()})."
        )
    try:
        return paddle.load(path)
    except (pickle.UnpicklingError, EOFError, zipfile.BadZipFile, ValueError, KeyError, RuntimeError,
            OSError, TypeError, AttributeError, IndexError, MemoryError) as exc:
        if isinstance(exc, OSError) and exc.errno is not None:
            raise CheckpointError(
                f"{what} {path!r} could not be read: {exc.strerror} (errno {exc.errno})."
            ) from exc
        raise CheckpointError(
            f"{what} {path!r} could not be read ({type(exc).__name__}: {exc}); it is "
            "truncated, corrupted or not a file written by paddle.save. Use another copy; "
            "this file was left as it is."
        ) from exc


def _feed(hasher, obj) -> None:
    if isinstance(obj, Mapping):
        hasher.update(b"{")
        for key in sorted(obj, key=repr):
            hasher.update(repr(key).encode() + b":")
            _feed(hasher, obj[key])
        hasher.update(b"}")
    elif isinstance(obj, (list, tuple)):
        hasher.update(b"[")
        for item in obj:
            _feed(hasher, item)
        hasher.update(b"]")
    elif isinstance(obj, (paddle.Tensor, np.ndarray, np.generic)):
        array = np.ascontiguousarray(obj.numpy() if isinstance(obj, paddle.Tensor) else obj)
        hasher.update(f"{array.dtype.str}{array.shape}".encode())
        hasher.update(array.tobytes())
    elif obj is None or isinstance(obj, (str, bytes, bool, int, float)):
        hasher.update(repr(obj).encode())
    else:  # e.g. Paddle's random generator states
        hasher.update(pickle.dumps(obj, protocol=4))


def content_digest(obj: Any) -> str:
    """SHA-256 of a (nested) checkpoint state: tensors by dtype, shape and bytes,
    containers by their keys and order, so it is the same before ``paddle.save`` and
    after ``paddle.load``.

    Examples:
        >>> import numpy as np, paddle
        >>> from ppsci_ext.solver.checkpoint import content_digest
        >>> a = content_digest({"w": paddle.ones([2]), "step": 3})
        >>> a == content_digest({"step": 3, "w": np.ones(2, "float32")})
        True
        >>> a == content_digest({"w": paddle.to_tensor([1.0, 1.5]), "step": 3})
        False
    """
    hasher = hashlib.sha256()
    _feed(hasher, obj)
    return hasher.hexdigest()


def check_digest(state: Dict[str, Any], path: str, key: str = "digest") -> None:
    """Raise :class:`CheckpointError` if ``state[key]`` (written by the saver as
    :func:`content_digest` of the rest) does not match; states without one pass."""
    expected = state.get(key)
    if expected is None:
        return
    found = content_digest({k: v for k, v in state.items() if k != key})
    if found != expected:
        raise CheckpointError(
            f"{path!r} is corrupted: its contents do not match the digest written with "
            "it (a changed byte on disk or in a copy). Use another copy; this file was "
            "left as it is."
        )


def _shape(value) -> tuple:
    return tuple(int(d) for d in (value.shape if hasattr(value, "shape") else np.shape(value)))


def check_state_dict(
    expected: Mapping[str, Any], given: Mapping[str, Any], source: str
) -> None:
    """Raise :class:`CheckpointError` unless ``given`` has exactly the names and shapes
    of ``expected`` (a network's ``state_dict()``) and finite floating-point values,
    listing every difference."""
    missing = [k for k in expected if k not in given]
    unexpected = [k for k in given if k not in expected]
    wrong = [
        f"{k}: file {list(_shape(given[k]))}, network {list(_shape(expected[k]))}"
        for k in expected
        if k in given and _shape(given[k]) != _shape(expected[k])
    ]
    nonfinite = []
    for k in expected:
        if k in given and _shape(given[k]) == _shape(expected[k]):
            values = np.asarray(given[k].numpy() if isinstance(given[k], paddle.Tensor) else given[k])
            if values.dtype.kind == "f":
                bad = int(values.size - np.count_nonzero(np.isfinite(values)))
                if bad:
                    nonfinite.append(f"{k} ({bad} of {values.size})")
    if not (missing or unexpected or wrong or nonfinite):
        return
    lines = [f"{source} does not fit the network:" if (missing or unexpected or wrong)
             else f"{source} holds NaN or infinite weights (corrupted, or saved from a diverged run):"]
    for title, items in (
        ("missing from the file", missing),
        ("in the file but not in the network", unexpected),
        ("shape differs", wrong),
        ("non-finite values in", nonfinite),
    ):
        if items:
            shown = ", ".join(items[:8]) + (f", ... ({len(items)} in all)" if len(items) > 8 else "")
            lines.append(f"  {title}: {shown}")
    lines.append(
        "  Nothing was loaded. Check that the file was saved from this experiment's "
        "network with the same MODEL settings." if not nonfinite else
        "  Nothing was loaded. Use an earlier copy of the weights."
    )
    raise CheckpointError("\n".join(lines))


def load_state_dict_strict(model: nn.Layer, state: Dict[str, Any], source: str) -> None:
    """Load ``state`` into ``model`` only if every name and shape fits.

    Examples:
        >>> import paddle
        >>> from ppsci_ext.solver.checkpoint import load_state_dict_strict
        >>> layer = paddle.nn.Linear(3, 4)
        >>> try:
        ...     load_state_dict_strict(layer, {"weight": paddle.zeros([5, 4]), "bias": paddle.zeros([4])}, "w.pdparams")
        ... except ValueError as e:
        ...     print(str(e).splitlines()[1])
          shape differs: weight: file [5, 4], network [3, 4]
    """
    check_state_dict(model.state_dict(), state, source)
    model.set_state_dict(state)


def _param_names(model: nn.Layer) -> Dict[str, str]:
    """Paddle's unique parameter names (``linear_20.w_0``, which depend on how many
    layers the process built before) -> the model's structured names."""
    return {p.name: k for k, p in model.named_parameters()}


def _rename_keys(state: Dict[str, Any], names: Dict[str, str]) -> Dict[str, Any]:
    by_length = sorted(names, key=len, reverse=True)
    out = {}
    for key, value in state.items():
        match = next((n for n in by_length if key == n or key.startswith(n + "_")), None)
        out[names[match] + key[len(match):] if match else key] = value
    return out


def portable_optimizer_state(optimizer, model: nn.Layer) -> Dict[str, Any]:
    """The optimizer's state dict keyed by the model's structured parameter names
    (``net.0.weight_moment1_0``), so another process can load it.

    Paddle keys optimizer state by unique parameter names that change with the
    number of layers built earlier in the process."""
    names = _param_names(model)
    return _rename_keys(optimizer.state_dict(), {n: "@" + k for n, k in names.items()})


def restore_optimizer_state(optimizer, model: nn.Layer, state: Dict[str, Any]) -> None:
    """Load a :func:`portable_optimizer_state` into ``optimizer``."""
    names = {"@" + k: n for n, k in _param_names(model).items()}
    optimizer.set_state_dict(_rename_keys(state, names))
