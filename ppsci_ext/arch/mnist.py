r"""Generator and critic of the paper's MNIST experiment (official ``gan_mnist.py``,
``DIM = 64``), without batch norm in either network (the official WGAN-GP setting;
the generator's batch norms of the official code's other modes are an option).

Both follow the official TensorFlow code's geometry. Its 5x5 stride-2 convolutions
use TensorFlow's ``"SAME"`` padding: going from size $2H$ to $H$ pads 1 row and column
before and 2 after (3 in all; the odd one goes after), except $7 \to 4$, which pads
2 and 2. Its transposed convolutions are exactly the transposes of those: from $H$
to $2H$ they keep rows $1 \dots 2H$ of the full transposed convolution (whose
length is $2(H - 1) + 5 = 2H + 3$), i.e. padding 1 before and 2 after. Paddle's
``conv2d_transpose`` with ``padding=[1, 2, 1, 2]`` computes that, which gives the
official sizes $4 \to 8$ (cropped to 7), $7 \to 14$ and $14 \to 28$.

Initialisation follows the official ``tflib``: linear weights Glorot-uniform,
convolution filters uniform with standard deviation $\sqrt{4 / (f_\text{in} + f_\text{out})}$
(its "He" setting, where the fan on the stride-2 side is divided by 4), biases zero.
"""

from __future__ import annotations

import math
from typing import Any
from typing import Dict
from typing import Tuple

import paddle
import paddle.nn.functional as F
from paddle import nn

from ppsci_ext.arch.base import CriticArch
from ppsci_ext.arch.base import GeneratorArch
from ppsci_ext.arch.functional import add_channel_bias
from ppsci_ext.arch.layers import Linear
from ppsci_ext.arch.layers import StandingBatchNorm2D

__all__ = ["MnistGenerator", "MnistCritic"]

_KERNEL = 5
_STRIDE = 2
#: Rows (and columns) that a 5x5 stride-2 "SAME" transposed convolution drops from
#: the 2H + 3 of the full result: this many before, 3 minus this many after.
_TF_PAD_BEFORE = 1
#: PaddleScience's second transposed convolution (``padding="same"`` with
#: ``output_padding=1`` on a 7x7 input) drops 2 before and 1 after instead.
_PADDLESCIENCE_PAD_BEFORE = 2


def _he_uniform(fan_in: float, fan_out: float) -> nn.initializer.Uniform:
    bound = math.sqrt(3.0) * math.sqrt(4.0 / (fan_in + fan_out))
    return nn.initializer.Uniform(-bound, bound)


class _Deconv5x5(nn.Layer):
    """5x5 stride-2 transposed convolution from H x W to 2H x 2W that keeps rows and
    columns ``pad_before .. pad_before + 2H - 1`` of the full result.

    The weight has Paddle's transposed-convolution layout ``[in, out, 5, 5]``.
    """

    def __init__(self, in_channels: int, out_channels: int, pad_before: int = _TF_PAD_BEFORE):
        super().__init__()
        fan_in = in_channels * _KERNEL**2 / _STRIDE**2
        fan_out = out_channels * _KERNEL**2
        self.weight = self.create_parameter(
            [in_channels, out_channels, _KERNEL, _KERNEL],
            default_initializer=_he_uniform(fan_in, fan_out),
        )
        self.bias = self.create_parameter(
            [out_channels], is_bias=True, default_initializer=nn.initializer.Constant(0.0)
        )
        self.pad_before = pad_before

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        before, after = self.pad_before, _KERNEL - _STRIDE - self.pad_before
        y = F.conv2d_transpose(
            x, self.weight, stride=_STRIDE, padding=[before, after, before, after]
        )
        return add_channel_bias(y, self.bias)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]}, {self.weight.shape[1]}, kernel_size=5, stride=2, pad_before={self.pad_before}"


