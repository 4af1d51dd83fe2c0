r"""Generator and critic of the paper's CIFAR-10 ResNet (official gan_cifar_resnet.py).

Both networks are built from pre-activation residual blocks of ``dim`` channels
(128 in the paper) with 3x3 convolutions:

$$
\mathrm{block}(h) = \mathrm{shortcut}(h) + C_2\big(\mathrm{ReLU}(N_2(C_1(\mathrm{ReLU}(N_1(h)))))\big)
$$

- generator up-block: $C_1$ is nearest-neighbour upsampling x2 then a 3x3
  convolution, $C_2$ a 3x3 convolution, $N_1, N_2$ batch norm (conditional batch
  norm for a class-conditional generator), shortcut = upsampling x2 then a 1x1
  convolution;
- critic down-block: $C_1$ a 3x3 convolution, $C_2$ a 3x3 convolution then 2x2 mean
  pooling, shortcut = 1x1 convolution then 2x2 mean pooling, no normalisation;
- critic plain block: two 3x3 convolutions, identity shortcut, no normalisation.

Initialisation follows the official code: 3x3 convolutions uniform with standard
deviation $\sqrt{4/(\mathrm{fan_{in}} + \mathrm{fan_{out}})}$ (Xavier-uniform with gain
$\sqrt 2$), 1x1 shortcuts, the generator's output convolution and all linear layers
Glorot-uniform, biases zero, normalisation scales one and offsets zero.

``variant="paddlescience"`` exists only so that
:mod:`ppsci_ext.compat.paddlescience_cifar10` can reproduce the networks of
PaddleScience's WGAN-GP example from their published weights (tiled-channel
PixelShuffle instead of upsampling, conditional batch norm with running statistics,
a scalar normalisation in the critic's blocks). It is not the paper's network; do
not train with it.
"""

from __future__ import annotations

import math
from typing import Dict
from typing import Optional
from typing import Tuple

import paddle
import paddle.nn.functional as F
from paddle import nn

from ppsci_ext.arch.base import CriticArch
from ppsci_ext.arch.base import GeneratorArch
from ppsci_ext.arch.functional import add_channel_bias
from ppsci_ext.arch.functional import batch_standardize
from ppsci_ext.arch.functional import conv2d_bias_channel
from ppsci_ext.arch.functional import conv_mean_pool
from ppsci_ext.arch.functional import upsample_conv
from ppsci_ext.arch.layers import Linear

__all__ = [
    "ResNet32Generator",
    "ResNet32Critic",
    "ConditionalBatchNorm2D",
    "ScalarRunningNorm",
    "upsample_nearest",
    "upsample_tiled_pixel_shuffle",
    "mean_pool",
    "VARIANTS",
    "IMAGE_SIZES",
]

#: ``"paper"``: the official network; ``"paddlescience"``: PaddleScience's port, for
#: reading its published weights only.
VARIANTS = ("paper", "paddlescience")
#: image side -> number of generator up-blocks (= critic down-sampling steps)
IMAGE_SIZES = {32: 3, 64: 4}


def upsample_nearest(x: paddle.Tensor) -> paddle.Tensor:
    r"""Nearest-neighbour upsampling x2 of ``[N, C, H, W]``:
    $y_{c,2i+a,2j+b} = x_{c,i,j}$ for $a, b \in \{0, 1\}$.

    This is what the official code computes (four copies of the channels, then
    ``depth_to_space`` on NHWC). Written as a broadcast and a reshape, which Paddle
    runs about twice as fast as ``F.interpolate(mode="nearest")`` on CPU.

    Examples:
        >>> import paddle
        >>> from ppsci_ext.arch.resnet32 import upsample_nearest
        >>> upsample_nearest(paddle.to_tensor([[[[1.0, 2.0]]]])).numpy().tolist()
        [[[[1.0, 1.0, 2.0, 2.0], [1.0, 1.0, 2.0, 2.0]]]]
    """
    n, c, h, w = x.shape
    x = x.reshape([n, c, h, 1, w, 1]).expand([n, c, h, 2, w, 2])
    return x.reshape([n, c, 2 * h, 2 * w])


