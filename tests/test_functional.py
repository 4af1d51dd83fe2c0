"""The fused building blocks of ppsci_ext.arch.functional against their plain
compositions, and the paper's networks (which use them) against a plain, layer by
layer reading of the official code: same outputs, and the same gradients, the
gradient penalty's double backward included."""

import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

from ppsci_ext.arch import MnistCritic
from ppsci_ext.arch import MnistGenerator
from ppsci_ext.arch import ResNet32Critic
from ppsci_ext.arch import ResNet32Generator
from ppsci_ext.arch import ToyCritic
from ppsci_ext.arch import functional as AF
from ppsci_ext.arch.layers import Linear
from ppsci_ext.loss import gradient_norm


def _leaf(t):
    t = t.clone()
    t.stop_gradient = False
    return t


def _close(a, b, rtol=1e-4):
    """Equal up to float32 rounding, relative to the size of the values."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = max(np.abs(a).max(), np.abs(b).max(), 1e-6)
    return np.abs(a - b).max() <= rtol * scale


def _penalty_grads(fn, x, params):
    """Gradients of a penalty on ``fn``'s input gradient, as the critic step takes them."""
    x = _leaf(x)
    score = fn(x).reshape([x.shape[0], -1]).sum(axis=1)
    norm = gradient_norm(score, x)
    ((norm - 1.0) ** 2).mean().backward()
    # a parameter the input gradient does not depend on (a bias, the AC head) may
    # get no gradient at all, or zeros where it enters through a convolution's weight
    grads = [np.zeros(p.shape) if p.grad is None else p.grad.numpy().copy() for p in params]
    for p in params:
        p.clear_gradient()
    return grads


def _plain_conv_mean_pool(x, w, b):
    return F.avg_pool2d(F.conv2d(x, w, b, padding=1), 2, 2)


def _plain_upsample_conv(x, w, b):
    return F.conv2d(F.interpolate(x, scale_factor=2, mode="nearest"), w, b, padding=1)


