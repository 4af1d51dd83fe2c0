"""Does data-parallel training match single-process training? The toy metrics of
2-process runs (``TRAIN.processes=2``, one thread each) against the spread of
1-process runs with the same batch.

    python benchmarks/toy_data_parallel_spread.py [--mode 8gaussians] [--single 3]
        [--parallel 1] [--out outputs/dp_spread]

Every run is the toy entry point at its defaults for ``--mode`` except the batch:
twice the default critic and generator batches (as in the first published check,
when batch sizes were per process), which the 2-process runs split. Seeds
differ between runs (42, 43, ...). Each run is then evaluated with ``mode=eval``
(10,000 samples); the script prints the metrics of every run, the 1-process range
and whether each 2-process run lies within it. About 90 s per run on 2 cores.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from omegaconf import OmegaConf

REPO = Path(__file__).resolve().parent.parent
ENTRY = REPO / "examples" / "wgangp" / "wgangp_toy.py"
METRICS = ("modes_covered", "high_quality_share", "sliced_w1")


def _run(cmd, env=None, log=None):
    start = time.perf_counter()
    with open(log, "w") if log else open(os.devnull, "w") as sink:
        subprocess.run(cmd, check=True, stdout=sink, stderr=subprocess.STDOUT, env=env)
    return time.perf_counter() - start


def train_and_eval(out: Path, seed: int, mode: str, batch_overrides, processes: int) -> dict:
    shutil.rmtree(out, ignore_errors=True)  # this script's own run folder, from a previous run
    out.mkdir(parents=True)
    args = [str(ENTRY), "mode=train", f"output_dir={out}", f"seed={seed}", f"DATA.mode={mode}",
            *batch_overrides]
    seconds = _run([sys.executable, *args, f"TRAIN.processes={processes}"], log=out / "train_stdout.log")
    _run([sys.executable, str(ENTRY), "mode=eval", f"output_dir={out}", f"seed={seed}",
          f"DATA.mode={mode}", f"EVAL.pretrained_gen_model_path={out / 'model_generator.pdparams'}"],
         log=out / "eval_stdout.log")
    metrics = json.loads((out / "metrics.json").read_text())
    metrics["train_seconds"] = seconds
    return metrics


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", default="8gaussians")
    parser.add_argument("--single", type=int, default=3, help="1-process runs")
    parser.add_argument("--parallel", type=int, default=1, help="2-process runs")
    parser.add_argument("--out", default=str(REPO / "outputs" / "dp_spread"))
    parser.add_argument("--report-only", action="store_true",
                        help="print the table from the metrics.json files of an earlier run")
    args = parser.parse_args()

    cfg = OmegaConf.load(REPO / "conf" / "wgangp_toy.yaml")
    critic_batch = cfg.RECIPE[args.mode].critic_batch
    generator_batch = cfg.TRAIN.batch_size.generator
    doubled = [f"TRAIN.batch_size.critic={2 * critic_batch}",
                      f"TRAIN.batch_size.generator={2 * generator_batch}"]
    def run(folder, seed, overrides, processes):
        if args.report_only:
            metrics = json.loads((folder / "metrics.json").read_text())
            metrics["train_seconds"] = float("nan")
            return metrics
        return train_and_eval(folder, seed, args.mode, overrides, processes)

    runs = []
    for i in range(args.single):
        m = run(Path(args.out) / f"single_{i}", 42 + i, doubled, 1)
        runs.append(("1 process", 42 + i, m))
    for i in range(args.parallel):
        m = run(Path(args.out) / f"parallel_{i}", 42 + args.single + i, doubled, 2)
        runs.append(("2 processes", 42 + args.single + i, m))

    print(f"{args.mode}: critic batch {2 * critic_batch}, in one process or split between two")
    print(f"{'run':<22}{'seed':>5}" + "".join(f"{k:>22}" for k in METRICS) + f"{'train s':>10}")
    for name, seed, m in runs:
        print(f"{name:<22}{seed:>5}" + "".join(f"{float(m[k]):>22.4f}" for k in METRICS)
              + f"{m['train_seconds']:>10.1f}")
    singles = [m for name, _, m in runs if name.startswith("1")]
    for name, seed, m in runs:
        if name.startswith("2"):
            inside = {k: min(s[k] for s in singles) <= m[k] <= max(s[k] for s in singles) for k in METRICS}
            print(f"2-process run (seed {seed}) within the 1-process range [min, max]: "
                  + ", ".join(f"{k} {'yes' if ok else 'NO'}" for k, ok in inside.items()))
            spread = {k: (statistics.mean(s[k] for s in singles), statistics.stdev(s[k] for s in singles))
                      for k in METRICS}
            print("  in 1-process standard deviations from their mean: "
                  + ", ".join(f"{k} {(m[k] - mu) / sd:+.2f}" if sd else f"{k} (no spread)"
                              for k, (mu, sd) in spread.items()))


if __name__ == "__main__":
    main()
