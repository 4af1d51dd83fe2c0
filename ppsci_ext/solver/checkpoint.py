"""Saving and loading weights and training state without losing or half-loading
anything.

- Every file is written under a temporary name in the same folder and then renamed
  over the target, so a process killed while saving leaves the previous file whole.
- Loading a state dict into a network checks every name and shape first and raises
  one error listing what does not fit; Paddle's own ``set_state_dict`` only warns
  and keeps the mismatched parameters as they were.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from typing import Any
from typing import Dict
from typing import Mapping

import numpy as np
import paddle
from paddle import nn

__all__ = [
    "CheckpointError",
    "save_atomic",
    "load_file",
    "check_state_dict",
    "load_state_dict_strict",
    "portable_optimizer_state",
    "restore_optimizer_state",
]


class CheckpointError(ValueError):
    """A weights or checkpoint file that is missing, damaged or does not fit."""


def save_atomic(obj: Any, path: str) -> None:
    """``paddle.save(obj, path)`` through a temporary file and an atomic rename.

    Examples:
        >>> import os, tempfile, paddle
        >>> from ppsci_ext.solver.checkpoint import save_atomic
        >>> path = os.path.join(tempfile.mkdtemp(), "w.pdparams")
        >>> save_atomic({"w": paddle.ones([2])}, path)
        >>> sorted(os.listdir(os.path.dirname(path)))
        ['w.pdparams']
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it owner-only
    try:
        paddle.save(obj, tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def load_file(path: str, what: str = "weights file") -> Any:
    """``paddle.load`` with errors that name the file and say what to do.

    Raises:
        FileNotFoundError: the file does not exist.
        CheckpointError: the file is truncated or not a Paddle file.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{what} not found: {path!r}. Check the path (relative paths are taken "
            f"from the directory you started the command in: {os.getcwd()})."
        )
    try:
        return paddle.load(path)
    except (pickle.UnpicklingError, EOFError, zipfile.BadZipFile, ValueError, KeyError, RuntimeError, OSError) as exc:
        raise CheckpointError(
            f"{what} {path!r} could not be read ({type(exc).__name__}: {exc}); it is "
            "truncated or not a file written by paddle.save. Use another copy; this "
            "file was left as it is."
        ) from exc


def _shape(value) -> tuple:
    return tuple(int(d) for d in (value.shape if hasattr(value, "shape") else np.shape(value)))


def check_state_dict(
    expected: Mapping[str, Any], given: Mapping[str, Any], source: str
) -> None:
    """Raise :class:`CheckpointError` unless ``given`` has exactly the names and shapes
    of ``expected`` (a network's ``state_dict()``), listing every difference."""
    missing = [k for k in expected if k not in given]
    unexpected = [k for k in given if k not in expected]
    wrong = [
        f"{k}: file {list(_shape(given[k]))}, network {list(_shape(expected[k]))}"
        for k in expected
        if k in given and _shape(given[k]) != _shape(expected[k])
    ]
    if not (missing or unexpected or wrong):
        return
    lines = [f"{source} does not fit the network:"]
    for title, items in (
        ("missing from the file", missing),
        ("in the file but not in the network", unexpected),
        ("shape differs", wrong),
    ):
        if items:
            shown = ", ".join(items[:8]) + (f", ... ({len(items)} in all)" if len(items) > 8 else "")
            lines.append(f"  {title}: {shown}")
    lines.append(
        "  Nothing was loaded. Check that the file was saved from this experiment's "
        "network with the same MODEL settings."
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
