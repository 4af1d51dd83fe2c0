"""Training-step speed of the three experiments on this machine, Paddle against
PyTorch.

    python benchmarks/bench_steps.py [--experiments toy mnist cifar10] [--rounds 5]
        [--variants tuned avx2 untuned] [--num-classes 0] [--no-torch]

For each experiment it times the project's own steps, built from the experiment's
config (``conf/wgangp_<name>.yaml`` at its default sizes; MNIST at the official
DIM 64, not the default 16) through
:func:`ppsci_ext.experiments.common.build_solver`:

* ``critic``: :meth:`WGANSolver.critic_step` (real batch, detached fake batch, the
  critic on both, the gradient penalty with its double backward, the Adam update);
* ``generator``: :meth:`WGANSolver.generator_step` (generator forward, frozen critic
  forward, backward, Adam update);

and the same steps of the PyTorch networks in ``torch_reference.py`` when torch is
importable (with ``--torch-fused``, for CIFAR-10 also torch computing the networks
with the same fused convolutions as ``ppsci_ext``: equal arithmetic). It prints steps per second, images (or points) per second, the
Paddle/PyTorch ratio and each worker's peak resident memory.

Each framework (and each Paddle *variant*) runs in its own worker process: two
OpenMP runtimes in one process slow each other down. The parent alternates the
workers step by step, pausing briefly so idle OpenMP threads stop spinning, so a
change in the machine's load affects all alike; figures are medians over the
rounds after one warm-up round (a round times 20 toy steps, 2 MNIST steps or one
CIFAR-10 step of each kind per worker). Paddle variants:

* ``tuned``: what ``import ppsci_ext`` does by itself (threads = cores; on AMD the
  MKL dispatch patch of :mod:`ppsci_ext.runtime`);
* ``tuned-1thread``: the same on one thread (how much the second core adds);
* ``avx2``: threads = cores and ``MKL_DEBUG_CPU_TYPE=5`` instead of the patch (the
  setting this project used before);
* ``untuned``: plain Paddle (``PPSCI_EXT_CPU_TUNING=0``: one thread, MKL untouched).
"""

import ppsci_ext  # noqa: F401  (first: sets Paddle's CPU settings before paddle loads)

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from ppsci_ext.runtime import available_cores  # noqa: E402

HERE = Path(__file__).resolve().parent
CONF = HERE.parent / "conf"

#: Steps per timed sample: tiny steps are timed in runs, so that waking the
#: OpenMP threads after the pause is not what gets measured.
REPEAT = {"toy": 20, "mnist": 2, "cifar10": 1}

#: Environment of each Paddle variant (applied before the worker starts).
VARIANTS = {
    "tuned": {},
    "tuned-1thread": {"OMP_NUM_THREADS": "1"},
    "avx2": {"MKL_DEBUG_CPU_TYPE": "5"},
    "untuned": {"PPSCI_EXT_CPU_TUNING": "0", "OMP_NUM_THREADS": None, "MKL_DEBUG_CPU_TYPE": None},
}


def experiment_settings(name: str, num_classes: int):
    """``(config overrides, real-data shape, torch reference settings)`` of one
    experiment at its default sizes."""
    if name == "toy":
        overrides = ["DATA.mode=8gaussians", "TRAIN.batch_size.critic=256",
                     "TRAIN.batch_size.generator=256"]
        return overrides, (2,), {"hidden_dim": 512, "critic_batch": 256, "generator_batch": 256,
                                 "lr": 1e-4, "betas": (0.5, 0.9), "penalty": 0.1}
    if name == "mnist":
        # the official width (the default trains dim 16; the comparison with PyTorch
        # is of the official networks)
        dim = 64
        overrides = [f"MODEL.generator.dim={dim}", f"MODEL.critic.dim={dim}"]
        return overrides, (1, 28, 28), {"dim": dim, "critic_batch": 50, "generator_batch": 50,
                                 "lr": 1e-4, "betas": (0.5, 0.9), "penalty": 10.0}
    if name == "cifar10":
        conditional = num_classes > 0
        overrides = [
            f"MODEL.num_classes={num_classes}",
            "MODEL.generator.input_keys=" + ("[z,label]" if conditional else "[z]"),
            "MODEL.critic.output_keys=" + ("[score,logits]" if conditional else "[score]"),
        ]
        return overrides, (3, 32, 32), {"dim": 128, "critic_batch": 64, "generator_batch": 128,
                                        "num_classes": num_classes, "lr": 2e-4,
                                        "betas": (0.0, 0.9), "penalty": 10.0}
    raise ValueError(f"unknown experiment {name!r}: toy, mnist or cifar10")


