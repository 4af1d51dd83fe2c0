"""Critic-guided Langevin sampling against a case with a known answer."""

import numpy as np
import paddle
import pytest
from paddle import nn

from ppsci_ext.experiments.critic_langevin import langevin_noise
from ppsci_ext.experiments.critic_langevin import sample_langevin


class _Identity(nn.Layer):
    """G(z) = z: the tilted density of the noise is then that of the samples."""

    input_keys, output_keys, noise_dim, is_conditional = ("z",), ("x",), 2, False

    def forward(self, inputs):
        return {"x": inputs["z"] * 1.0}


class _Linear(nn.Layer):
    """f(x) = a . x"""

    input_keys, output_keys = ("x",), ("score",)

    def __init__(self, a):
        super().__init__()
        self.a = paddle.to_tensor(np.asarray(a, dtype="float32").reshape(-1, 1))

    def forward(self, inputs):
        return {"score": paddle.matmul(inputs["x"], self.a)}


def test_langevin_samples_the_prior_tilted_by_the_critic():
    # N(0, I) exp(beta a.z) is N(beta a, I): the dynamics must find that mean and
    # keep unit spread (a wrong sign, scale or missing noise would not)
    beta, a = 2.0, [1.0, -0.5]
    start = np.random.default_rng(0).standard_normal((4000, 2)).astype("float32")
    jitter = np.random.default_rng(1).standard_normal((300, 4000, 2)).astype("float32")
    z = langevin_noise(_Identity(), _Linear(a), start, jitter, step_size=0.05, critic_weight=beta)
    np.testing.assert_allclose(z.mean(axis=0), [2.0, -1.0], atol=0.1)
    np.testing.assert_allclose(z.std(axis=0), [1.0, 1.0], atol=0.1)


def test_no_steps_or_no_weight_is_the_generator_alone():
    gen, critic = _Identity(), _Linear([1.0, 1.0])
    moved, alone = sample_langevin(gen, critic, 50, seed=3, steps=0, step_size=0.01, critic_weight=5.0)
    np.testing.assert_array_equal(moved, alone)
    # without the critic's weight the steps sample the prior: the spread stays 1
    start = np.random.default_rng(0).standard_normal((4000, 2)).astype("float32")
    jitter = np.random.default_rng(1).standard_normal((100, 4000, 2)).astype("float32")
    z = langevin_noise(gen, critic, start, jitter, 0.05, 0.0)
    np.testing.assert_allclose(z.mean(axis=0), [0.0, 0.0], atol=0.1)
    np.testing.assert_allclose(z.std(axis=0), [1.0, 1.0], atol=0.1)


def test_result_is_seeded_and_independent_of_the_batch_size():
    gen, critic = _Identity(), _Linear([0.3, 0.7])
    one = sample_langevin(gen, critic, 30, seed=5, steps=4, step_size=0.1, critic_weight=1.0, batch_size=7)
    two = sample_langevin(gen, critic, 30, seed=5, steps=4, step_size=0.1, critic_weight=1.0)
    np.testing.assert_allclose(one[0], two[0], atol=1e-6)
    other = sample_langevin(gen, critic, 30, seed=6, steps=4, step_size=0.1, critic_weight=1.0)
    assert np.abs(other[0] - one[0]).max() > 0.1


def test_networks_keep_their_mode_and_weights():
    from ppsci_ext.arch import ToyCritic
    from ppsci_ext.arch import ToyGenerator

    gen, critic = ToyGenerator(hidden_dim=8), ToyCritic(hidden_dim=8)
    before = [p.numpy().copy() for p in gen.parameters() + critic.parameters()]
    gen.train()
    critic.eval()
    sample_langevin(gen, critic, 8, seed=0, steps=2, step_size=0.01, critic_weight=1.0)
    assert gen.training and not critic.training
    for old, p in zip(before, gen.parameters() + critic.parameters()):
        np.testing.assert_array_equal(old, p.numpy())
        assert p.grad is None


def test_conditional_generators_are_refused():
    from ppsci_ext.arch import ToyCritic

    class Conditional(_Identity):
        is_conditional = True

    with pytest.raises(ValueError, match="unconditional"):
        sample_langevin(Conditional(), ToyCritic(hidden_dim=8), 4, 0, 1, 0.01, 1.0)
