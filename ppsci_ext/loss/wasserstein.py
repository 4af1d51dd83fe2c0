r"""Wasserstein GAN losses: the critic loss with gradient penalty (Gulrajani et al.
2017), the generator loss, and weight clipping for the original WGAN (Arjovsky et al.
2017), the baseline the penalty replaces.

The losses are ``ppsci.loss.FunctionalLoss`` objects over named outputs:

- ``score_real``, ``score_fake``: critic scores ``[N, 1]`` of a real batch and of a
  generated batch;
- ``grad_norm``: per-sample norm ``[N]`` of the critic's input gradient at points
  interpolated between the two batches (see :func:`gradient_norm`);
- ``logits_real``, ``logits_fake`` with ``label`` in the label dict: class logits of an
  auxiliary-classifier critic (AC-WGAN-GP), used when a class weight is non-zero.
"""

from __future__ import annotations

import functools
from typing import Dict
from typing import Optional

import paddle
import paddle.nn.functional as F
from paddle import nn
from ppsci.loss import FunctionalLoss

__all__ = [
    "interpolate",
    "gradient_norm",
    "critic_loss",
    "generator_loss",
    "CriticLoss",
    "GeneratorLoss",
    "clip_weights_",
]


def interpolate(real: paddle.Tensor, fake: paddle.Tensor) -> paddle.Tensor:
    r"""Random points on the lines between paired real and generated samples.

    $$
    \hat{x}_i = \epsilon_i x_i + (1 - \epsilon_i) \tilde{x}_i, \quad \epsilon_i \sim U[0, 1]
    $$

    with one $\epsilon$ per sample, broadcast over all its other dimensions.

    Examples:
        >>> import paddle
        >>> from ppsci_ext.loss import interpolate
        >>> real, fake = paddle.zeros([4, 3, 8, 8]), paddle.ones([4, 3, 8, 8])
        >>> x_hat = interpolate(real, fake)
        >>> flat = x_hat.reshape([4, -1])
        >>> bool((flat.max(axis=1) == flat.min(axis=1)).all())  # one eps per sample
        True
    """
    # --8<-- [start:interpolate]
    eps = paddle.rand([real.shape[0]] + [1] * (real.ndim - 1), dtype=real.dtype)
    return fake + eps * (real - fake)
    # --8<-- [end:interpolate]


def gradient_norm(
    score: paddle.Tensor, x: paddle.Tensor, create_graph: bool = True
) -> paddle.Tensor:
    r"""Per-sample L2 norm of the critic's gradient with respect to its input.

    $$
    g_i = \left\| \nabla_{x_i} D(x_i) \right\|_2
    $$

    The norm runs over every non-batch dimension (both coordinates of a 2-D point,
    C x H x W for an image); ``x`` must have been part of the graph that computed
    ``score``. With ``create_graph`` the result can itself be differentiated, as the
    penalty needs.

    Examples:
        >>> import paddle
        >>> from ppsci_ext.loss import gradient_norm
        >>> x = paddle.randn([5, 1, 4, 4])
        >>> x.stop_gradient = False
        >>> score = 3.0 * x.sum(axis=[1, 2, 3])  # gradient 3 everywhere: norm 3 * 4
        >>> gradient_norm(score, x).numpy().round(4).tolist()
        [12.0, 12.0, 12.0, 12.0, 12.0]
    """
    # --8<-- [start:gradient_norm]
    (grad,) = paddle.grad(
        outputs=[score.sum()], inputs=[x], create_graph=create_graph, retain_graph=True
    )
    return grad.reshape([grad.shape[0], -1]).norm(p=2, axis=1)
    # --8<-- [end:gradient_norm]


def _class_term(logits: paddle.Tensor, labels: paddle.Tensor) -> paddle.Tensor:
    return F.cross_entropy(logits, labels.reshape([-1]).astype("int64"))


def critic_loss(
    output_dict: Dict[str, paddle.Tensor],
    label_dict: Optional[Dict[str, paddle.Tensor]] = None,
    weight_dict: Optional[Dict[str, paddle.Tensor]] = None,
    *,
    penalty_weight: float = 10.0,
    class_weight: float = 0.0,
) -> Dict[str, paddle.Tensor]:
    r"""Critic loss of WGAN-GP, minimised by the critic.

    $$
    L_D = \underbrace{\mathbb{E}[D(\tilde{x})] - \mathbb{E}[D(x)]}_{\texttt{critic\_wasserstein}}
    + \underbrace{\lambda\, \mathbb{E}\big[(\|\nabla_{\hat{x}} D(\hat{x})\|_2 - 1)^2\big]}_{\texttt{critic\_penalty}}
    \;[+\; \underbrace{\gamma\, \mathrm{CE}(C(x), y)}_{\texttt{critic\_class}}]
    $$

    ``-critic_wasserstein`` estimates the Wasserstein-1 distance between the data
    and the generator's distribution. With ``penalty_weight=0`` this is the
    original WGAN critic loss (to be used with :func:`clip_weights_`). Without
    ``grad_norm`` in ``output_dict`` the penalty term is left out (a critic step
    between two penalised ones of a lazy schedule, see ``WGANSolver``).

    Args:
        output_dict: ``score_real``, ``score_fake``, and ``grad_norm`` for the
            penalty; ``logits_real`` when ``class_weight > 0``.
        label_dict: ``label`` of the real batch when ``class_weight > 0``.
        penalty_weight: $\lambda$, the paper's 10 (0.1 in its toy experiments).
        class_weight: $\gamma$, weight of the auxiliary classifier's cross-entropy on
            real samples (1 in the paper's AC-WGAN-GP).

    Returns:
        The terms of $L_D$ by name; their sum is the loss.

    Examples:
        >>> import paddle
        >>> from ppsci_ext.loss import critic_loss
        >>> out = {"score_real": paddle.to_tensor([[2.0], [4.0]]),
        ...        "score_fake": paddle.to_tensor([[1.0], [1.0]]),
        ...        "grad_norm": paddle.to_tensor([1.0, 3.0])}
        >>> terms = critic_loss(out, penalty_weight=10.0)
        >>> float(terms["critic_wasserstein"]), float(terms["critic_penalty"])
        (-2.0, 20.0)
    """
    # --8<-- [start:critic_loss]
    terms = {
        "critic_wasserstein": output_dict["score_fake"].mean()
        - output_dict["score_real"].mean()
    }
    if penalty_weight > 0 and "grad_norm" in output_dict:
        terms["critic_penalty"] = penalty_weight * (
            (output_dict["grad_norm"] - 1.0) ** 2
        ).mean()
    # --8<-- [end:critic_loss]
    if class_weight > 0:
        terms["critic_class"] = class_weight * _class_term(
            output_dict["logits_real"], label_dict["label"]
        )
    return terms