def _plain_conv(x, w, b):
    return F.conv2d(x, w, b, padding=w.shape[-1] // 2)


def _grads(fn, x, params):
    (fn(x) ** 2).sum().backward()
    grads = [p.grad.numpy().copy() for p in params]
    for p in params:
        p.clear_gradient()
    return grads


@pytest.mark.parametrize(
    "fused, plain, size, in_critics",
    [
        (AF.conv_mean_pool, _plain_conv_mean_pool, 8, True),
        (AF.conv_mean_pool, _plain_conv_mean_pool, 6, True),
        (AF.conv2d_bias_channel, _plain_conv, 7, True),
        # generators only: Paddle 3.3.1's transposed convolution has no working
        # double backward ("empty GradSlotMeta")
        (AF.upsample_conv, _plain_upsample_conv, 5, False),
        (AF.upsample_conv, _plain_upsample_conv, 4, False),
    ],
)
def test_fused_op_equals_plain_composition(fused, plain, size, in_critics):
    paddle.seed(0)
    x = paddle.randn([3, 4, size, size])
    w, b = _leaf(paddle.randn([5, 4, 3, 3])), _leaf(paddle.randn([5]))
    assert _close(fused(x, w, b).numpy(), plain(x, w, b).numpy())
    for g_fused, g_plain in zip(_grads(lambda t: fused(t, w, b), x, [w, b]),
                                _grads(lambda t: plain(t, w, b), x, [w, b])):
        assert _close(g_fused, g_plain)
    if in_critics:  # the gradient penalty differentiates through the op twice
        for g_fused, g_plain in zip(_penalty_grads(lambda t: fused(t, w, b) ** 2, x, [w, b]),
                                    _penalty_grads(lambda t: plain(t, w, b) ** 2, x, [w, b])):
            assert _close(g_fused, g_plain)


def test_bias_channel_with_a_1x1_kernel_and_an_input_without_gradient():
    x, w, b = paddle.randn([2, 3, 5, 5]), paddle.randn([4, 3, 1, 1]), paddle.randn([4])
    assert _close(AF.conv2d_bias_channel(x, w, b).numpy(), F.conv2d(x, w, b).numpy())


@pytest.mark.parametrize("shape", [[6, 5], [2, 5, 3, 3], [2, 5, 4]])
def test_add_channel_bias_and_linear(shape):
    x, b = paddle.randn(shape), paddle.randn([5])
    expected = x.numpy() + b.numpy().reshape([1, 5] + [1] * (len(shape) - 2))
    assert _close(AF.add_channel_bias(x, b).numpy(), expected)
    assert AF.add_channel_bias(x, None) is x
    layer, plain = Linear(5, 3), paddle.nn.Linear(5, 3)
    plain.set_state_dict(layer.state_dict())
    rows = paddle.randn([4, 5])
    assert _close(layer(rows).numpy(), plain(rows).numpy())


# ------------------------------------------------------- the networks, read plainly


def _conv(layer, x):
    return F.conv2d(x, layer.weight, layer.bias, padding=layer.weight.shape[-1] // 2)


def _plain_resnet_critic(critic, x):
    """The official ``Discriminator``: every layer applied as written there."""
    pool = lambda t: F.avg_pool2d(t, 2, 2)  # noqa: E731
    b0 = critic.block0
    h = pool(_conv(b0.conv2, F.relu(_conv(b0.conv1, x)))) + _conv(b0.shortcut, pool(x))
    for block in critic.blocks:
        r = _conv(block.conv2, F.relu(_conv(block.conv1, F.relu(h))))
        h = pool(_conv(block.shortcut, h)) + pool(r) if block.down else h + r
    return critic.score(F.relu(h).mean(axis=[2, 3]))


def _plain_resnet_generator(gen, z, labels=None):
    """The official ``Generator``: upsample, then convolve, at full resolution."""
    up = lambda t: F.interpolate(t, scale_factor=2, mode="nearest")  # noqa: E731
    norm = lambda n, t: n(t, labels) if labels is not None else n(t)  # noqa: E731
    h = gen.linear(z).reshape([-1, gen.dim, 4, 4])
    for block in gen.blocks:
        r = _conv(block.conv1, up(F.relu(norm(block.norm1, h))))
        r = _conv(block.conv2, F.relu(norm(block.norm2, r)))
        h = _conv(block.shortcut, up(h)) + r
    return paddle.tanh(_conv(gen.out_conv, F.relu(gen.out_norm(h))))


def _plain_mnist_critic(critic, x):
    h = x
    for conv in (critic.conv1, critic.conv2, critic.conv3):
        h = F.leaky_relu(conv(h), critic.negative_slope)
    return paddle.nn.functional.linear(h.reshape([h.shape[0], -1]), critic.linear.weight,
                                       critic.linear.bias)


def _assert_critic_equals(critic, plain, x):
    """``critic``'s scores and penalty gradients equal those of ``plain`` (a function
    of the input computing the same network layer by layer)."""
    assert _close(critic({"x": x})["score"].numpy(), plain(x).numpy())
    params = list(critic.parameters())
    fused = _penalty_grads(lambda t: critic({"x": t})["score"], x, params)
    for p, g_fused, g_plain in zip(params, fused, _penalty_grads(plain, x, params)):
        assert _close(g_fused, g_plain, rtol=1e-3), p.name


@pytest.mark.parametrize("num_classes", [0, 10])
def test_resnet_critic_equals_the_plain_network(num_classes):
    paddle.seed(1)
    critic = ResNet32Critic(dim=16, num_classes=num_classes)
    _assert_critic_equals(critic, lambda t: _plain_resnet_critic(critic, t), paddle.randn([4, 3, 32, 32]))


@pytest.mark.parametrize("num_classes", [0, 10])
def test_resnet_generator_equals_the_plain_network(num_classes):
    paddle.seed(2)
    gen = ResNet32Generator(dim=16, num_classes=num_classes)
    z = paddle.randn([6, 128])
    labels = paddle.to_tensor([0, 1, 2, 3, 4, 9]) if num_classes else None
    inputs = {"z": z, "label": labels} if num_classes else {"z": z}
    paddle.seed(3)
    fused = gen(inputs)["x"]
    fused.sum().backward()
    fused_grads = {p.name: p.grad.numpy().copy() for p in gen.parameters() if p.grad is not None}
    gen.clear_gradients()
    plain = _plain_resnet_generator(gen, z, labels)
    plain.sum().backward()
    assert _close(fused.numpy(), plain.numpy())
    trained = [p for p in gen.parameters() if p.grad is not None]
    largest = max(np.abs(p.grad.numpy()).max() for p in trained)
    for p in trained:
        # a bias right before a batch norm has a gradient of zero up to rounding:
        # compare it on the scale of the other gradients
        scale = max(np.abs(p.grad.numpy()).max(), 0.1 * largest)
        assert np.abs(fused_grads[p.name] - p.grad.numpy()).max() <= 1e-3 * scale, p.name


def test_mnist_networks_equal_the_plain_layers():
    paddle.seed(4)
    critic, gen = MnistCritic(dim=8), MnistGenerator(dim=8)
    _assert_critic_equals(critic, lambda t: _plain_mnist_critic(critic, t), paddle.rand([3, 1, 28, 28]))
    z = paddle.randn([3, 128])
    d1 = gen.deconv1
    plain_first = F.conv2d_transpose(F.relu(paddle.nn.functional.linear(
        z, gen.linear.weight, gen.linear.bias)).reshape([-1, 32, 4, 4]), d1.weight, d1.bias,
        stride=2, padding=[1, 2, 1, 2])
    assert _close(d1(F.relu(gen.linear(z)).reshape([-1, 32, 4, 4])).numpy(), plain_first.numpy())


def test_toy_critic_penalty_gradients_equal_paddle_linear():
    paddle.seed(5)
    critic = ToyCritic(hidden_dim=16)
    x = paddle.randn([8, 2])
    layers = [m for m in critic.sublayers() if isinstance(m, paddle.nn.Linear)]

    def plain(t):
        for i, layer in enumerate(layers):
            t = paddle.nn.functional.linear(t, layer.weight, layer.bias)
            t = F.relu(t) if i < len(layers) - 1 else t
        return t

    _assert_critic_equals(critic, plain, x)
