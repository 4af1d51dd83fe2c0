r"""Convolution building blocks computed the fast way, with the same results.

Each function computes exactly what its plain composition computes (up to float
rounding); only the order of the arithmetic differs. The parameters stay those of
the plain layers (``nn.Conv2D`` weights ``[out, in, k, k]`` and biases ``[out]``), so
checkpoints do not change. Why each one exists, measured with Paddle 3.3.1 on a
2-core CPU:

- :func:`add_channel_bias`: Paddle's CPU kernels add a broadcast ``[1, C, 1, 1]``
  bias 5 to 7 times slower than two tensors of equal shape, and reduce its
  gradient slowly too; expanding the bias first takes the fast path (a bias add on
  ``[128, 128, 32, 32]``, forward and backward: 440 ms -> 250 ms).
- :func:`conv2d_bias_channel`: for inputs with few channels the bias costs less as
  a constant input channel of the convolution than as any addition.
- :func:`conv_mean_pool`: a 3x3 convolution followed by 2x2 mean pooling is one
  4x4 convolution with stride 2: 16 products per output pixel instead of 36.
- :func:`upsample_conv`: nearest-neighbour upsampling x2 followed by a 3x3
  convolution is one 4x4 transposed convolution with stride 2: 16 products per
  input pixel instead of 36.
- :func:`batch_standardize`: batch norm's normalisation with the batch's own moments
  through Paddle's fused kernel (4-5x faster, forward and backward, than composing
  mean and variance).

All but :func:`upsample_conv` have the double backward that the gradient penalty
needs (Paddle 3.3.1's transposed convolution has none that works), so that one is
for generators.
"""

from __future__ import annotations

from typing import Optional

import paddle
import paddle.nn.functional as F

__all__ = [
    "add_channel_bias",
    "batch_standardize",
    "linear",
    "conv2d_bias_channel",
    "mean_pool_kernel",
    "conv_mean_pool",
    "upsample_kernel",
    "upsample_conv",
]


def add_channel_bias(x: paddle.Tensor, bias: Optional[paddle.Tensor]) -> paddle.Tensor:
    r"""$y_{n,c,\dots} = x_{n,c,\dots} + b_c$ for ``x`` of shape ``[N, C, ...]``.

    Examples:
        >>> import paddle
        >>> from ppsci_ext.arch.functional import add_channel_bias
        >>> x = paddle.zeros([2, 3, 4, 4])
        >>> y = add_channel_bias(x, paddle.to_tensor([1.0, 2.0, 3.0]))
        >>> y[1, :, 2, 3].numpy().tolist()
        [1.0, 2.0, 3.0]
    """
    if bias is None:
        return x
    shape = [1, bias.shape[0]] + [1] * (x.ndim - 2)
    # expand, then an add of equal shapes: Paddle's broadcasting add is far slower
    return x + bias.reshape(shape).expand(x.shape)


def batch_standardize(
    x: paddle.Tensor,
    weight: Optional[paddle.Tensor] = None,
    bias: Optional[paddle.Tensor] = None,
    epsilon: float = 1e-5,
) -> paddle.Tensor:
    r"""Batch norm with the batch's own moments, in every mode (no running
    statistics; what the official ``tflib`` batch norms compute): for ``x`` of shape
    ``[N, C, H, W]``,

    $$
    y_{n,c,h,w} = \gamma_c \, \frac{x_{n,c,h,w} - \mu_c}{\sqrt{\sigma^2_c + \epsilon}} + \beta_c,
    $$

    with $\mu_c$, $\sigma^2_c$ the mean and (biased) variance over batch and space,
    $\gamma$ = ``weight`` and $\beta$ = ``bias`` (1 and 0 when None).

    Examples:
        >>> import paddle
        >>> from ppsci_ext.arch.functional import batch_standardize
        >>> y = batch_standardize(paddle.randn([8, 3, 4, 4]) * 5 + 2)
        >>> abs(float(y.mean())) < 1e-5, round(float(y.std(unbiased=False)), 3)
        (True, 1.0)
    """
    c = x.shape[1]
    if paddle.in_dynamic_mode():
        # Paddle's fused kernel; the running buffers it wants are throw-away tensors
        return F.batch_norm(x, paddle.zeros([c]), paddle.ones([c]), weight, bias,
                            training=True, epsilon=epsilon)
    # Explicit moments in a static (exported) program: there Paddle runs batch_norm
    # in test mode, which would read the throw-away statistics.
    mean = x.mean(axis=[0, 2, 3], keepdim=True)
    var = (x - mean).square().mean(axis=[0, 2, 3], keepdim=True)
    y = (x - mean) * paddle.rsqrt(var + epsilon)
    if weight is not None:
        y = y * weight.reshape([1, c, 1, 1]).expand(y.shape)
    return add_channel_bias(y, bias)