def generator_loss(
    output_dict: Dict[str, paddle.Tensor],
    label_dict: Optional[Dict[str, paddle.Tensor]] = None,
    weight_dict: Optional[Dict[str, paddle.Tensor]] = None,
    *,
    class_weight: float = 0.0,
) -> Dict[str, paddle.Tensor]:
    r"""Generator loss of WGAN(-GP), minimised by the generator.

    $$
    L_G = \underbrace{-\mathbb{E}[D(G(z))]}_{\texttt{generator\_wasserstein}}
    \;[+\; \underbrace{\gamma\, \mathrm{CE}(C(G(z, y)), y)}_{\texttt{generator\_class}}]
    $$

    Args:
        output_dict: ``score_fake``; ``logits_fake`` when ``class_weight > 0``.
        label_dict: ``label``, the classes the fakes were drawn for, when
            ``class_weight > 0``.
        class_weight: $\gamma$ (0.1 in the paper's AC-WGAN-GP).

    Examples:
        >>> import paddle
        >>> from ppsci_ext.loss import generator_loss
        >>> float(generator_loss({"score_fake": paddle.to_tensor([[1.0], [3.0]])})["generator_wasserstein"])
        -2.0
    """
    # --8<-- [start:generator_loss]
    terms = {"generator_wasserstein": -output_dict["score_fake"].mean()}
    # --8<-- [end:generator_loss]
    if class_weight > 0:
        terms["generator_class"] = class_weight * _class_term(
            output_dict["logits_fake"], label_dict["label"]
        )
    return terms


class CriticLoss(FunctionalLoss):
    r"""$L_D$ of :func:`critic_loss` as a ``ppsci.loss.FunctionalLoss``.

    Args:
        penalty_weight (float): $\lambda \ge 0$; 0 for the weight-clipping WGAN.
        class_weight (float): weight of the auxiliary classifier term.

    Examples:
        >>> import paddle
        >>> from ppsci_ext.loss import CriticLoss
        >>> loss = CriticLoss(penalty_weight=10.0)
        >>> out = {"score_real": paddle.ones([4, 1]), "score_fake": paddle.zeros([4, 1]),
        ...        "grad_norm": paddle.ones([4])}
        >>> {k: float(v) for k, v in loss(out).items()}
        {'critic_wasserstein': -1.0, 'critic_penalty': 0.0}
    """

    def __init__(self, penalty_weight: float = 10.0, class_weight: float = 0.0):
        if penalty_weight < 0 or class_weight < 0:
            raise ValueError(
                f"penalty_weight ({penalty_weight}) and class_weight ({class_weight}) "
                "must be >= 0"
            )
        super().__init__(
            functools.partial(
                critic_loss, penalty_weight=penalty_weight, class_weight=class_weight
            )
        )
        self.penalty_weight = penalty_weight
        self.class_weight = class_weight

    def __str__(self):
        return (
            f"{type(self).__name__}(penalty_weight={self.penalty_weight}, "
            f"class_weight={self.class_weight})"
        )


class GeneratorLoss(FunctionalLoss):
    r"""$L_G$ of :func:`generator_loss` as a ``ppsci.loss.FunctionalLoss``.

    Examples:
        >>> import paddle
        >>> from ppsci_ext.loss import GeneratorLoss
        >>> float(GeneratorLoss()({"score_fake": paddle.full([4, 1], 2.0)})["generator_wasserstein"])
        -2.0
    """

    def __init__(self, class_weight: float = 0.0):
        if class_weight < 0:
            raise ValueError(f"class_weight must be >= 0, got {class_weight}")
        super().__init__(functools.partial(generator_loss, class_weight=class_weight))
        self.class_weight = class_weight

    def __str__(self):
        return f"{type(self).__name__}(class_weight={self.class_weight})"


@paddle.no_grad()
def clip_weights_(model: nn.Layer, clip_value: float) -> None:
    r"""Clip every parameter of ``model`` to $[-c, c]$ in place (original WGAN).

    Examples:
        >>> import paddle
        >>> from ppsci_ext.loss import clip_weights_
        >>> layer = paddle.nn.Linear(3, 3)
        >>> clip_weights_(layer, 0.01)
        >>> float(layer.weight.abs().max()) <= 0.01
        True
    """
    # --8<-- [start:clip_weights]
    for param in model.parameters():
        param.set_value(param.clip(-clip_value, clip_value))
    # --8<-- [end:clip_weights]
