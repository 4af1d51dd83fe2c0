"""PyTorch versions of the project's three WGAN-GP training steps, for the speed
benchmark (``bench_steps.py``) only.

Each builder returns ``(critic_step, generator_step, (generator parameters, critic
parameters))``: the same networks, losses and optimisers as the Paddle experiment
at its default settings, written plainly in torch. Real batches are drawn from a
random array of the experiment's shape; a step's cost does not depend on the
pixel values. Tensors go to torch's default device (``bench_steps.py`` makes it
the GPU where there is one).
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def _adam(model, lr, betas):
    return torch.optim.Adam(model.parameters(), lr, betas=betas)


def _penalty(critic, real, fake, weight):
    eps = torch.rand([real.shape[0]] + [1] * (real.dim() - 1))
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    score = critic(x_hat)
    score = score[0] if isinstance(score, tuple) else score
    grad = torch.autograd.grad(score.sum(), x_hat, create_graph=True)[0]
    return weight * ((grad.flatten(1).norm(dim=1) - 1.0) ** 2).mean()


def _steps(gen, critic, noise, real_batch, critic_batch, generator_batch, lr, betas,
           penalty_weight, class_weights=(0.0, 0.0)):
    """Critic and generator steps for any pair (the critic may return (score, logits))."""
    opt_g, opt_d = _adam(gen, lr, betas), _adam(critic, lr, betas)

    def split(out):
        return out if isinstance(out, tuple) else (out, None)

    def critic_step():
        real, labels = real_batch(critic_batch)
        with torch.no_grad():
            fake = gen(*noise(critic_batch))
        score, logits = split(critic(torch.cat([real, fake])))
        n = critic_batch
        loss = score[n:].mean() - score[:n].mean() + _penalty(critic, real, fake, penalty_weight)
        if class_weights[0]:
            loss = loss + class_weights[0] * F.cross_entropy(logits[:n], labels)
        opt_d.zero_grad(set_to_none=True)
        loss.backward()
        opt_d.step()

    def generator_step():
        for p in critic.parameters():
            p.requires_grad_(False)
        z, y = noise(generator_batch)
        score, logits = split(critic(gen(z, y)))
        loss = -score.mean()
        if class_weights[1]:
            loss = loss + class_weights[1] * F.cross_entropy(logits, y)
        opt_g.zero_grad(set_to_none=True)
        loss.backward()
        opt_g.step()
        for p in critic.parameters():
            p.requires_grad_(True)

    counts = tuple(sum(p.numel() for p in m.parameters()) for m in (gen, critic))
    return critic_step, generator_step, counts


def _mlp(d_in, hidden, d_out, layers=3):
    mods, width = [], d_in
    for _ in range(layers):
        mods += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    return nn.Sequential(*mods, nn.Linear(width, d_out))


def toy(cfg):
    """The toy MLPs (3 hidden layers of ``hidden_dim`` ReLU units), 2-D data."""
    hidden = cfg["hidden_dim"]
    gen_net, critic = _mlp(2, hidden, 2), _mlp(2, hidden, 1)

    class Gen(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = gen_net

        def forward(self, z, y=None):
            return self.net(z)

    data = torch.randn(100000, 2)

    def real_batch(n):
        return data[torch.randint(0, len(data), (n,))], None

    return _steps(Gen(), critic, lambda n: (torch.randn(n, 2), None), real_batch,
                  cfg["critic_batch"], cfg["generator_batch"], cfg["lr"], cfg["betas"], cfg["penalty"])


def mnist(cfg):
    """The official MNIST DCGAN pair (DIM 64, 5x5 stride-2 (transposed) convolutions)."""
    dim = cfg["dim"]

    class Gen(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(128, 4 * 4 * 4 * dim)
            # padding 2 / output_padding 1 gives 2H x 2W, as TensorFlow's "SAME"
            self.d1 = nn.ConvTranspose2d(4 * dim, 2 * dim, 5, 2, padding=2, output_padding=1)
            self.d2 = nn.ConvTranspose2d(2 * dim, dim, 5, 2, padding=2, output_padding=1)
            self.d3 = nn.ConvTranspose2d(dim, 1, 5, 2, padding=2, output_padding=1)

        def forward(self, z, y=None):
            h = F.relu(self.linear(z)).view(-1, 4 * dim, 4, 4)
            h = F.relu(self.d1(h))[:, :, :7, :7]
            h = F.relu(self.d2(h))
            return torch.sigmoid(self.d3(h))

    class Critic(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2d(1, dim, 5, 2, padding=2)
            self.c2 = nn.Conv2d(dim, 2 * dim, 5, 2, padding=2)
            self.c3 = nn.Conv2d(2 * dim, 4 * dim, 5, 2, padding=2)
            self.linear = nn.Linear(4 * 4 * 4 * dim, 1)

        def forward(self, x):
            h = F.leaky_relu(self.c1(x), 0.2)
            h = F.leaky_relu(self.c2(h), 0.2)
            h = F.leaky_relu(self.c3(h), 0.2)
            return self.linear(h.flatten(1))

    data = torch.rand(1000, 1, 28, 28)

    def real_batch(n):
        return data[torch.randint(0, len(data), (n,))], None

    return _steps(Gen(), Critic(), lambda n: (torch.randn(n, 128), None), real_batch,
                  cfg["critic_batch"], cfg["generator_batch"], cfg["lr"], cfg["betas"], cfg["penalty"])


def _mean_pool_kernel(w):
    """4x4 stride-2 kernel of a 3x3 convolution followed by 2x2 mean pooling."""
    return sum(F.pad(w, (b, 1 - b, a, 1 - a)) for a in (0, 1) for b in (0, 1)) * 0.25


def _upsample_kernel(w):
    """4x4 stride-2 transposed-convolution kernel of upsampling x2 then a 3x3 convolution."""
    w = w.flip(2, 3)
    return sum(F.pad(w, (b, 1 - b, a, 1 - a)) for a in (0, 1) for b in (0, 1)).transpose(0, 1)


def cifar10_networks(cfg):
    """``(generator, critic)``: the paper's CIFAR-10 ResNet pair (pre-activation blocks, nearest-neighbour
    upsampling, batch norm in the generator only, mean pooling); conditional batch
    norm and a 10-way critic head when ``num_classes`` is 10 (AC-WGAN-GP).

    With ``cfg["fused"]`` the same functions are computed as ``ppsci_ext`` computes
    them (:mod:`ppsci_ext.arch.functional`): conv3x3-then-pool as one 4x4 stride-2
    convolution, upsample-then-conv3x3 as one 4x4 stride-2 transposed convolution,
    pooling before a down-block's 1x1 shortcut, so that the benchmark can also
    compare the frameworks on equal arithmetic."""
    dim, k, fused = cfg["dim"], cfg["num_classes"], cfg.get("fused", False)

    def up(x):
        return F.interpolate(x, scale_factor=2, mode="nearest")

    def upsample_conv(x, conv):
        if fused:
            return F.conv_transpose2d(x, _upsample_kernel(conv.weight), conv.bias, stride=2, padding=1)
        return conv(up(x))

    def conv_mean_pool(x, conv):
        if fused:
            return F.conv2d(x, _mean_pool_kernel(conv.weight), conv.bias, stride=2, padding=1)
        return F.avg_pool2d(conv(x), 2)

    class CondBN(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.scale, self.offset = nn.Embedding(k, c), nn.Embedding(k, c)
            nn.init.ones_(self.scale.weight)
            nn.init.zeros_(self.offset.weight)

        def forward(self, x, y):
            h = F.batch_norm(x, None, None, training=True, eps=1e-5)
            return h * self.scale(y)[:, :, None, None] + self.offset(y)[:, :, None, None]

    class UpBlock(nn.Module):
        def __init__(self):
            super().__init__()
            self.n1 = CondBN(dim) if k else nn.BatchNorm2d(dim)
            self.n2 = CondBN(dim) if k else nn.BatchNorm2d(dim)
            self.c1, self.c2 = nn.Conv2d(dim, dim, 3, padding=1), nn.Conv2d(dim, dim, 3, padding=1)
            self.sc = nn.Conv2d(dim, dim, 1)

        def norm(self, n, x, y):
            return n(x, y) if k else n(x)

        def forward(self, x, y):
            h = upsample_conv(F.relu(self.norm(self.n1, x, y)), self.c1)
            shortcut = up(self.sc(x)) if fused else self.sc(up(x))
            return shortcut + self.c2(F.relu(self.norm(self.n2, h, y)))

    class Gen(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(128, 4 * 4 * dim)
            self.blocks = nn.ModuleList([UpBlock() for _ in range(3)])
            self.bn, self.out = nn.BatchNorm2d(dim), nn.Conv2d(dim, 3, 3, padding=1)

        def forward(self, z, y=None):
            h = self.linear(z).view(-1, dim, 4, 4)
            for block in self.blocks:
                h = block(h, y)
            return torch.tanh(self.out(F.relu(self.bn(h))))

    class CriticBlock(nn.Module):
        def __init__(self, down, first=False):
            super().__init__()
            self.down, self.first = down, first
            self.c1 = nn.Conv2d(3 if first else dim, dim, 3, padding=1)
            self.c2 = nn.Conv2d(dim, dim, 3, padding=1)
            self.sc = nn.Conv2d(3 if first else dim, dim, 1) if down else None

        def forward(self, x):
            if self.first:  # conv, ReLU, conv, pool; shortcut pool then 1x1 conv
                h = conv_mean_pool(F.relu(self.c1(x)), self.c2)
                return self.sc(F.avg_pool2d(x, 2)) + h
            h = F.relu(self.c1(F.relu(x)))
            if self.down:  # shortcut 1x1 conv then pool
                shortcut = self.sc(F.avg_pool2d(x, 2)) if fused else F.avg_pool2d(self.sc(x), 2)
                return shortcut + conv_mean_pool(h, self.c2)
            return x + self.c2(h)

    class Critic(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.Sequential(CriticBlock(True, first=True), CriticBlock(True),
                                        CriticBlock(False), CriticBlock(False))
            self.score = nn.Linear(dim, 1)
            self.classifier = nn.Linear(dim, k) if k else None

        def forward(self, x):
            f = F.relu(self.blocks(x)).mean(dim=(2, 3))
            return (self.score(f), self.classifier(f)) if k else self.score(f)

    return Gen().train(), Critic().train()


def cifar10(cfg):
    """Steps of :func:`cifar10_networks` on random CIFAR-10-shaped data."""
    k = cfg["num_classes"]
    gen, critic = cifar10_networks(cfg)
    pixels = np.random.default_rng(0).integers(0, 256, (1000, 3, 32, 32), dtype=np.uint8)
    labels = torch.randint(0, 10, (len(pixels),))

    def real_batch(n):
        idx = torch.randint(0, len(pixels), (n,))
        x = torch.from_numpy(pixels[idx.cpu().numpy()]).to(idx.device).float()
        return (x + torch.rand(x.shape)) / 128.0 - 1.0, labels[idx]  # dequantised

    def noise(n):
        return torch.randn(n, 128), (torch.randint(0, k, (n,)) if k else None)

    weights = (1.0, 0.1) if k else (0.0, 0.0)
    return _steps(gen, critic, noise, real_batch, cfg["critic_batch"],
                  cfg["generator_batch"], cfg["lr"], cfg["betas"], cfg["penalty"], weights)