class MnistGenerator(GeneratorArch):
    r"""Official WGAN-GP MNIST generator: noise to 1 x 28 x 28 images in (0, 1).

    With $d$ = ``dim``, $z \sim \mathcal{N}(0, I_{128})$ and $T_k$ the 5x5 stride-2
    transposed convolutions (TensorFlow "SAME" geometry, see the module docstring):

    $$
    \begin{aligned}
    h_1 &= \mathrm{reshape}_{4d \times 4 \times 4}\big(\mathrm{ReLU}(W z + b)\big) \\
    h_2 &= \mathrm{ReLU}(T_1 h_1)_{[:, :7, :7]} && 4d \times 4 \times 4 \to 2d \times 8 \times 8 \to 2d \times 7 \times 7 \\
    h_3 &= \mathrm{ReLU}(T_2 h_2) && \to d \times 14 \times 14 \\
    G(z) &= \sigma(T_3 h_3) && \to 1 \times 28 \times 28
    \end{aligned}
    $$

    With ``batch_norm`` each ReLU's input is batch-normalised first (per channel,
    over the batch and the pixels; in eval mode with standing statistics:
    :class:`~ppsci_ext.arch.layers.StandingBatchNorm2D`), as the official code does in
    its non-penalty modes; the critic never has batch norm, which would break the
    penalty's per-sample gradients.

    Args:
        input_keys (Tuple[str, ...]): Name of the noise input. Defaults to ("z",).
        output_keys (Tuple[str, ...]): Name of the images. Defaults to ("x",).
        noise_dim (int): Length of a noise vector. Defaults to 128 (the official).
        dim (int): Base width $d$. Defaults to 64 (the official ``DIM``).
        paddlescience_padding (bool): Compute what PaddleScience's
            ``WganGpMnistGenerator`` computes: its second transposed convolution
            (``padding="same"``, ``output_padding=1``) keeps rows 2..15 of the full
            result instead of the official 1..14, shifting that layer's output by one
            pixel. Only for weights in PaddleScience's layout: the compat loader
            (:func:`ppsci_ext.compat.paddlescience_mnist.adapt`) builds the network
            with it; leave it False otherwise. Defaults to False.
        batch_norm (bool): Batch norm before each ReLU; eval mode needs
            :meth:`refresh_standing_statistics` after the weights change (the
            trainer does it). Defaults to False (the official WGAN-GP generator).

    Examples:
        >>> import paddle
        >>> from ppsci_ext.arch import MnistGenerator
        >>> model = MnistGenerator()
        >>> x = model({"z": paddle.randn([4, 128])})["x"]
        >>> list(x.shape)
        [4, 1, 28, 28]
        >>> bool(x.min() > 0) and bool(x.max() < 1)
        True
    """

    def __init__(
        self,
        input_keys: Tuple[str, ...] = ("z",),
        output_keys: Tuple[str, ...] = ("x",),
        noise_dim: int = 128,
        dim: int = 64,
        paddlescience_padding: bool = False,
        batch_norm: bool = False,
    ):
        super().__init__()
        self.input_keys = tuple(input_keys)
        self.output_keys = tuple(output_keys)
        self.noise_dim = noise_dim
        self.dim = dim
        self.batch_norm = bool(batch_norm)
        self.sample_shape = (1, 28, 28)
        self.linear = Linear(
            noise_dim, 4 * 4 * 4 * dim, weight_attr=nn.initializer.XavierUniform(),
            bias_attr=nn.initializer.Constant(0.0),
        )
        self.paddlescience_padding = bool(paddlescience_padding)
        self.deconv1 = _Deconv5x5(4 * dim, 2 * dim)
        self.deconv2 = _Deconv5x5(
            2 * dim, dim, _PADDLESCIENCE_PAD_BEFORE if paddlescience_padding else _TF_PAD_BEFORE
        )
        self.deconv3 = _Deconv5x5(dim, 1)
        # without batch norm the norms are identities (no parameters: the state dict
        # stays the official network's)
        norm = StandingBatchNorm2D if self.batch_norm else (lambda channels: nn.Identity())
        self.norm1, self.norm2, self.norm3 = norm(4 * dim), norm(2 * dim), norm(dim)

    @staticmethod
    def settings_in(state: Dict[str, Any]) -> Dict[str, Any]:
        """The ``noise_dim``, ``dim`` and ``batch_norm`` a state dict (this class's
        names) was saved with, read off its shapes and names; empty when the names
        are not this class's.

        Examples:
            >>> from ppsci_ext.arch import MnistGenerator
            >>> MnistGenerator.settings_in(MnistGenerator(noise_dim=8, dim=4).state_dict())
            {'noise_dim': 8, 'dim': 4, 'batch_norm': False}
        """
        if "linear.weight" not in state or "deconv3.weight" not in state:
            return {}
        return {"noise_dim": int(state["linear.weight"].shape[0]),
                "dim": int(state["deconv3.weight"].shape[0]),
                "batch_norm": "norm1.weight" in state}

    def _generate(self, z: paddle.Tensor) -> paddle.Tensor:
        h = self.linear(z).reshape([-1, 4 * self.dim, 4, 4])
        h = F.relu(self.norm1(h))
        h = F.relu(self.norm2(self.deconv1(h)[:, :, :7, :7]))
        h = F.relu(self.norm3(self.deconv2(h)))
        return F.sigmoid(self.deconv3(h))

    def forward(self, x: Dict[str, paddle.Tensor]) -> Dict[str, paddle.Tensor]:
        return self._run(x, lambda d: {self.output_keys[0]: self._generate(d[self.input_keys[0]])})


