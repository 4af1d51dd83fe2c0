"""Generator and critic of the paper's 2-D toy experiments (official gan_toy.py):
multi-layer perceptrons with ``num_layers`` hidden layers of ``hidden_dim`` units and
ReLU, no normalisation.

The same pair serves vectors of any width (``data_dim``) and, with ``num_classes > 0``,
the AC-WGAN-GP variant: the generator reads a one-hot class next to its noise and the
critic has a second head of class logits on its last hidden layer."""

from __future__ import annotations

from typing import Dict
from typing import Optional
from typing import Tuple

import paddle
import paddle.nn.functional as F
from paddle import nn

from ppsci_ext.arch.base import CriticArch
from ppsci_ext.arch.base import GeneratorArch
from ppsci_ext.arch.layers import Linear


def _relu_mlp(in_dim: int, hidden_dim: int, num_layers: int, out_dim: int) -> nn.Sequential:
    layers = []
    for i in range(num_layers):
        layers += [Linear(in_dim if i == 0 else hidden_dim, hidden_dim), nn.ReLU()]
    layers.append(Linear(hidden_dim, out_dim))
    return nn.Sequential(*layers)


def _keys(keys, num_classes: int, single: Tuple[str, ...], pair: Tuple[str, ...], what: str):
    """Default keys by ``num_classes``, and a clear error for a count that does not fit."""
    if keys is None:
        return pair if num_classes > 0 else single
    if len(keys) != (2 if num_classes > 0 else 1):
        raise ValueError(
            f"{what}={tuple(keys)!r}: give one key, or two {pair} with num_classes > 0"
        )
    return tuple(keys)


class ToyGenerator(GeneratorArch):
    r"""MLP generator for 2-D toy data, or vectors of any width.

    $$
    G(z) = W_{L+1}\,\mathrm{ReLU}(\cdots \mathrm{ReLU}(W_1 z + b_1) \cdots) + b_{L+1},
    \quad z \sim \mathcal{N}(0, I_{d_z})
    $$

    A conditional generator (``num_classes`` $K > 0$) reads $[z, \mathrm{onehot}_K(y)]$
    instead of $z$.

    Args:
        input_keys (Optional[Tuple[str, ...]]): Name of the noise input, and of the
            class labels when conditional. Defaults to ("z",) or ("z", "label").
        output_keys (Tuple[str, ...]): Name of the generated samples. Defaults to ("x",).
        noise_dim (int): Length of a noise vector. Defaults to 2 (the paper's).
        data_dim (int): Dimension of a sample. Defaults to 2.
        hidden_dim (int): Width of the hidden layers. Defaults to 512.
        num_layers (int): Number of hidden layers. Defaults to 3.
        num_classes (int): 0 for unconditional, else the number of classes.
            Defaults to 0.

    Examples:
        >>> import paddle
        >>> from ppsci_ext.arch import ToyGenerator
        >>> model = ToyGenerator()
        >>> out = model({"z": paddle.randn([16, 2])})
        >>> list(out["x"].shape)
        [16, 2]
        >>> cond = ToyGenerator(noise_dim=8, data_dim=13, hidden_dim=32, num_classes=3)
        >>> out = cond({"z": paddle.randn([4, 8]), "label": paddle.to_tensor([0, 1, 2, 2])})
        >>> cond.input_keys, list(out["x"].shape)
        (('z', 'label'), [4, 13])
    """

    def __init__(
        self,
        input_keys: Optional[Tuple[str, ...]] = None,
        output_keys: Tuple[str, ...] = ("x",),
        noise_dim: int = 2,
        data_dim: int = 2,
        hidden_dim: int = 512,
        num_layers: int = 3,
        num_classes: int = 0,
    ):
        super().__init__()
        self.input_keys = _keys(input_keys, num_classes, ("z",), ("z", "label"), "input_keys")
        self.output_keys = tuple(output_keys)
        self.noise_dim = noise_dim
        self.num_classes = num_classes
        self.sample_shape = (data_dim,)
        self.net = _relu_mlp(noise_dim + num_classes, hidden_dim, num_layers, data_dim)

    def _generate(self, d: Dict[str, paddle.Tensor]) -> Dict[str, paddle.Tensor]:
        z = d[self.input_keys[0]]
        if self.num_classes > 0:
            labels = d[self.input_keys[1]].reshape([-1]).astype("int64")
            z = paddle.concat([z, F.one_hot(labels, self.num_classes).astype(z.dtype)], axis=1)
        return {self.output_keys[0]: self.net(z)}

    def forward(self, x: Dict[str, paddle.Tensor]) -> Dict[str, paddle.Tensor]:
        return self._run(x, self._generate)


class ToyCritic(CriticArch):
    r"""MLP critic for 2-D toy data, or vectors of any width: one unbounded score
    per point.

    $$
    h = \mathrm{ReLU}(\cdots \mathrm{ReLU}(W_1 x + b_1) \cdots),\quad
    D(x) = w_{L+1}^\top h + b_{L+1}
    $$

    With ``num_classes`` $K > 0$ an auxiliary classifier head gives class logits
    $V h + c \in \mathbb{R}^K$ from the same last hidden layer (AC-WGAN-GP).

    Args:
        input_keys (Tuple[str, ...]): Name of the samples. Defaults to ("x",).
        output_keys (Optional[Tuple[str, ...]]): Name of the scores, and of the class
            logits with an AC head. Defaults to ("score",) or ("score", "logits").
        data_dim (int): Dimension of a sample. Defaults to 2.
        hidden_dim (int): Width of the hidden layers. Defaults to 512.
        num_layers (int): Number of hidden layers. Defaults to 3.
        num_classes (int): Size of the AC head; 0 for none. Defaults to 0.

    Examples:
        >>> import paddle
        >>> from ppsci_ext.arch import ToyCritic
        >>> model = ToyCritic()
        >>> list(model({"x": paddle.randn([16, 2])})["score"].shape)
        [16, 1]
        >>> ac = ToyCritic(data_dim=13, hidden_dim=32, num_classes=3)
        >>> out = ac({"x": paddle.randn([4, 13])})
        >>> list(out["score"].shape), list(out["logits"].shape)
        ([4, 1], [4, 3])
    """

    def __init__(
        self,
        input_keys: Tuple[str, ...] = ("x",),
        output_keys: Optional[Tuple[str, ...]] = None,
        data_dim: int = 2,
        hidden_dim: int = 512,
        num_layers: int = 3,
        num_classes: int = 0,
    ):
        super().__init__()
        self.input_keys = tuple(input_keys)
        self.output_keys = _keys(output_keys, num_classes, ("score",), ("score", "logits"),
                                 "output_keys")
        self.num_classes = num_classes
        self.net = _relu_mlp(data_dim, hidden_dim, num_layers, 1)
        # the AC head shares the score head's input, the last hidden layer
        self.classifier = Linear(hidden_dim, num_classes) if num_classes > 0 else None

    def _criticise(self, d: Dict[str, paddle.Tensor]) -> Dict[str, paddle.Tensor]:
        x = d[self.input_keys[0]]
        if self.classifier is None:
            return {self.output_keys[0]: self.net(x)}
        *hidden, score = list(self.net.children())
        for layer in hidden:
            x = layer(x)
        return {self.output_keys[0]: score(x), self.output_keys[1]: self.classifier(x)}

    def forward(self, x: Dict[str, paddle.Tensor]) -> Dict[str, paddle.Tensor]:
        return self._run(x, self._criticise)
