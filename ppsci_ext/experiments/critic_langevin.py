r"""Critic-guided Langevin sampling in the generator's noise space: discriminator
driven latent sampling (Che et al. 2020) with the WGAN critic as the energy.

A generator $G$ and the critic $f$ trained with it define a density on the noise,
the prior tilted towards what the critic rates real:

$$
p_\beta(z) \propto \mathcal{N}(z; 0, I)\, e^{\beta f(G(z))},
\qquad E(z) = \tfrac{1}{2} \lVert z \rVert^2 - \beta f(G(z)),
$$

and Langevin dynamics on the energy $E$ move each noise vector towards it:

$$
z_{t+1} = z_t - \frac{\varepsilon}{2} \nabla_z E(z_t) + \sqrt{\varepsilon}\, \eta_t,
\qquad \eta_t \sim \mathcal{N}(0, I), \quad z_0 \sim \mathcal{N}(0, I).
$$

$\beta = 0$ (or no steps) is the generator alone. Unlike critic selection
(:mod:`ppsci_ext.experiments.critic_selection`), which drops samples, every drawn
sample is kept and moved a little, so variety is spent only as far as the tilt
asks; a large $\beta$ still concentrates the samples on what the critic likes best,
which the Frechet distance shows. The cost is ``steps`` forward and backward passes
of generator and critic per sample. A WGAN critic's scale is that of a 1-Lipschitz
function of the data, so $\beta$ has to be set per data set (by a held-out score).
"""

from __future__ import annotations

import math
from typing import Tuple

import numpy as np
import paddle
from paddle import nn

from ppsci_ext.experiments import common

__all__ = ["langevin_noise", "sample_langevin", "langevin_jitter", "LangevinStep", "infer_langevin"]


def langevin_noise(
    generator,
    critic,
    noise: np.ndarray,
    jitter: np.ndarray,
    step_size: float,
    critic_weight: float,
    batch_size: int = 1000,
) -> np.ndarray:
    r"""Run Langevin steps from ``noise`` (``[N, noise_dim]``) on the energy
    $E(z) = \lVert z \rVert^2 / 2 - \beta f(G(z))$, $\beta$ = ``critic_weight``,
    $\varepsilon$ = ``step_size``, one per row of ``jitter`` (``[steps, N, noise_dim]``,
    the injected $\eta_t$, e.g. :func:`langevin_jitter`'s); return the moved noise.

    The result does not depend on ``batch_size``. Both networks run in eval mode
    (restored afterwards); no weights change.

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.arch import ToyCritic, ToyGenerator
        >>> from ppsci_ext.experiments.critic_langevin import langevin_noise
        >>> z = np.zeros([4, 2], dtype="float32")
        >>> jitter = np.random.default_rng(0).standard_normal([3, 4, 2]).astype("float32")
        >>> moved = langevin_noise(ToyGenerator(noise_dim=2, hidden_dim=8), ToyCritic(hidden_dim=8),
        ...                        z, jitter, step_size=0.01, critic_weight=1.0)
        >>> moved.shape, bool((moved != z).all())
        ((4, 2), True)
    """
    if generator.is_conditional:
        raise ValueError("critic-guided Langevin sampling is for unconditional generators")
    z = np.array(noise, dtype="float32")
    modes = generator.training, critic.training
    generator.eval()
    critic.eval()
    try:
        for eta in jitter:
            drift = np.empty_like(z)
            for start in range(0, len(z), batch_size):
                batch = paddle.to_tensor(z[start : start + batch_size])
                drift[start : start + batch_size] = _energy_grad(
                    generator, critic, batch, critic_weight).numpy()
            z = z - 0.5 * step_size * drift + math.sqrt(step_size) * eta
    finally:
        for model, was_training in zip((generator, critic), modes):
            if was_training:
                model.train()
    return z


def _energy_grad(generator, critic, z: paddle.Tensor, critic_weight) -> paddle.Tensor:
    r"""$\nabla_z E(z)$ for a batch (``critic_weight``: a number, or one per row as
    ``[N, 1]``); the networks' weights get no gradient."""
    z.stop_gradient = False
    x = generator({generator.input_keys[0]: z})[generator.output_keys[0]]
    score = critic({critic.input_keys[0]: x})[critic.output_keys[0]]
    energy = 0.5 * (z * z).sum() - (critic_weight * score).sum()
    (grad,) = paddle.grad(energy, z)
    return grad


def sample_langevin(
    generator,
    critic,
    num_samples: int,
    seed: int,
    steps: int,
    step_size: float,
    critic_weight: float,
    batch_size: int = 1000,
) -> Tuple[np.ndarray, np.ndarray]:
    """Draw ``num_samples`` noise vectors and the injected noise of ``steps`` steps
    (:func:`langevin_jitter`; the start is the noise
    :func:`~ppsci_ext.experiments.common.sample` draws for ``seed``), move them with
    :func:`langevin_noise`, and return ``(samples, samples_alone)``: the samples of
    the moved noise and those of the noise as drawn (the generator alone).

    Examples:
        >>> from ppsci_ext.arch import ToyCritic, ToyGenerator
        >>> from ppsci_ext.experiments.common import sample
        >>> from ppsci_ext.experiments.critic_langevin import sample_langevin
        >>> gen = ToyGenerator(hidden_dim=8)
        >>> moved, alone = sample_langevin(gen, ToyCritic(hidden_dim=8), 5, seed=0, steps=2,
        ...                                step_size=0.01, critic_weight=1.0)
        >>> moved.shape, bool((alone == sample(gen, 5, seed=0)).all())
        ((5, 2), True)
    """
    start, jitter = langevin_jitter(num_samples, seed, steps, generator.noise_dim)
    moved = langevin_noise(generator, critic, start, jitter, step_size, critic_weight, batch_size)
    return (common.sample(generator, noise=moved, batch_size=batch_size),
            common.sample(generator, noise=start, batch_size=batch_size))