def paddle_steps(name: str, num_classes: int, out_dir: str):
    """The experiment's own WGANSolver steps on random real data of its shape."""
    from hydra import compose
    from hydra import initialize_config_dir

    from ppsci_ext.experiments import common

    overrides, shape, _ = experiment_settings(name, num_classes)
    with initialize_config_dir(config_dir=str(CONF), version_base=None):
        cfg = compose(f"wgangp_{name}.yaml", overrides=overrides + [f"output_dir={out_dir}"])
    rng = np.random.default_rng(0)
    transform = None
    if name == "cifar10":
        images = rng.integers(0, 256, (1000,) + shape, dtype=np.uint8)
        from ppsci_ext.experiments.cifar10 import real_transform

        transform = real_transform(cfg)
    elif name == "mnist":
        images = rng.random((1000,) + shape, dtype=np.float32)
    else:
        images = rng.standard_normal((100000,) + shape).astype("float32")
    labels = {"label": rng.integers(0, 10, len(images)).astype("int64")} if num_classes else None
    generator, critic = common.build_networks(cfg)
    solver = common.build_solver(cfg, generator, critic, {cfg.MODEL.critic.input_keys[0]: images},
                                 labels, real_transform=transform)
    counts = [sum(int(np.prod(p.shape)) for p in m.parameters() if p.trainable)
              for m in (generator, critic)]
    batches = (cfg.TRAIN.batch_size.critic, cfg.TRAIN.batch_size.generator)
    return solver.critic_step, solver.generator_step, counts, batches


def torch_steps(name: str, num_classes: int, fused: bool = False):
    import torch

    import torch_reference

    torch.manual_seed(0)
    if torch.cuda.is_available():  # the same steps on the GPU, where there is one
        torch.set_default_device("cuda")
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS") or available_cores()))
    settings = dict(experiment_settings(name, num_classes)[2], fused=fused)
    critic_step, generator_step, counts = getattr(torch_reference, name)(settings)
    return critic_step, generator_step, counts, (settings["critic_batch"], settings["generator_batch"])


def worker(args) -> None:
    """Build one framework's steps, then run the step named on each stdin line and
    answer ``@@ seconds`` (anything else printed, e.g. ppsci's log, is ignored)."""
    sys.path.insert(0, str(HERE))
    with tempfile.TemporaryDirectory() as out_dir:
        if args.worker in ("torch", "torch-fused"):
            import torch

            critic, generator, counts, batches = torch_steps(
                args.experiment, args.num_classes, fused=args.worker == "torch-fused")
            info = f"torch {torch.__version__}, {torch.get_num_threads()} threads, {torch.get_default_device()}"
            synchronize = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
        else:
            import paddle

            from ppsci_ext import runtime

            critic, generator, counts, batches = paddle_steps(args.experiment, args.num_classes, out_dir)
            on_cpu = paddle.device.get_device().startswith("cpu")
            synchronize = (lambda: None) if on_cpu else paddle.device.synchronize
            info = (f"paddle {paddle.__version__} on {paddle.device.get_device()}, "
                    f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, "
                    f"MKL_DEBUG_CPU_TYPE={os.environ.get('MKL_DEBUG_CPU_TYPE')}, "
                    f"MKL patched={runtime.mkl_dispatch_unlocked}")
        steps = {"critic": critic, "generator": generator}
        print(f"@@ {info}; parameters G {counts[0]:,}, D {counts[1]:,}; batches {batches[0]}/{batches[1]}",
              flush=True)
        for line in sys.stdin:
            kind = line.strip()
            if kind == "quit":
                break
            if kind == "memory":  # peak resident set, MiB (Linux reports KiB)
                print(f"@@ {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.6f}", flush=True)
                continue
            kind, repeat = kind.split()
            start = time.perf_counter()
            for _ in range(int(repeat)):
                steps[kind]()
            synchronize()
            print(f"@@ {(time.perf_counter() - start) / int(repeat):.6f}", flush=True)