class MnistCritic(CriticArch):
    r"""Official WGAN-GP MNIST critic: one unbounded score per image, no normalisation.

    With $d$ = ``dim``, $C_k$ 5x5 stride-2 convolutions with TensorFlow "SAME"
    padding and $\phi(t) = \max(t, \alpha t)$ (LeakyReLU, $\alpha$ = ``negative_slope``):

    $$
    D(x) = w^\top \mathrm{flatten}\Big(\phi\big(C_3\,\phi(C_2\,\phi(C_1 x))\big)\Big) + b,
    \qquad 1 \times 28^2 \to d \times 14^2 \to 2d \times 7^2 \to 4d \times 4^2 \to 1
    $$

    Inputs may be ``[N, 1, 28, 28]`` or flattened ``[N, 784]``; the output is ``[N, 1]``.

    Args:
        input_keys (Tuple[str, ...]): Name of the images. Defaults to ("x",).
        output_keys (Tuple[str, ...]): Name of the scores. Defaults to ("score",).
        dim (int): Base width $d$. Defaults to 64.
        negative_slope (float): $\alpha$. Defaults to 0.2 (the official). The
            compat loader (:func:`ppsci_ext.compat.paddlescience_mnist.adapt`)
            builds the network with 0.01 (Paddle's default, which PaddleScience's
            ``WganGpMnistDiscriminator`` uses) for weights in that layout.

    Examples:
        >>> import paddle
        >>> from ppsci_ext.arch import MnistCritic
        >>> model = MnistCritic()
        >>> list(model({"x": paddle.rand([4, 1, 28, 28])})["score"].shape)
        [4, 1]
    """

    def __init__(
        self,
        input_keys: Tuple[str, ...] = ("x",),
        output_keys: Tuple[str, ...] = ("score",),
        dim: int = 64,
        negative_slope: float = 0.2,
    ):
        super().__init__()
        self.input_keys = tuple(input_keys)
        self.output_keys = tuple(output_keys)
        self.dim = dim
        self.negative_slope = negative_slope
        channels = (1, dim, 2 * dim, 4 * dim)
        for i in range(3):
            c_in, c_out = channels[i], channels[i + 1]
            conv = nn.Conv2D(
                c_in, c_out, _KERNEL, stride=_STRIDE, padding="SAME",
                weight_attr=_he_uniform(c_in * _KERNEL**2, c_out * _KERNEL**2 / _STRIDE**2),
                bias_attr=nn.initializer.Constant(0.0),
            )
            setattr(self, f"conv{i + 1}", conv)
        self.linear = Linear(
            4 * 4 * 4 * dim, 1, weight_attr=nn.initializer.XavierUniform(),
            bias_attr=nn.initializer.Constant(0.0),
        )

    @staticmethod
    def settings_in(state: Dict[str, Any]) -> Dict[str, int]:
        """The ``dim`` a state dict (this class's names) was saved from, read off its
        shapes; empty when the names are not this class's.

        Examples:
            >>> from ppsci_ext.arch import MnistCritic
            >>> MnistCritic.settings_in(MnistCritic(dim=4).state_dict())
            {'dim': 4}
        """
        if "conv1.weight" not in state:
            return {}
        return {"dim": int(state["conv1.weight"].shape[0])}

    def _score(self, x: paddle.Tensor) -> paddle.Tensor:
        h = x.reshape([-1, 1, 28, 28])
        for conv in (self.conv1, self.conv2, self.conv3):
            h = F.conv2d(h, conv.weight, stride=_STRIDE, padding="SAME")
            h = F.leaky_relu(add_channel_bias(h, conv.bias), self.negative_slope)
        # reshape, not flatten: Paddle 3.3 has no double grad for flatten, which the
        # penalty needs
        return self.linear(h.reshape([h.shape[0], -1]))

    def forward(self, x: Dict[str, paddle.Tensor]) -> Dict[str, paddle.Tensor]:
        return self._run(x, lambda d: {self.output_keys[0]: self._score(d[self.input_keys[0]])})
