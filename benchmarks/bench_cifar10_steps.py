"""Training-step speed of the paper's CIFAR-10 ResNet WGAN-GP on this CPU, Paddle
against PyTorch.

    python benchmarks/bench_cifar10_steps.py [--rounds 2] [--dim 128]
        [--critic-batch 64] [--generator-batch 128] [--num-classes 0] [--no-torch]

Times, in images per second:

* ``critic``: one full critic step of :class:`ppsci_ext.solver.WGANSolver`
  (``critic_step``: a fresh uint8 real batch scaled and dequantised, a detached fake
  batch, the critic on real and fake, the gradient penalty with its double backward,
  the Adam update), ``critic batch / step time``;
* ``generator``: one generator step (``generator_step``: generator forward, critic
  forward with frozen weights, backward, Adam update), ``generator batch / step time``;

and the same two steps for an equivalent PyTorch implementation of the same
networks (written below: pre-activation residual blocks, nearest-neighbour
upsampling, batch norm in the generator only, mean pooling), when torch is
importable. Each framework runs in its own worker process (one OpenMP runtime
each: Paddle's and torch's in one process slow each other down badly); the parent
alternates them step by step, with a short pause between steps so that idle
OpenMP threads stop spinning, after one warm-up step each, so a change in the
machine's load affects both alike. The figures are medians. Paddle runs with the
settings ``import ppsci_ext`` applies (``MKL_DEBUG_CPU_TYPE=5`` on AMD,
``OMP_NUM_THREADS`` = cores); torch gets the same thread count. Keep runs short on
a shared machine: at the paper's sizes a round takes about 30 s on 2 cores, and
the default run (a warm-up and 2 timed rounds) about 100 s.
"""

import ppsci_ext  # noqa: F401  (first: sets Paddle's CPU settings before paddle loads)

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from ppsci_ext.runtime import available_cores  # noqa: E402


def paddle_solver(args, images, labels, out_dir):
    """A WGANSolver with the paper's networks, losses and optimiser."""
    import paddle
    import ppsci

    from ppsci_ext.arch import ResNet32Critic
    from ppsci_ext.arch import ResNet32Generator
    from ppsci_ext.data.cifar10 import dequantize_batch
    from ppsci_ext.loss import CriticLoss
    from ppsci_ext.loss import GeneratorLoss
    from ppsci_ext.solver import WGANSolver

    paddle.seed(0)
    gen = ResNet32Generator(dim=args.dim, num_classes=args.num_classes)
    critic = ResNet32Critic(dim=args.dim, num_classes=args.num_classes)
    data = ppsci.constraint.SupervisedConstraint(
        {"dataset": {"name": "NamedArrayDataset", "input": {"x": images},
                     "label": {"label": labels} if args.num_classes else {}},
         "batch_size": args.critic_batch},
        CriticLoss(penalty_weight=10.0, class_weight=1.0 if args.num_classes else 0.0),
        name="critic",
    )

    def transform(inputs):
        return {"x": dequantize_batch(inputs["x"])}

    return WGANSolver(
        gen, critic, data, GeneratorLoss(class_weight=0.1 if args.num_classes else 0.0),
        ppsci.optimizer.Adam(2e-4, beta1=0.0, beta2=0.9)(gen),
        ppsci.optimizer.Adam(2e-4, beta1=0.0, beta2=0.9)(critic),
        critic_batch_size=args.critic_batch, generator_batch_size=args.generator_batch,
        real_transform=transform, output_dir=out_dir, epochs=1, iters_per_epoch=1, log_freq=1000,
    )