def upsample_tiled_pixel_shuffle(x: paddle.Tensor) -> paddle.Tensor:
    r"""PaddleScience's "upsampling": ``concat([x, x, x, x], axis=1)`` then
    ``PixelShuffle(2)`` on NCHW, so $y_{c,2i+a,2j+b} = x_{(4c+2a+b) \bmod C,\,i,j}$:
    every output channel interleaves four different input channels. Not
    nearest-neighbour upsampling; used only to read PaddleScience's weights.

    Examples:
        >>> import paddle
        >>> from ppsci_ext.arch.resnet32 import upsample_tiled_pixel_shuffle
        >>> x = paddle.to_tensor([[[[0.0]], [[1.0]]]])  # 2 channels, 1 x 1
        >>> upsample_tiled_pixel_shuffle(x)[0, 0].numpy().tolist()
        [[0.0, 1.0], [0.0, 1.0]]
    """
    return F.pixel_shuffle(paddle.concat([x, x, x, x], axis=1), 2)


def mean_pool(x: paddle.Tensor) -> paddle.Tensor:
    """2x2 mean pooling with stride 2 (the official ``ConvMeanPool`` /
    ``MeanPoolConv`` average of the four strided sub-grids).

    Examples:
        >>> import paddle
        >>> from ppsci_ext.arch.resnet32 import mean_pool
        >>> mean_pool(paddle.arange(16, dtype="float32").reshape([1, 1, 4, 4])).numpy().tolist()
        [[[[2.5, 4.5], [10.5, 12.5]]]]
    """
    return F.avg_pool2d(x, kernel_size=2, stride=2)


_UPSAMPLERS = {"paper": upsample_nearest, "paddlescience": upsample_tiled_pixel_shuffle}
#: Inputs with at most this many channels get a convolution's bias as a constant
#: input channel (cheaper than adding it to the output, measured at 3 channels).
_BIAS_CHANNEL_MAX_INPUTS = 4


def _conv(in_ch: int, out_ch: int, size: int, he_init: bool) -> nn.Conv2D:
    gain = math.sqrt(2.0) if he_init else 1.0
    return nn.Conv2D(
        in_ch,
        out_ch,
        size,
        padding=size // 2,
        weight_attr=paddle.ParamAttr(initializer=nn.initializer.XavierUniform(gain=gain)),
        bias_attr=paddle.ParamAttr(initializer=nn.initializer.Constant(0.0)),
    )


def _linear(in_dim: int, out_dim: int) -> nn.Linear:
    return Linear(
        in_dim,
        out_dim,
        weight_attr=paddle.ParamAttr(initializer=nn.initializer.XavierUniform()),
        bias_attr=paddle.ParamAttr(initializer=nn.initializer.Constant(0.0)),
    )


