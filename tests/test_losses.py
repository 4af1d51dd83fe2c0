"""The WGAN-GP losses against cases whose answers are known in closed form."""

import numpy as np
import paddle
import pytest

from ppsci_ext.loss import CriticLoss
from ppsci_ext.loss import GeneratorLoss
from ppsci_ext.loss import clip_weights_
from ppsci_ext.loss import critic_loss
from ppsci_ext.loss import gradient_norm
from ppsci_ext.loss import interpolate


class LinearCritic(paddle.nn.Layer):
    """D(x) = w . flatten(x) + b: its input gradient is w for every sample."""

    def __init__(self, num_features):
        super().__init__()
        self.linear = paddle.nn.Linear(num_features, 1)

    def forward(self, x):
        return self.linear(x.reshape([x.shape[0], -1]))


@pytest.mark.parametrize("shape", [(16, 2), (8, 3, 4, 5)])
def test_penalty_matches_closed_form_for_linear_critic(shape):
    paddle.seed(0)
    critic = LinearCritic(int(np.prod(shape[1:])))
    real = paddle.randn(shape)
    fake = paddle.randn(shape)
    x_hat = interpolate(real, fake)
    x_hat.stop_gradient = False
    norms = gradient_norm(critic(x_hat), x_hat)
    w_norm = float(np.linalg.norm(critic.linear.weight.numpy()))
    # the norm runs over every non-batch dimension: ||w|| for each sample
    np.testing.assert_allclose(norms.numpy(), np.full(shape[0], w_norm), rtol=1e-5)

    terms = CriticLoss(penalty_weight=10.0)(
        {"score_real": critic(real), "score_fake": critic(fake), "grad_norm": norms}
    )
    assert float(terms["critic_penalty"]) == pytest.approx(10.0 * (w_norm - 1) ** 2, rel=1e-5)


def test_penalty_is_differentiable_to_the_critic_weights():
    # d/dw of lambda * (||w|| - 1)^2 = 2 lambda (||w|| - 1) w / ||w||
    paddle.seed(1)
    critic = LinearCritic(2)
    x_hat = paddle.randn([32, 2])
    x_hat.stop_gradient = False
    norms = gradient_norm(critic(x_hat), x_hat)
    penalty = critic_loss(
        {"score_real": paddle.zeros([1, 1]), "score_fake": paddle.zeros([1, 1]), "grad_norm": norms},
        penalty_weight=10.0,
    )["critic_penalty"]
    penalty.backward()
    w = critic.linear.weight.numpy()
    n = np.linalg.norm(w)
    np.testing.assert_allclose(critic.linear.weight.grad.numpy(), 20.0 * (n - 1) * w / n, rtol=1e-4)


def test_interpolation_uses_one_coefficient_per_sample_and_stays_on_the_segment():
    paddle.seed(2)
    real = paddle.zeros([64, 3, 4, 4])
    fake = paddle.ones([64, 3, 4, 4])
    flat = interpolate(real, fake).reshape([64, -1]).numpy()
    assert np.all(flat.max(axis=1) == flat.min(axis=1))
    eps = 1.0 - flat[:, 0]
    assert eps.min() >= 0 and eps.max() <= 1 and eps.std() > 0.1


def test_loss_signs():
    real_high = {"score_real": paddle.full([4, 1], 3.0), "score_fake": paddle.full([4, 1], -1.0),
                 "grad_norm": paddle.ones([4])}
    terms = CriticLoss(penalty_weight=10.0)(real_high)
    # a critic that scores real above fake has a negative loss and a positive W estimate
    assert float(terms["critic_wasserstein"]) == pytest.approx(-4.0)
    assert float(terms["critic_penalty"]) == 0.0
    # the generator gains (loss falls) when the critic scores its samples higher
    low = GeneratorLoss()({"score_fake": paddle.full([4, 1], -1.0)})["generator_wasserstein"]
    high = GeneratorLoss()({"score_fake": paddle.full([4, 1], 2.0)})["generator_wasserstein"]
    assert float(high) < float(low)


def test_auxiliary_classifier_terms():
    logits = paddle.to_tensor([[5.0, 0.0], [0.0, 5.0]])
    labels = {"label": paddle.to_tensor([0, 1])}
    out = {"score_real": paddle.zeros([2, 1]), "score_fake": paddle.zeros([2, 1]),
           "grad_norm": paddle.ones([2]), "logits_real": logits}
    right = CriticLoss(10.0, class_weight=1.0)(out, labels)["critic_class"]
    wrong = CriticLoss(10.0, class_weight=1.0)(out, {"label": paddle.to_tensor([1, 0])})["critic_class"]
    assert float(right) < 0.01 < 4.0 < float(wrong)
    gen = GeneratorLoss(class_weight=0.1)({"score_fake": paddle.zeros([2, 1]), "logits_fake": logits},
                                          {"label": paddle.to_tensor([1, 0])})
    assert float(gen["generator_class"]) == pytest.approx(0.1 * float(wrong), rel=1e-5)


def test_negative_weights_are_refused():
    with pytest.raises(ValueError, match="penalty_weight"):
        CriticLoss(penalty_weight=-1.0)


def test_clip_weights():
    layer = paddle.nn.Linear(4, 4)
    layer.weight.set_value(paddle.full([4, 4], 0.5))
    clip_weights_(layer, 0.01)
    assert float(layer.weight.abs().max()) == pytest.approx(0.01)