def torch_steps(args, images, labels):
    """``(critic_step, generator_step, parameter counts)`` of the same networks and
    losses in PyTorch."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    torch.manual_seed(0)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", available_cores())))
    dim, k = args.dim, args.num_classes

    def up(x):
        return F.interpolate(x, scale_factor=2, mode="nearest")

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
            h = self.c1(up(F.relu(self.norm(self.n1, x, y))))
            return self.sc(up(x)) + self.c2(F.relu(self.norm(self.n2, h, y)))

    class Generator(nn.Module):
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
            if self.first:  # conv, ReLU, conv, pool; shortcut pool then conv1x1
                h = F.avg_pool2d(self.c2(F.relu(self.c1(x))), 2)
                return self.sc(F.avg_pool2d(x, 2)) + h
            h = self.c2(F.relu(self.c1(F.relu(x))))
            if self.down:  # shortcut conv1x1 then pool
                return F.avg_pool2d(self.sc(x), 2) + F.avg_pool2d(h, 2)
            return x + h

    class Critic(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.Sequential(CriticBlock(True, first=True), CriticBlock(True),
                                        CriticBlock(False), CriticBlock(False))
            self.score = nn.Linear(dim, 1)
            self.classifier = nn.Linear(dim, k) if k else None

        def forward(self, x):
            f = F.relu(self.blocks(x)).mean(dim=(2, 3))
            return self.score(f), (self.classifier(f) if k else None)

    gen, critic = Generator().train(), Critic().train()
    opt_g = torch.optim.Adam(gen.parameters(), 2e-4, betas=(0.0, 0.9))
    opt_d = torch.optim.Adam(critic.parameters(), 2e-4, betas=(0.0, 0.9))
    rng = np.random.default_rng(0)

    def noise(n):
        z = torch.randn(n, 128)
        return z, (torch.randint(0, k, (n,)) if k else None)

    def critic_step():
        idx = rng.integers(0, len(images), args.critic_batch)
        pixels = torch.from_numpy(images[idx]).float()
        real = (pixels + torch.rand(pixels.shape)) / 128.0 - 1.0  # dequantised, as Paddle's
        with torch.no_grad():
            fake = gen(*noise(args.critic_batch))
        eps = torch.rand(args.critic_batch, 1, 1, 1)
        x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
        score, logits = critic(torch.cat([real, fake]))
        n = args.critic_batch
        loss = score[n:].mean() - score[:n].mean()
        grad = torch.autograd.grad(critic(x_hat)[0].sum(), x_hat, create_graph=True)[0]
        loss = loss + 10.0 * ((grad.flatten(1).norm(dim=1) - 1.0) ** 2).mean()
        if k:
            loss = loss + F.cross_entropy(logits[:n], torch.from_numpy(labels[idx]))
        opt_d.zero_grad(set_to_none=True)
        loss.backward()
        opt_d.step()

    def generator_step():
        for p in critic.parameters():
            p.requires_grad_(False)
        z, y = noise(args.generator_batch)
        score, logits = critic(gen(z, y))
        loss = -score.mean()
        if k:
            loss = loss + 0.1 * F.cross_entropy(logits, y)
        opt_g.zero_grad(set_to_none=True)
        loss.backward()
        opt_g.step()
        for p in critic.parameters():
            p.requires_grad_(True)

    counts = tuple(sum(p.numel() for p in m.parameters()) for m in (gen, critic))
    return critic_step, generator_step, counts


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _data(args):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (4 * args.critic_batch, 3, 32, 32), dtype=np.uint8)
    return images, rng.integers(0, 10, len(images)).astype("int64")


def worker(args) -> None:
    """Build one framework's steps, then run the step named on each stdin line and
    answer ``@@ seconds`` (other output, e.g. ppsci's log, is ignored)."""
    images, labels = _data(args)
    with tempfile.TemporaryDirectory() as out_dir:
        if args.worker == "paddle":
            import paddle

            solver = paddle_solver(args, images, labels, out_dir)
            steps = {"critic": solver.critic_step, "generator": solver.generator_step}
            counts = [sum(int(np.prod(p.shape)) for p in m.parameters() if p.trainable)
                      for m in (solver.generator_arch, solver.critic_arch)]
            info = f"paddle {paddle.__version__} (OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')})"
        else:
            import torch

            critic_step, generator_step, counts = torch_steps(args, images, labels)
            steps = {"critic": critic_step, "generator": generator_step}
            info = f"torch {torch.__version__} ({torch.get_num_threads()} threads)"
        print(f"@@ {info}; parameters G {counts[0]:,}, D {counts[1]:,}", flush=True)
        for line in sys.stdin:
            kind = line.strip()
            if kind == "quit":
                break
            print(f"@@ {_timed(steps[kind]):.6f}", flush=True)


class _Worker:
    def __init__(self, name, args):
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", name, "--dim", str(args.dim),
               "--critic-batch", str(args.critic_batch), "--generator-batch",
               str(args.generator_batch), "--num-classes", str(args.num_classes)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        self.info = self._answer()

    def _answer(self) -> str:
        for line in self.proc.stdout:
            if line.startswith("@@ "):
                return line[3:].strip()
        raise RuntimeError(f"benchmark worker {self.proc.args[3]} ended early")

    def step(self, kind: str) -> float:
        self.proc.stdin.write(kind + "\n")
        self.proc.stdin.flush()
        return float(self._answer())

    def close(self):
        self.proc.stdin.write("quit\n")
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="timed steps of each kind")
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--critic-batch", type=int, default=64)
    parser.add_argument("--generator-batch", type=int, default=128)
    parser.add_argument("--num-classes", type=int, default=0, help="10 for AC-WGAN-GP")
    parser.add_argument("--pause", type=float, default=0.5,
                        help="seconds between steps, so idle OpenMP threads stop spinning")
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--worker", choices=("paddle", "torch"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)

    names = ["paddle"]
    if not args.no_torch and importlib.util.find_spec("torch") is not None:
        names.append("torch")
    workers = {name: _Worker(name, args) for name in names}
    load = os.getloadavg()
    print(f"cores: {available_cores()}, MKL_DEBUG_CPU_TYPE={os.environ.get('MKL_DEBUG_CPU_TYPE')}, "
          f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    for w in workers.values():
        print(f"  {w.info}")
    if "torch" not in workers:
        print("  torch: " + ("skipped" if args.no_torch else "not importable"))
    print(f"dim {args.dim}, critic batch {args.critic_batch}, generator batch "
          f"{args.generator_batch}, classes {args.num_classes}; {args.rounds} timed step(s) of "
          "each kind per framework after 1 warm-up, alternating")
    times = {(fw, kind): [] for fw in workers for kind in ("critic", "generator")}
    try:
        for r in range(args.rounds + 1):
            for kind in ("critic", "generator"):
                for fw, w in workers.items():
                    time.sleep(args.pause)
                    t = w.step(kind)
                    if r > 0:
                        times[(fw, kind)].append(t)
    finally:
        for w in workers.values():
            w.close()
    batch = {"critic": args.critic_batch, "generator": args.generator_batch}
    rates = {key: batch[key[1]] / float(np.median(ts)) for key, ts in times.items()}
    for kind in ("critic", "generator"):
        line = f"{kind:>9} step, images/s:"
        for fw in workers:
            line += f"  {fw} {rates[(fw, kind)]:7.2f} ({np.median(times[(fw, kind)]):.2f} s/step)"
        if "torch" in workers:
            line += f"  paddle/torch {rates[('paddle', kind)] / rates[('torch', kind)]:.2f}"
        print(line)
    final = os.getloadavg()
    print(f"load average after: {final[0]:.2f} {final[1]:.2f} {final[2]:.2f}")


if __name__ == "__main__":
    main()