def langevin_jitter(num_samples: int, seed: int, steps: int, noise_dim: int) -> Tuple[np.ndarray, np.ndarray]:
    """The start noise ``[N, noise_dim]`` and the injected noise ``[steps, N,
    noise_dim]`` of ``seed``, the one place their order of drawing is set: eval
    (:func:`sample_langevin`) and an exported :class:`LangevinStep`
    (:func:`infer_langevin`) take them from here.

    Examples:
        >>> from ppsci_ext.experiments.critic_langevin import langevin_jitter
        >>> start, jitter = langevin_jitter(4, seed=0, steps=3, noise_dim=2)
        >>> start.shape, jitter.shape
        ((4, 2), (3, 4, 2))
    """
    rng = np.random.default_rng(seed)
    start = rng.standard_normal((num_samples, noise_dim)).astype("float32")
    return start, rng.standard_normal((steps, num_samples, noise_dim)).astype("float32")


class LangevinStep(nn.Layer):
    r"""One Langevin step (:func:`langevin_noise`) and the samples of where it lands,
    as one network: exported as an inference model, Paddle Inference runs it once per
    step (:func:`infer_langevin`) and samples as eval does, to float rounding (an
    exported model has neither random numbers nor Python loops of its own).

    Inputs (dict): the noise ``z`` (the generator's noise key, ``[N, noise_dim]``),
    the injected noise ``langevin_jitter`` (``[N, noise_dim]``), and per row
    ``langevin_step_size`` $\varepsilon$ and ``langevin_critic_weight`` $\beta$
    (``[N, 1]``: set when sampling, not fixed at export; $\varepsilon = 0$ leaves the
    noise where it is). Outputs: the samples $G(z')$ and the moved noise $z'$.

    Args:
        generator: The unconditional generator whose noise is moved.
        critic: The critic trained with it; its score, weighted, is the negative energy.

    Examples:
        >>> import paddle
        >>> from ppsci_ext.arch import ToyCritic, ToyGenerator
        >>> from ppsci_ext.experiments.critic_langevin import LangevinStep
        >>> gen, critic = ToyGenerator(hidden_dim=4), ToyCritic(hidden_dim=4)
        >>> step = LangevinStep(gen, critic)
        >>> z = paddle.randn([5, step.noise_dim])
        >>> x, moved = step({"z": z, "langevin_jitter": paddle.randn(z.shape),
        ...                  "langevin_step_size": paddle.full([5, 1], 0.0),
        ...                  "langevin_critic_weight": paddle.full([5, 1], 1.0)})
        >>> list(x.shape), bool((moved == z).all())
        ([5, 2], True)
    """

    #: the inputs besides the noise, and their shapes after the batch axis (for export)
    EXTRA_INPUTS = ("langevin_jitter", "langevin_step_size", "langevin_critic_weight")

    def __init__(self, generator, critic):
        super().__init__()
        if generator.is_conditional:
            raise ValueError("critic-guided Langevin sampling is for unconditional generators")
        self.generator, self.critic = generator, critic
        self.input_keys = (generator.input_keys[0], *self.EXTRA_INPUTS)
        self.noise_dim = generator.noise_dim
        self.is_conditional = False
        self.extra_input_shapes = dict(zip(self.EXTRA_INPUTS, ([self.noise_dim], [1], [1])))

    def forward(self, inputs):
        z, jitter, step_size, weight = (inputs[k] for k in self.input_keys)
        grad = _energy_grad(self.generator, self.critic, z, weight)
        moved = z - 0.5 * step_size * grad + paddle.sqrt(step_size) * jitter
        return self.generator({self.generator.input_keys[0]: moved})[self.generator.output_keys[0]], moved


def infer_langevin(run_step, start: np.ndarray, jitter: np.ndarray, step_size: float,
                   critic_weight: float, noise_key: str = "z") -> np.ndarray:
    """Samples of :func:`sample_langevin` from an exported :class:`LangevinStep`:
    ``run_step(inputs)`` runs it on a dict of named arrays and returns its two
    outputs; ``start`` and ``jitter`` are :func:`langevin_jitter`'s, ``noise_key`` the
    generator's noise input. With no steps
    it is run once with step size 0 (the generator alone)."""
    n, steps = len(start), len(jitter)
    rows = {"langevin_step_size": np.full((n, 1), step_size if steps else 0.0, "float32"),
            "langevin_critic_weight": np.full((n, 1), critic_weight, "float32")}
    z, x = start, None
    for t in range(max(steps, 1)):
        step_jitter = jitter[t] if steps else np.zeros_like(start)
        x, z = run_step({noise_key: z, "langevin_jitter": step_jitter, **rows})
    return x