def linear(x: paddle.Tensor, weight: paddle.Tensor, bias: Optional[paddle.Tensor]) -> paddle.Tensor:
    r"""$y = x W + b$ (``nn.Linear``'s weight layout ``[in, out]``), with the bias
    added by :func:`add_channel_bias` (a fully connected layer of 512 units on 256
    rows, forward and backward: 3.4 ms -> 2.9 ms).

    Examples:
        >>> import paddle, paddle.nn.functional as F
        >>> from ppsci_ext.arch.functional import linear
        >>> x, w, b = paddle.randn([4, 3]), paddle.randn([3, 5]), paddle.randn([5])
        >>> bool(paddle.allclose(linear(x, w, b), F.linear(x, w, b), atol=1e-6))
        True
    """
    return add_channel_bias(paddle.matmul(x, weight), bias)


def conv2d_bias_channel(
    x: paddle.Tensor, weight: paddle.Tensor, bias: paddle.Tensor
) -> paddle.Tensor:
    r"""``conv2d(x, weight, padding=k // 2) + bias`` for an odd square kernel $k$,
    with the bias as the weight of an extra input channel of ones.

    The extra channel is zero-padded like the others, so only the kernel's centre
    tap always reads a one; the bias sits there and every other tap of that channel
    is zero:

    $$
    \mathrm{conv}\big([x, \mathbf{1}], [W, b\,\delta_{\text{centre}}]\big) = \mathrm{conv}(x, W) + b
    $$

    Worth it when ``x`` has few channels (a network's first layer), where the extra
    channel costs less than an addition over the whole output.

    Examples:
        >>> import paddle, paddle.nn.functional as F
        >>> from ppsci_ext.arch.functional import conv2d_bias_channel
        >>> x, w, b = paddle.randn([2, 3, 8, 8]), paddle.randn([5, 3, 3, 3]), paddle.randn([5])
        >>> plain = F.conv2d(x, w, b, padding=1)
        >>> bool(paddle.allclose(conv2d_bias_channel(x, w, b), plain, atol=1e-5))
        True
    """
    n, _, h, w = x.shape
    k = weight.shape[-1]
    ones = paddle.ones([n, 1, h, w], dtype=x.dtype)
    # Paddle 3.3's double backward through concat fails ("empty GradSlotMeta") when
    # one input takes no gradient; this one's gradient is computed and dropped
    ones.stop_gradient = x.stop_gradient
    centre = F.pad(bias.reshape([-1, 1, 1, 1]), [k // 2] * 4)
    return F.conv2d(
        paddle.concat([x, ones], axis=1), paddle.concat([weight, centre], axis=1), padding=k // 2
    )


def mean_pool_kernel(weight: paddle.Tensor) -> paddle.Tensor:
    r"""The 4x4 kernel of a 3x3 convolution followed by 2x2 mean pooling:

    $$
    V_{m,n} = \tfrac14 \sum_{a,b \in \{0,1\}} W_{m-a,\,n-b} \qquad (W = 0 \text{ outside } 0..2)
    $$

    Examples:
        >>> import paddle
        >>> from ppsci_ext.arch.functional import mean_pool_kernel
        >>> mean_pool_kernel(paddle.ones([1, 1, 3, 3]))[0, 0].numpy().tolist()
        [[0.25, 0.5, 0.5, 0.25], [0.5, 1.0, 1.0, 0.5], [0.5, 1.0, 1.0, 0.5], [0.25, 0.5, 0.5, 0.25]]
    """
    # F.pad on [out, in, kh, kw] takes [left, right, top, bottom]
    shifted = [F.pad(weight, [b, 1 - b, a, 1 - a]) for a in (0, 1) for b in (0, 1)]
    return paddle.add_n(shifted) * 0.25


def conv_mean_pool(
    x: paddle.Tensor, weight: paddle.Tensor, bias: Optional[paddle.Tensor] = None
) -> paddle.Tensor:
    r"""``mean_pool_2x2(conv2d(x, weight, bias, padding=1))`` for a 3x3 ``weight``,
    computed as one convolution with stride 2:

    $$
    \tfrac14 \sum_{a,b} (W \star x)_{2i+a,\,2j+b} = (V \star_2 x)_{i,j}
    $$

    with $V$ = :func:`mean_pool_kernel` (``W``) and the same zero padding of 1.
    The official code's ``ConvMeanPool``.

    Examples:
        >>> import paddle, paddle.nn.functional as F
        >>> from ppsci_ext.arch.functional import conv_mean_pool
        >>> x, w, b = paddle.randn([2, 4, 8, 8]), paddle.randn([6, 4, 3, 3]), paddle.randn([6])
        >>> plain = F.avg_pool2d(F.conv2d(x, w, b, padding=1), 2, 2)
        >>> bool(paddle.allclose(conv_mean_pool(x, w, b), plain, atol=1e-5))
        True
    """
    y = F.conv2d(x, mean_pool_kernel(weight), stride=2, padding=1)
    return add_channel_bias(y, bias)


def upsample_kernel(weight: paddle.Tensor) -> paddle.Tensor:
    r"""The 4x4 transposed-convolution kernel (layout ``[in, out, 4, 4]``) of
    nearest-neighbour upsampling x2 followed by a 3x3 convolution (layout
    ``[out, in, 3, 3]``): per axis, with $w_{0..2}$ the 3x3 kernel's taps,

    $$
    v = (w_2,\; w_1 + w_2,\; w_0 + w_1,\; w_0),
    $$

    the taps of the convolution that land on the same low-resolution pixel, summed.

    Examples:
        >>> import paddle
        >>> from ppsci_ext.arch.functional import upsample_kernel
        >>> w = paddle.to_tensor([[[[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 2.0, 3.0]]]])
        >>> upsample_kernel(w)[0, 0, 0].numpy().tolist()  # v_0 = w_2 along the rows
        [3.0, 5.0, 3.0, 1.0]
    """
    flipped = paddle.flip(weight, axis=[2, 3])
    shifted = [F.pad(flipped, [b, 1 - b, a, 1 - a]) for a in (0, 1) for b in (0, 1)]
    return paddle.add_n(shifted).transpose([1, 0, 2, 3])


def upsample_conv(
    x: paddle.Tensor, weight: paddle.Tensor, bias: Optional[paddle.Tensor] = None
) -> paddle.Tensor:
    r"""``conv2d(upsample_nearest_x2(x), weight, bias, padding=1)`` for a 3x3
    ``weight``, computed as one transposed convolution with stride 2 on ``x``:

    $$
    \big(W \star \uparrow_2 x\big)_{q} = \sum_i x_i\, v_{q - 2i + 1}
    $$

    per axis, with $v$ = :func:`upsample_kernel` (``W``). The official code's
    ``UpsampleConv``.

    Examples:
        >>> import paddle, paddle.nn.functional as F
        >>> from ppsci_ext.arch.functional import upsample_conv
        >>> x, w, b = paddle.randn([2, 4, 5, 5]), paddle.randn([6, 4, 3, 3]), paddle.randn([6])
        >>> up = F.interpolate(x, scale_factor=2, mode="nearest")
        >>> plain = F.conv2d(up, w, b, padding=1)
        >>> bool(paddle.allclose(upsample_conv(x, w, b), plain, atol=1e-5))
        True
    """
    kernel = upsample_kernel(weight)
    if bias is not None:
        # The bias as a constant input channel (cheaper than adding it at the high
        # resolution): per axis, output pixel q reads the kernel's taps 1 (q even)
        # or 2 (q odd) exactly once, so the bias goes there and nowhere else.
        ones = paddle.ones([x.shape[0], 1, x.shape[2], x.shape[3]], dtype=x.dtype)
        ones.stop_gradient = x.stop_gradient  # see conv2d_bias_channel
        x = paddle.concat([x, ones], axis=1)
        taps = F.pad(bias.reshape([1, -1, 1, 1]).expand([1, bias.shape[0], 2, 2]), [1, 1, 1, 1])
        kernel = paddle.concat([kernel, taps], axis=0)
    return F.conv2d_transpose(x, kernel, stride=2, padding=1)
