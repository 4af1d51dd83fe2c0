r"""Scaling of data to the networks' range and back, per channel or per column.

$$
x_{\mathrm{model}} = \frac{x - o_c}{s_c}, \qquad x = s_c\,x_{\mathrm{model}} + o_c,
$$

with $c$ the channel (images, axis 1 of ``[N, C, H, W]``) or the column (vectors,
axis 1 of ``[N, D]``):

- images (:func:`image_scaling`): $[\mathrm{lo}, \mathrm{hi}] \to [-1, 1]$, so
  $o = (\mathrm{lo} + \mathrm{hi})/2$ and $s = (\mathrm{hi} - \mathrm{lo})/2$, where
  $[\mathrm{lo}, \mathrm{hi}]$ is $[0, 255]$ for ``uint8``, $[0, 65535]$ for
  ``uint16`` and the channel's own minimum and maximum otherwise (the generator
  ends in $\tanh$);
- vectors (:func:`vector_scaling`): standardisation, $o$ the column mean and $s$ its
  standard deviation (the MLP generator's output is unbounded).

A constant channel or column gets $s = 1$. Integer data comes back rounded and
clipped to its type's range.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict
from typing import List
from typing import Optional

import numpy as np

__all__ = ["DataScaling", "image_scaling", "vector_scaling"]

_INTEGER_RANGES = {"uint8": (0.0, 255.0), "uint16": (0.0, 65535.0)}


@dataclass
class DataScaling:
    """Affine map between data units and the networks' range, one ``offset`` and
    ``scale`` per channel (images) or column (vectors).

    Attributes:
        method (str): "range" (images to $[-1, 1]$) or "standardise" (vectors).
        offset (List[float]): $o_c$.
        scale (List[float]): $s_c$.
        dtype (str): The data's dtype; integer types come back rounded and clipped.

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.data.scaling import image_scaling
        >>> s = image_scaling(np.array([[[[0, 255]]]], np.uint8))
        >>> s.to_model(np.array([[[[0, 255]]]], np.uint8)).tolist()
        [[[[-1.0, 1.0]]]]
        >>> s.from_model(np.array([[[[-1.0, 0.0, 1.0]]]])).tolist()
        [[[[0, 128, 255]]]]
    """

    method: str
    offset: List[float]
    scale: List[float]
    dtype: str

    def _shape(self, ndim: int):
        return (1, -1) + (1,) * (ndim - 2)

    def to_model(self, x: np.ndarray) -> np.ndarray:
        """Data units to the networks' range, float32."""
        x = np.asarray(x, np.float64)
        offset = np.asarray(self.offset).reshape(self._shape(x.ndim))
        scale = np.asarray(self.scale).reshape(self._shape(x.ndim))
        return ((x - offset) / scale).astype(np.float32)

    def from_model(self, y: np.ndarray, dtype: Optional[str] = None) -> np.ndarray:
        """The networks' range back to data units, in ``dtype`` (the data's by
        default; integer types rounded and clipped to their range)."""
        y = np.asarray(y, np.float64)
        offset = np.asarray(self.offset).reshape(self._shape(y.ndim))
        scale = np.asarray(self.scale).reshape(self._shape(y.ndim))
        x = y * scale + offset
        dtype = np.dtype(dtype or self.dtype)
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            return np.clip(np.rint(x), info.min, info.max).astype(dtype)
        return x.astype(dtype)

    def to_dict(self) -> Dict[str, object]:
        return {
            "method": self.method,
            "formula": "x_model = (x - offset) / scale, per "
            + ("channel" if self.method == "range" else "column"),
            "offset": [float(v) for v in self.offset],
            "scale": [float(v) for v in self.scale],
            "dtype": self.dtype,
        }

    @classmethod
    def from_dict(cls, d: Dict[str, object]) -> "DataScaling":
        return cls(method=str(d["method"]), offset=[float(v) for v in d["offset"]],
                   scale=[float(v) for v in d["scale"]], dtype=str(d["dtype"]))


def _safe(scale: np.ndarray) -> np.ndarray:
    return np.where(scale > 0, scale, 1.0)


def image_scaling(images: np.ndarray) -> DataScaling:
    """Per-channel map of ``[N, C, H, W]`` images to $[-1, 1]$ (see the module
    docstring for the range used).

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.data.scaling import image_scaling
        >>> s = image_scaling(np.array([[[[2.0, 6.0]], [[0.0, 0.0]]]]))  # 2 channels
        >>> s.offset, s.scale
        ([4.0, 0.0], [2.0, 1.0])
    """
    channels = images.shape[1]
    if images.dtype.name in _INTEGER_RANGES:
        lo, hi = (np.full(channels, v) for v in _INTEGER_RANGES[images.dtype.name])
    else:
        lo = images.min(axis=(0, 2, 3)).astype(np.float64)
        hi = images.max(axis=(0, 2, 3)).astype(np.float64)
    return DataScaling("range", ((lo + hi) / 2).tolist(), _safe((hi - lo) / 2).tolist(),
                       images.dtype.name)


def vector_scaling(values: np.ndarray) -> DataScaling:
    """Per-column standardisation of ``[N, D]`` vectors (mean and standard deviation).

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.data.scaling import vector_scaling
        >>> s = vector_scaling(np.array([[0.0, 5.0], [2.0, 5.0]]))
        >>> s.offset, s.scale
        ([1.0, 5.0], [1.0, 1.0])
    """
    values = np.asarray(values, np.float64)
    return DataScaling("standardise", values.mean(axis=0).tolist(),
                       _safe(values.std(axis=0)).tolist(), "float64")
