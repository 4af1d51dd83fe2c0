"""Critic selection: draw more samples than asked and keep those the critic rates
most real.

A trained critic $f$ ranks the generator's samples: of $m = \\lceil n / k \\rceil$
samples $G(z_1), \\dots, G(z_m)$ drawn for $n$ wanted and a kept share $k \\in (0, 1]$,
keep the $n$ with the highest $f(G(z_i))$, in the order they were drawn. It uses the
critic the run trained beside the generator, at the cost of $1/k$ times the
generator's samples and one critic pass over them; $k = 1$ keeps every sample (the
generator alone). It is a heuristic relative of discriminator rejection sampling
(Azadi et al. 2019), which accepts each sample with a probability given by a
classifier's density-ratio estimate: a WGAN critic estimates a transport potential,
not a density ratio, so here the share is set by hand. Too small a share trades
variety for typicality, which the Frechet distance and the class shares show.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from paddle import nn

from ppsci_ext.experiments import common

__all__ = ["Selection", "ScoredGenerator", "best_of", "drawn_count", "select_by_critic"]


class Selection(NamedTuple):
    """What :func:`select_by_critic` drew and kept."""

    kept: np.ndarray  # the kept samples, in the order drawn
    drawn: np.ndarray  # every sample drawn
    scores: np.ndarray  # the critic's score of each drawn sample
    index: np.ndarray  # positions of the kept samples in ``drawn`` (ascending)


def drawn_count(num_samples: int, keep: float) -> int:
    """How many samples to draw so that ``keep`` of them are ``num_samples``.

    Examples:
        >>> from ppsci_ext.experiments.critic_selection import drawn_count
        >>> drawn_count(10000, 0.6), drawn_count(10000, 1.0)
        (16667, 10000)
    """
    if not 0 < keep <= 1:
        raise ValueError(f"keep must be in (0, 1], got {keep}")
    # round first: 10000 / 0.6 is 16666.666...7 in floating point, not above 16667
    return int(math.ceil(round(num_samples / keep, 6)))


def best_of(scores: np.ndarray, num_samples: int) -> np.ndarray:
    """Positions of the ``num_samples`` highest ``scores``, in ascending order (the
    order drawn); of equal scores the earlier drawn wins, so the choice is
    deterministic.

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.experiments.critic_selection import best_of
        >>> best_of(np.array([0.1, 0.9, 0.5, 0.9, -2.0]), 3)
        array([1, 2, 3])
    """
    return np.sort(np.argsort(-np.asarray(scores).reshape(-1), kind="stable")[:num_samples])


def select_by_critic(
    generator, critic, num_samples: int, keep: float, seed: int, batch_size: int = 1024
) -> Selection:
    """Draw :func:`drawn_count` samples (noise seeded with ``seed``, as
    :func:`~ppsci_ext.experiments.common.sample`) and keep the ``num_samples`` the
    critic scores highest, in the order drawn.

    Args:
        generator: An unconditional generator ``Arch``.
        critic: The critic trained with it (its first output is the score).
        num_samples: How many samples to return.
        keep: The share of the drawn samples kept, in (0, 1]; 1 returns the first
            ``num_samples`` drawn, the generator's samples without selection.
        seed: Seed of the noise; the first ``num_samples`` drawn are the samples
            :func:`~ppsci_ext.experiments.common.sample` gives for the same seed.
        batch_size: Samples per generator and critic batch.

    Returns:
        Selection: the kept samples, every sample drawn, the critic's scores of
        the drawn ones and the positions of the kept ones among them.

    Examples:
        >>> from ppsci_ext.arch import ToyCritic, ToyGenerator
        >>> from ppsci_ext.experiments.critic_selection import select_by_critic
        >>> import numpy as np
        >>> chosen = select_by_critic(
        ...     ToyGenerator(hidden_dim=8), ToyCritic(hidden_dim=8), 6, 0.5, seed=0)
        >>> chosen.kept.shape, chosen.drawn.shape
        ((6, 2), (12, 2))
        >>> dropped = np.setdiff1d(np.arange(12), chosen.index)
        >>> bool(chosen.scores[chosen.index].min() >= chosen.scores[dropped].max())
        True
    """
    if generator.is_conditional:
        raise ValueError("critic selection is for unconditional generators")
    drawn = common.sample(generator, drawn_count(num_samples, keep), seed=seed, batch_size=batch_size)
    was_training = critic.training
    critic.eval()
    scores = common.critic_values(critic, drawn, batch_size)
    if was_training:
        critic.train()
    best = best_of(scores, num_samples)
    return Selection(drawn[best], drawn, scores, best)


class ScoredGenerator(nn.Layer):
    """A generator followed by its critic, exported as one inference model whose
    outputs are the samples and the critic's score of each: Paddle Inference can
    then select as eval does (:func:`best_of` over the scores).

    Args:
        generator: An unconditional generator ``Arch``.
        critic: The critic trained with it.

    Examples:
        >>> import paddle
        >>> from ppsci_ext.arch import ToyCritic, ToyGenerator
        >>> from ppsci_ext.experiments.critic_selection import ScoredGenerator
        >>> scored = ScoredGenerator(ToyGenerator(hidden_dim=8), ToyCritic(hidden_dim=8))
        >>> x, score = scored({"z": paddle.randn([5, scored.noise_dim])})
        >>> list(x.shape), list(score.shape)
        ([5, 2], [5, 1])
    """

    def __init__(self, generator, critic):
        super().__init__()
        if generator.is_conditional:
            raise ValueError("critic selection is for unconditional generators")
        self.generator, self.critic = generator, critic
        self.input_keys = generator.input_keys
        self.noise_dim = generator.noise_dim
        self.is_conditional = False

    def forward(self, inputs):
        x = self.generator(inputs)[self.generator.output_keys[0]]
        return x, self.critic({self.critic.input_keys[0]: x})[self.critic.output_keys[0]]