class Worker:
    """One worker process, driven over stdin/stdout."""

    def __init__(self, label: str, framework: str, experiment: str, num_classes: int, env=None):
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", framework,
               "--experiments", experiment, "--num-classes", str(num_classes)]
        full_env = dict(os.environ)
        for key, value in (env or {}).items():
            if value is None:
                full_env.pop(key, None)
            else:
                full_env[key] = value
        self.label = label
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, env=full_env, cwd=str(HERE))
        self.info = self._answer()

    def _answer(self) -> str:
        for line in self.proc.stdout:
            if line.startswith("@@ "):
                return line[3:].strip()
        raise RuntimeError(f"benchmark worker {self.label} ended early")

    def ask(self, what: str) -> float:
        self.proc.stdin.write(what + "\n")
        self.proc.stdin.flush()
        return float(self._answer())

    def close(self) -> None:
        self.proc.stdin.write("quit\n")
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def run_experiment(name: str, args) -> None:
    labels = [f"paddle-{v}" if len(args.variants) > 1 else "paddle" for v in args.variants]
    workers = {label: Worker(label, "paddle", name, args.num_classes, VARIANTS[v])
               for label, v in zip(labels, args.variants)}
    if args.torch:
        workers["torch"] = Worker("torch", "torch", name, args.num_classes)
        if args.torch_fused and name == "cifar10":
            workers["torch-fused"] = Worker("torch-fused", "torch-fused", name, args.num_classes)
    print(f"\n== {name}" + (f" (AC, {args.num_classes} classes)" if args.num_classes and name == "cifar10" else ""))
    for label, w in workers.items():
        print(f"  {label}: {w.info}")
    _, _, ref = experiment_settings(name, args.num_classes)
    batch = {"critic": ref["critic_batch"], "generator": ref["generator_batch"]}
    times = {(label, kind): [] for label in workers for kind in batch}
    try:
        for r in range(args.rounds + 1):
            for kind in batch:
                for label, w in workers.items():
                    time.sleep(args.pause)
                    t = w.ask(f"{kind} {REPEAT[name]}")
                    if r > 0:
                        times[(label, kind)].append(t)
        memory = {label: w.ask("memory") for label, w in workers.items()}
    finally:
        for w in workers.values():
            w.close()
    unit = "points" if name == "toy" else "images"
    for kind in batch:
        print(f"  {kind} step ({batch[kind]} {unit}):")
        for label in workers:
            sec = float(np.median(times[(label, kind)]))
            line = f"    {label:<15} {1 / sec:8.2f} steps/s {batch[kind] / sec:10.1f} {unit}/s"
            for ref in ("torch", "torch-fused"):
                if ref in workers and not label.startswith("torch"):
                    ref_sec = float(np.median(times[(ref, kind)]))
                    line += f"   x{ref_sec / sec:.2f} {ref}"
            print(line)
    n_critic = 5  # the paper's, for all three

    def minutes_per_1000(label):
        critic_s, generator_s = (float(np.median(times[(label, k)])) for k in ("critic", "generator"))
        return 1000 * (n_critic * critic_s + generator_s) / 60

    print(f"  time per 1000 generator iterations ({n_critic} critic steps each): "
          + ", ".join(f"{label} {minutes_per_1000(label):.1f} min" for label in workers))
    print("  peak memory (MiB): " + ", ".join(f"{label} {m:.0f}" for label, m in memory.items()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--experiments", nargs="+", default=["toy", "mnist", "cifar10"],
                        choices=("toy", "mnist", "cifar10"))
    parser.add_argument("--rounds", type=int, default=5, help="timed steps of each kind")
    parser.add_argument("--variants", nargs="+", default=["tuned"], choices=tuple(VARIANTS))
    parser.add_argument("--num-classes", type=int, default=0, help="CIFAR-10: 10 for AC-WGAN-GP")
    parser.add_argument("--pause", type=float, default=0.3,
                        help="seconds between steps, so idle OpenMP threads stop spinning")
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--torch-fused", action="store_true",
                        help="CIFAR-10: also time torch computing the networks as ppsci_ext does "
                             "(fused conv-pool and upsample-conv), i.e. with equal arithmetic")
    parser.add_argument("--worker", choices=("paddle", "torch", "torch-fused"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        args.experiment = args.experiments[0]
        return worker(args)
    args.torch = not args.no_torch and importlib.util.find_spec("torch") is not None
    load = os.getloadavg()
    print(f"cores: {available_cores()}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
          f"{args.rounds} timed round(s) after 1 warm-up, workers alternating"
          + ("" if args.torch else "; torch " + ("skipped" if args.no_torch else "not importable")))
    for name in args.experiments:
        run_experiment(name, args)
    load = os.getloadavg()
    print(f"\nload average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
