"""Layers with the parameters of Paddle's own, computed faster on CPU."""

from __future__ import annotations

import paddle
from paddle import nn

from ppsci_ext.arch.functional import linear

__all__ = ["Linear"]


class Linear(nn.Linear):
    r"""``paddle.nn.Linear`` ($y = xW + b$, same parameters and state-dict names)
    whose bias is added by :func:`ppsci_ext.arch.functional.add_channel_bias`,
    which Paddle runs faster on CPU than its fused ``linear`` kernel.

    Examples:
        >>> import paddle
        >>> from ppsci_ext.arch.layers import Linear
        >>> layer = Linear(3, 2)
        >>> sorted(layer.state_dict()), list(layer(paddle.ones([4, 3])).shape)
        (['bias', 'weight'], [4, 2])
    """

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return linear(x, self.weight, self.bias)
