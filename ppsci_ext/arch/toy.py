"""Generator and critic of the paper's 2-D toy experiments (official gan_toy.py):
multi-layer perceptrons with ``num_layers`` hidden layers of ``hidden_dim`` units and
ReLU, no normalisation."""

from __future__ import annotations

from typing import Dict
from typing import Tuple

import paddle
from paddle import nn

from ppsci_ext.arch.base import CriticArch
from ppsci_ext.arch.base import GeneratorArch


def _relu_mlp(in_dim: int, hidden_dim: int, num_layers: int, out_dim: int) -> nn.Sequential:
    layers = []
    for i in range(num_layers):
        layers += [nn.Linear(in_dim if i == 0 else hidden_dim, hidden_dim), nn.ReLU()]
    layers.append(nn.Linear(hidden_dim, out_dim))
    return nn.Sequential(*layers)


class ToyGenerator(GeneratorArch):
    r"""MLP generator for 2-D toy data.

    $$
    G(z) = W_{L+1}\,\mathrm{ReLU}(\cdots \mathrm{ReLU}(W_1 z + b_1) \cdots) + b_{L+1},
    \quad z \sim \mathcal{N}(0, I_{d_z})
    $$

    Args:
        input_keys (Tuple[str, ...]): Name of the noise input. Defaults to ("z",).
        output_keys (Tuple[str, ...]): Name of the generated samples. Defaults to ("x",).
        noise_dim (int): Length of a noise vector. Defaults to 2 (the paper's).
        data_dim (int): Dimension of a sample. Defaults to 2.
        hidden_dim (int): Width of the hidden layers. Defaults to 512.
        num_layers (int): Number of hidden layers. Defaults to 3.

    Examples:
        >>> import paddle
        >>> from ppsci_ext.arch import ToyGenerator
        >>> model = ToyGenerator()
        >>> out = model({"z": paddle.randn([16, 2])})
        >>> list(out["x"].shape)
        [16, 2]
    """

    def __init__(
        self,
        input_keys: Tuple[str, ...] = ("z",),
        output_keys: Tuple[str, ...] = ("x",),
        noise_dim: int = 2,
        data_dim: int = 2,
        hidden_dim: int = 512,
        num_layers: int = 3,
    ):
        super().__init__()
        self.input_keys = tuple(input_keys)
        self.output_keys = tuple(output_keys)
        self.noise_dim = noise_dim
        self.sample_shape = (data_dim,)
        self.net = _relu_mlp(noise_dim, hidden_dim, num_layers, data_dim)

    def forward(self, x: Dict[str, paddle.Tensor]) -> Dict[str, paddle.Tensor]:
        return self._run(x, lambda d: {self.output_keys[0]: self.net(d[self.input_keys[0]])})


class ToyCritic(CriticArch):
    r"""MLP critic for 2-D toy data: one unbounded score per point.

    $$
    D(x) = w_{L+1}^\top\,\mathrm{ReLU}(\cdots \mathrm{ReLU}(W_1 x + b_1) \cdots) + b_{L+1}
    $$

    Args:
        input_keys (Tuple[str, ...]): Name of the samples. Defaults to ("x",).
        output_keys (Tuple[str, ...]): Name of the scores. Defaults to ("score",).
        data_dim (int): Dimension of a sample. Defaults to 2.
        hidden_dim (int): Width of the hidden layers. Defaults to 512.
        num_layers (int): Number of hidden layers. Defaults to 3.

    Examples:
        >>> import paddle
        >>> from ppsci_ext.arch import ToyCritic
        >>> model = ToyCritic()
        >>> list(model({"x": paddle.randn([16, 2])})["score"].shape)
        [16, 1]
    """

    def __init__(
        self,
        input_keys: Tuple[str, ...] = ("x",),
        output_keys: Tuple[str, ...] = ("score",),
        data_dim: int = 2,
        hidden_dim: int = 512,
        num_layers: int = 3,
    ):
        super().__init__()
        self.input_keys = tuple(input_keys)
        self.output_keys = tuple(output_keys)
        self.net = _relu_mlp(data_dim, hidden_dim, num_layers, 1)

    def forward(self, x: Dict[str, paddle.Tensor]) -> Dict[str, paddle.Tensor]:
        return self._run(x, lambda d: {self.output_keys[0]: self.net(d[self.input_keys[0]])})
