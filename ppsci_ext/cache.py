"""Where converted weights, trained metric networks and reference statistics are
cached, and the file digests that key them."""

from __future__ import annotations

import hashlib
import os
from typing import Optional

import numpy as np

__all__ = ["cache_dir", "update_digest", "update_array_digest", "file_digest"]

CACHE_ENV = "PPSCI_EXT_CACHE"


def cache_dir(path: Optional[str] = None) -> str:
    """The cache folder: ``path`` if given, else ``$PPSCI_EXT_CACHE``, else
    ``~/.cache/ppsci_ext``.

    Examples:
        >>> import os
        >>> from ppsci_ext.cache import cache_dir
        >>> cache_dir("/tmp/x")
        '/tmp/x'
        >>> cache_dir() == os.path.expanduser(os.environ.get("PPSCI_EXT_CACHE", "~/.cache/ppsci_ext"))
        True
    """
    if path:
        return os.path.expanduser(path)
    return os.path.expanduser(os.environ.get(CACHE_ENV) or os.path.join("~", ".cache", "ppsci_ext"))


def update_digest(digest, path: str) -> None:
    """Feed the bytes of the file at ``path`` into a ``hashlib`` digest, 1 MiB at a time."""
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)


def update_array_digest(digest, x) -> None:
    """Feed an array into a ``hashlib`` digest: its dtype and shape, then its bytes in
    C order, 16 MiB at a time (so two arrays that differ only in shape differ)."""
    x = np.ascontiguousarray(x)
    digest.update(f"{x.dtype.str}{x.shape}".encode())
    flat = x.reshape(-1).view(np.uint8)
    for start in range(0, len(flat), 1 << 24):
        digest.update(flat[start : start + (1 << 24)])


def file_digest(path: str, algorithm: str = "sha256") -> str:
    """Hex digest of a file.

    Examples:
        >>> import tempfile
        >>> from ppsci_ext.cache import file_digest
        >>> with tempfile.NamedTemporaryFile(delete=False) as f:
        ...     _ = f.write(b"abc")
        >>> file_digest(f.name, "sha1")
        'a9993e364706816aba3e25717850c26c9cd0d89d'
    """
    digest = hashlib.new(algorithm)
    update_digest(digest, path)
    return digest.hexdigest()
