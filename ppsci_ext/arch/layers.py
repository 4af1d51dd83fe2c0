"""Layers with the parameters of Paddle's own, computed faster on CPU."""

from __future__ import annotations

import paddle
from paddle import nn

from ppsci_ext.arch.functional import batch_standardize
from ppsci_ext.arch.functional import linear

__all__ = ["Linear", "StandingBatchNorm2D"]


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


class StandingBatchNorm2D(nn.Layer):
    r"""Batch norm for generators: in training it normalises with the batch's own
    moments (as every batch norm), in eval mode with *standing statistics*,
    buffers ``_mean`` and ``_variance`` that
    :meth:`ppsci_ext.arch.base.GeneratorArch.refresh_standing_statistics`
    sets for the weights being sampled (Brock et al. 2019) instead of a running
    average over past weights. A sample in eval mode then depends on its noise
    alone, not on the batch it is drawn in, and an averaged generator is
    normalised with statistics of its own weights.

    $$
    y_{n,c,h,w} = \gamma_c \, \frac{x_{n,c,h,w} - \mu_c}{\sqrt{\sigma^2_c + \epsilon}} + \beta_c
    $$

    with $\mu_c$, $\sigma^2_c$ the mean and biased variance over batch and space in
    training, the buffers in eval mode.

    Args:
        num_features (int): Number of channels $C$.
        epsilon (float): Added to the variance. Defaults to 1e-5.

    Examples:
        >>> import paddle
        >>> from ppsci_ext.arch.layers import StandingBatchNorm2D
        >>> norm = StandingBatchNorm2D(4)
        >>> sorted(norm.state_dict()), list(norm(paddle.randn([8, 4, 5, 5])).shape)
        (['_mean', '_variance', 'bias', 'weight'], [8, 4, 5, 5])
    """

    def __init__(self, num_features: int, epsilon: float = 1e-5):
        super().__init__()
        self.epsilon = epsilon
        self.weight = self.create_parameter(
            [num_features], default_initializer=nn.initializer.Constant(1.0)
        )
        self.bias = self.create_parameter(
            [num_features], is_bias=True, default_initializer=nn.initializer.Constant(0.0)
        )
        self.register_buffer("_mean", paddle.zeros([num_features]))
        self.register_buffer("_variance", paddle.ones([num_features]))
        #: each batch's (mean, variance) while standing statistics are being
        #: gathered; None otherwise
        self.gathered = None

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        if not self.training:
            return paddle.nn.functional.batch_norm(
                x, self._mean, self._variance, self.weight, self.bias,
                training=False, epsilon=self.epsilon,
            )
        if self.gathered is not None:
            with paddle.no_grad():
                mean = x.mean(axis=[0, 2, 3])
                var = (x - mean.reshape([1, -1, 1, 1])).square().mean(axis=[0, 2, 3])
                self.gathered.append((mean, var))
        return batch_standardize(x, self.weight, self.bias, self.epsilon)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]}, epsilon={self.epsilon}"