def _conv_bias(x: paddle.Tensor, conv: nn.Conv2D, bias: Optional[paddle.Tensor] = None) -> paddle.Tensor:
    """``conv`` (zero padding k // 2) applied to ``x``, plus ``bias`` (default: the
    layer's own): for inputs of few channels with the bias as a constant input
    channel, otherwise with one addition."""
    bias = conv.bias if bias is None else bias
    if x.shape[1] <= _BIAS_CHANNEL_MAX_INPUTS:
        return conv2d_bias_channel(x, conv.weight, bias)
    return add_channel_bias(F.conv2d(x, conv.weight, padding=conv.weight.shape[-1] // 2), bias)


def _check(name: str, value, valid) -> None:
    if value not in valid:
        raise ValueError(f"{name}={value!r} is not valid; valid: {', '.join(map(repr, valid))}")


def _check_channels(channels) -> None:
    if not (isinstance(channels, int) and not isinstance(channels, bool) and channels >= 1):
        raise ValueError(f"channels={channels!r} is not valid; valid: an integer >= 1")


class ConditionalBatchNorm2D(nn.Layer):
    r"""Conditional batch norm (Dumoulin et al. 2016): batch norm whose scale and
    offset are looked up by class label,

    $$
    y_{n,c} = \gamma_{y_n,c}\,\frac{x_{n,c} - \mu_c}{\sqrt{\sigma^2_c + \epsilon}} + \beta_{y_n,c},
    $$

    with $\mu_c, \sigma^2_c$ the mean and variance over batch and space.

    By default it does what the official ``tflib.ops.cond_batchnorm`` does: it keeps
    no running statistics and always normalises with the current batch's (biased)
    moments, in eval mode too. ``running_stats=True`` is PaddleScience's layer
    instead: buffers ``_mean``/``_variance`` updated in training with
    ``momentum`` from the unbiased variance (which it also normalises with), and
    used in eval mode.

    Args:
        num_classes (int): Number of classes (rows of ``scale`` and ``offset``).
        num_features (int): Number of channels.
        epsilon (float): Added to the variance. Defaults to 1e-5 (the official value).
        running_stats (bool): PaddleScience's running statistics. Defaults to False.
        momentum (float): Weight of the new batch in the running statistics.
            Defaults to 0.1.

    Examples:
        >>> import paddle
        >>> from ppsci_ext.arch.resnet32 import ConditionalBatchNorm2D
        >>> norm = ConditionalBatchNorm2D(10, 4)
        >>> y = norm(paddle.randn([8, 4, 5, 5]), paddle.arange(8))
        >>> list(y.shape), sorted(norm.state_dict())
        ([8, 4, 5, 5], ['offset', 'scale'])
    """

    def __init__(
        self,
        num_classes: int,
        num_features: int,
        epsilon: float = 1e-5,
        running_stats: bool = False,
        momentum: float = 0.1,
    ):
        super().__init__()
        self.epsilon = epsilon
        self.momentum = momentum
        self.running_stats = running_stats
        self.scale = self.create_parameter(
            [num_classes, num_features], default_initializer=nn.initializer.Constant(1.0)
        )
        self.offset = self.create_parameter(
            [num_classes, num_features], default_initializer=nn.initializer.Constant(0.0)
        )
        if running_stats:
            self.register_buffer("_mean", paddle.zeros([num_features]))
            self.register_buffer("_variance", paddle.ones([num_features]))

    def forward(self, x: paddle.Tensor, labels: paddle.Tensor) -> paddle.Tensor:
        c = x.shape[1]
        labels = labels.reshape([-1])
        # expanded to x's shape: Paddle's broadcasting multiply and add are slow on CPU
        scale = paddle.gather(self.scale, labels).reshape([-1, c, 1, 1]).expand(x.shape)
        offset = paddle.gather(self.offset, labels).reshape([-1, c, 1, 1]).expand(x.shape)
        if not self.running_stats:
            return batch_standardize(x, epsilon=self.epsilon) * scale + offset
        if self.training:
            mean = x.mean(axis=[0, 2, 3], keepdim=True)
            count = x.shape[0] * x.shape[2] * x.shape[3]
            var = (x - mean).square().sum(axis=[0, 2, 3], keepdim=True) / max(count - 1, 1)
            with paddle.no_grad():
                m = self.momentum
                paddle.assign((1 - m) * self._mean + m * mean.reshape([c]), self._mean)
                paddle.assign((1 - m) * self._variance + m * var.reshape([c]), self._variance)
        else:
            mean = self._mean.reshape([1, c, 1, 1])
            var = self._variance.reshape([1, c, 1, 1])
        return (x - mean) * paddle.rsqrt(var + self.epsilon) * scale + offset


class ScalarRunningNorm(nn.Layer):
    r"""PaddleScience's critic "layer norm": one scalar scale and offset, and in
    training each sample normalised by its own mean and unbiased variance over
    C, H, W; those are averaged over the batch into scalar running statistics
    (momentum 0.1) that eval mode uses for every sample:

    $$
    y = s\,\frac{x - m}{\sqrt{v + \epsilon}} + o .
    $$

    Used only to read PaddleScience's critic weights; the paper's critic has no
    normalisation.

    Examples:
        >>> import paddle
        >>> from ppsci_ext.arch.resnet32 import ScalarRunningNorm
        >>> sorted(ScalarRunningNorm().state_dict())
        ['_mean', '_variance', 'offset', 'scale']
    """

    def __init__(self, epsilon: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        self.epsilon = epsilon
        self.momentum = momentum
        self.scale = self.create_parameter([1], default_initializer=nn.initializer.Constant(1.0))
        self.offset = self.create_parameter([1], default_initializer=nn.initializer.Constant(0.0))
        self.register_buffer("_mean", paddle.zeros([1]))
        self.register_buffer("_variance", paddle.ones([1]))

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        if self.training:
            mean = x.mean(axis=[1, 2, 3], keepdim=True)
            count = x.shape[1] * x.shape[2] * x.shape[3]
            var = (x - mean).square().sum(axis=[1, 2, 3], keepdim=True) / max(count - 1, 1)
            with paddle.no_grad():
                m = self.momentum
                paddle.assign((1 - m) * self._mean + m * mean.mean().reshape([1]), self._mean)
                paddle.assign((1 - m) * self._variance + m * var.mean().reshape([1]), self._variance)
        else:
            mean, var = self._mean, self._variance
        return (x - mean) * paddle.rsqrt(var + self.epsilon) * self.scale + self.offset


class _UpBlock(nn.Layer):
    """Generator residual block: norm, ReLU, upsample, conv3x3, norm, ReLU, conv3x3;
    shortcut upsample then conv1x1 (the official ``UpsampleConv`` order).

    For the paper's nearest-neighbour upsampling the block computes the same thing in
    fewer operations (:mod:`ppsci_ext.arch.functional`): upsample-then-conv3x3 as one
    transposed convolution, the shortcut's conv1x1 before the upsampling (they
    commute), and both output biases in one addition."""

    def __init__(self, in_ch: int, out_ch: int, num_classes: int, variant: str):
        super().__init__()
        self.conditional = num_classes > 0
        self.variant = variant
        self.upsample = _UPSAMPLERS[variant]
        self.shortcut = _conv(in_ch, out_ch, 1, he_init=False)
        self.norm1 = self._norm(in_ch, num_classes, variant)
        self.conv1 = _conv(in_ch, out_ch, 3, he_init=True)
        self.norm2 = self._norm(out_ch, num_classes, variant)
        self.conv2 = _conv(out_ch, out_ch, 3, he_init=True)

    @staticmethod
    def _norm(channels: int, num_classes: int, variant: str) -> nn.Layer:
        if num_classes > 0:
            return ConditionalBatchNorm2D(
                num_classes, channels, running_stats=variant == "paddlescience"
            )
        return nn.BatchNorm2D(channels, momentum=0.9, epsilon=1e-5)

    def _normalise(self, norm: nn.Layer, x, labels):
        return norm(x, labels) if self.conditional else norm(x)

    def forward(self, x: paddle.Tensor, labels: Optional[paddle.Tensor]) -> paddle.Tensor:
        h = F.relu(self._normalise(self.norm1, x, labels))
        biases = self.shortcut.bias + self.conv2.bias  # of the block's output
        if self.variant == "paper":
            # the output biases go in at the low resolution, before the upsampling
            shortcut = upsample_nearest(add_channel_bias(F.conv2d(x, self.shortcut.weight), biases))
            h = upsample_conv(h, self.conv1.weight, self.conv1.bias)
        else:
            shortcut = add_channel_bias(F.conv2d(self.upsample(x), self.shortcut.weight), biases)
            h = add_channel_bias(F.conv2d(self.upsample(h), self.conv1.weight, padding=1), self.conv1.bias)
        h = F.relu(self._normalise(self.norm2, h, labels))
        return shortcut + F.conv2d(h, self.conv2.weight, padding=1)


class ResNet32Generator(GeneratorArch):
    r"""The paper's CIFAR-10 ResNet generator (``Generator`` in gan_cifar_resnet.py).

    $$
    h_0 = \mathrm{reshape}_{[d,4,4]}(W z + b),\quad
    h_k = \mathrm{UpBlock}_k(h_{k-1}),\quad
    G(z) = \tanh\big(\mathrm{conv}_{3\times3}(\mathrm{ReLU}(\mathrm{BN}(h_K)))\big)
    \in (-1, 1)^{C \times S \times S}
    $$

    with $K = 3$ up-blocks for $S = 32$ (4 -> 8 -> 16 -> 32) and $K = 4$ for
    $S = 64$. With ``num_classes > 0`` the blocks' batch norms become conditional
    batch norm (per-class scale and offset, :class:`ConditionalBatchNorm2D`) and
    the generator takes ``(z, label)``; the final batch norm stays unconditional,
    as in the official code.

    Batch statistics: the official code normalises every generator batch norm with
    the current batch's moments, also when drawing samples. Here the unconditional
    batch norms are Paddle ``BatchNorm2D`` (running statistics in eval mode) and the
    conditional ones keep none (batch moments in both modes), as the official
    conditional batch norm does.

    Args:
        input_keys (Optional[Tuple[str, ...]]): Noise key, and label key when
            conditional. Defaults to ("z",) or ("z", "label").
        output_keys (Tuple[str, ...]): Name of the images. Defaults to ("x",).
        noise_dim (int): Length of a noise vector. Defaults to 128.
        dim (int): Channels of every block (the paper's DIM_G). Defaults to 128.
        num_classes (int): 0 for unconditional, else the number of classes (10 for
            the paper's AC-WGAN-GP). Defaults to 0.
        image_size (int): 32 (the paper's) or 64 (one more up-block; not an official
            configuration). Defaults to 32.
        variant (str): "paper", or "paddlescience" which only the PaddleScience
            checkpoint loader sets. Defaults to "paper".
        channels (int): Channels $C$ of the images: 3 (colour, the paper's), 1
            (grey), or any count of fields on a grid. Defaults to 3.

    Examples:
        >>> import paddle
        >>> from ppsci_ext.arch import ResNet32Generator
        >>> gen = ResNet32Generator(dim=16)
        >>> list(gen({"z": paddle.randn([2, 128])})["x"].shape)
        [2, 3, 32, 32]
        >>> cond = ResNet32Generator(dim=16, num_classes=10)
        >>> cond.input_keys
        ('z', 'label')
        >>> out = cond({"z": paddle.randn([2, 128]), "label": paddle.to_tensor([3, 7])})
        >>> list(out["x"].shape)
        [2, 3, 32, 32]
        >>> grey = ResNet32Generator(dim=16, image_size=64, channels=1)
        >>> list(grey({"z": paddle.randn([2, 128])})["x"].shape)
        [2, 1, 64, 64]
    """

    def __init__(
        self,
        input_keys: Optional[Tuple[str, ...]] = None,
        output_keys: Tuple[str, ...] = ("x",),
        noise_dim: int = 128,
        dim: int = 128,
        num_classes: int = 0,
        image_size: int = 32,
        variant: str = "paper",
        channels: int = 3,
    ):
        super().__init__()
        _check("image_size", image_size, tuple(IMAGE_SIZES))
        _check("variant", variant, VARIANTS)
        _check_channels(channels)
        if input_keys is None:
            input_keys = ("z", "label") if num_classes > 0 else ("z",)
        if len(input_keys) != (2 if num_classes > 0 else 1):
            raise ValueError(
                f"input_keys={tuple(input_keys)!r}: give one key (noise) for an "
                "unconditional generator, two (noise, label) for a conditional one"
            )
        self.input_keys = tuple(input_keys)
        self.output_keys = tuple(output_keys)
        self.noise_dim = noise_dim
        self.dim = dim
        self.num_classes = num_classes
        self.image_size = image_size
        self.variant = variant
        self.channels = channels
        self.sample_shape = (channels, image_size, image_size)
        self.linear = _linear(noise_dim, 4 * 4 * dim)
        self.blocks = nn.LayerList(
            [_UpBlock(dim, dim, num_classes, variant) for _ in range(IMAGE_SIZES[image_size])]
        )
        self.out_norm = nn.BatchNorm2D(dim, momentum=0.9, epsilon=1e-5)
        self.out_conv = _conv(dim, channels, 3, he_init=False)

    def _generate(self, d: Dict[str, paddle.Tensor]) -> Dict[str, paddle.Tensor]:
        labels = d[self.input_keys[1]] if self.num_classes > 0 else None
        h = self.linear(d[self.input_keys[0]]).reshape([-1, self.dim, 4, 4])
        for block in self.blocks:
            h = block(h, labels)
        h = F.conv2d(F.relu(self.out_norm(h)), self.out_conv.weight, padding=1)
        h = add_channel_bias(h, self.out_conv.bias)
        return {self.output_keys[0]: paddle.tanh(h)}

    def forward(self, x: Dict[str, paddle.Tensor]) -> Dict[str, paddle.Tensor]:
        return self._run(x, self._generate)


class _OptimizedBlock(nn.Layer):
    """The critic's first block: conv3x3, ReLU, conv3x3, mean pool; shortcut mean
    pool then conv1x1 (official ``OptimizedResBlockDisc1``).

    Computed as conv3x3 with its bias as a constant input channel (the input has
    few channels), conv3x3-then-pool as one stride-2 convolution, and the
    shortcut's bias and the second convolution's bias together as a constant
    channel of the pooled input (:mod:`ppsci_ext.arch.functional`)."""

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.shortcut = _conv(in_ch, out_ch, 1, he_init=False)
        self.conv1 = _conv(in_ch, out_ch, 3, he_init=True)
        self.conv2 = _conv(out_ch, out_ch, 3, he_init=True)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        h = conv_mean_pool(F.relu(_conv_bias(x, self.conv1)), self.conv2.weight)
        biases = self.shortcut.bias + self.conv2.bias
        return _conv_bias(mean_pool(x), self.shortcut, biases) + h


class _CriticBlock(nn.Layer):
    """Critic residual block without normalisation (unless PaddleScience's variant):
    down-block = ReLU, conv3x3, ReLU, conv3x3, mean pool with shortcut conv1x1 then
    mean pool (official ``ConvMeanPool``); plain block = ReLU, conv3x3, ReLU, conv3x3
    with an identity shortcut.

    A down-block computes conv3x3-then-pool as one stride-2 convolution and pools
    before its shortcut's conv1x1 (they commute); the output biases are added once
    (:mod:`ppsci_ext.arch.functional`)."""

    def __init__(self, dim: int, down: bool, variant: str):
        super().__init__()
        self.down = down
        if down:
            self.shortcut = _conv(dim, dim, 1, he_init=False)
        self.conv1 = _conv(dim, dim, 3, he_init=True)
        self.conv2 = _conv(dim, dim, 3, he_init=True)
        if variant == "paddlescience":
            self.norm1 = ScalarRunningNorm()
            self.norm2 = ScalarRunningNorm()
        else:
            self.norm1 = self.norm2 = None

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        h = x if self.norm1 is None else self.norm1(x)
        h = _conv_bias(F.relu(h), self.conv1)
        h = h if self.norm2 is None else self.norm2(h)
        h = F.relu(h)
        if self.down:
            h = conv_mean_pool(h, self.conv2.weight) + F.conv2d(mean_pool(x), self.shortcut.weight)
            return add_channel_bias(h, self.shortcut.bias + self.conv2.bias)
        return add_channel_bias(x + F.conv2d(h, self.conv2.weight, padding=1), self.conv2.bias)


class ResNet32Critic(CriticArch):
    r"""The paper's CIFAR-10 ResNet critic (``Discriminator`` in gan_cifar_resnet.py),
    with no normalisation (the gradient penalty is per sample).

    $$
    h = \mathrm{Plain}_2\,\mathrm{Plain}_1\,\mathrm{Down}\,\mathrm{Opt}(x),\quad
    f = \frac{1}{HW}\sum_{i,j} \mathrm{ReLU}(h)_{:,i,j},\quad
    D(x) = w^\top f + b,\quad \mathrm{logits}(x) = V f + c
    $$

    32 x 32 inputs go 32 -> 16 (optimised first block) -> 8 (down-block) -> 8 -> 8
    (plain blocks); 64 x 64 inputs get one more down-block. The auxiliary
    classifier head (``logits``, AC-WGAN-GP) exists when ``num_classes > 0``.
    Inputs may be ``[N, C, S, S]`` or flattened ``[N, C*S*S]`` (C = ``channels``).

    Args:
        input_keys (Tuple[str, ...]): Name of the images. Defaults to ("x",).
        output_keys (Optional[Tuple[str, ...]]): Score key, and logits key with an
            AC head. Defaults to ("score",) or ("score", "logits").
        dim (int): Channels of every block (the paper's DIM_D). Defaults to 128.
        num_classes (int): Size of the AC head; 0 for none. Defaults to 0.
        image_size (int): 32 or 64. Defaults to 32.
        variant (str): "paper", or "paddlescience" which only the PaddleScience
            checkpoint loader sets. Defaults to "paper".
        channels (int): Channels of the images (3 colour, 1 grey, or any count of
            fields). Defaults to 3.

    Examples:
        >>> import paddle
        >>> from ppsci_ext.arch import ResNet32Critic
        >>> critic = ResNet32Critic(dim=16, num_classes=10)
        >>> out = critic({"x": paddle.randn([2, 3, 32, 32])})
        >>> list(out["score"].shape), list(out["logits"].shape)
        ([2, 1], [2, 10])
    """

    def __init__(
        self,
        input_keys: Tuple[str, ...] = ("x",),
        output_keys: Optional[Tuple[str, ...]] = None,
        dim: int = 128,
        num_classes: int = 0,
        image_size: int = 32,
        variant: str = "paper",
        channels: int = 3,
    ):
        super().__init__()
        _check("image_size", image_size, tuple(IMAGE_SIZES))
        _check("variant", variant, VARIANTS)
        _check_channels(channels)
        if output_keys is None:
            output_keys = ("score", "logits") if num_classes > 0 else ("score",)
        if len(output_keys) != (2 if num_classes > 0 else 1):
            raise ValueError(
                f"output_keys={tuple(output_keys)!r}: give one key (score), or two "
                "(score, logits) for a critic with an auxiliary classifier"
            )
        self.input_keys = tuple(input_keys)
        self.output_keys = tuple(output_keys)
        self.dim = dim
        self.num_classes = num_classes
        self.image_size = image_size
        self.variant = variant
        self.channels = channels
        self.block0 = _OptimizedBlock(channels, dim)
        downs = IMAGE_SIZES[image_size] - 2  # the first block already halves the size
        self.blocks = nn.LayerList(
            [_CriticBlock(dim, True, variant) for _ in range(downs)]
            + [_CriticBlock(dim, False, variant) for _ in range(2)]
        )
        self.score = _linear(dim, 1)
        self.classifier = _linear(dim, num_classes) if num_classes > 0 else None

    def _criticise(self, d: Dict[str, paddle.Tensor]) -> Dict[str, paddle.Tensor]:
        x = d[self.input_keys[0]]
        if x.ndim == 2:
            x = x.reshape([-1, self.channels, self.image_size, self.image_size])
        h = self.block0(x)
        for block in self.blocks:
            h = block(h)
        features = F.relu(h).mean(axis=[2, 3])
        out = {self.output_keys[0]: self.score(features)}
        if self.classifier is not None:
            out[self.output_keys[1]] = self.classifier(features)
        return out

    def forward(self, x: Dict[str, paddle.Tensor]) -> Dict[str, paddle.Tensor]:
        return self._run(x, self._criticise)
