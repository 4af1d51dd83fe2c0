"""Training iterations per second in one process and in several (``TRAIN.processes``).

    python benchmarks/bench_processes.py [--experiment mnist] [--iterations 200]
        [--processes 1 2] [override ...]

Runs an experiment's entry point with its default recipe for ``--iterations``
generator iterations once per process count and prints the iterations per second
between the first and the last log line (start-up excluded) and the command's wall
time. The batch sizes are totals, so every run trains the same recipe. CIFAR-10 runs
on an archive of random images written here (its speed does not depend on the
pixels), MNIST on the installed digits (the ``mnist`` extra) and the toy on its own
points. Run it with the machine otherwise idle, and long enough for a minute or more
per run (the log's timestamps are to the second).
"""

import argparse
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
_LOG_LINE = re.compile(r"\[(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d)\] ppsci INFO: \[Train\]\[Iter\s+(\d+)/")


def random_cifar_archive(folder: Path, images_per_batch: int = 1000) -> Path:
    """A ``cifar-10-python.tar.gz`` of random images in the real layout."""
    from ppsci_ext.data.cifar10 import write_cifar10

    rng = np.random.default_rng(0)
    def split(n):
        return rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8), rng.integers(0, 10, n)
    return Path(write_cifar10(folder / "cifar-10-python.tar.gz", split(5 * images_per_batch),
                              split(images_per_batch)))


def iterations_per_second(log_text: str) -> float:
    """Iterations per second between the first and the last ``[Train][Iter n/N]`` line."""
    points = [(datetime.strptime(t, "%Y/%m/%d %H:%M:%S"), int(i)) for t, i in _LOG_LINE.findall(log_text)]
    if len(points) < 2 or points[-1][0] == points[0][0]:
        raise SystemExit("too few log lines to time; raise --iterations")
    (t0, i0), (t1, i1) = points[0], points[-1]
    return (i1 - i0) / (t1 - t0).total_seconds()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--experiment", choices=("toy", "mnist", "cifar10"), default="mnist")
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("overrides", nargs="*", help="more Hydra overrides for every run")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_processes_"))
    extra = list(args.overrides)
    if args.experiment == "cifar10":
        extra.append(f"DATA.data_path={random_cifar_archive(work)}")
    entry = REPO / "examples" / "wgangp" / f"wgangp_{args.experiment}.py"
    log_every = max(1, args.iterations // 10)
    print(f"{args.experiment}, {args.iterations} iterations of the default recipe")
    for n in args.processes:
        out = work / f"processes_{n}"
        cmd = [sys.executable, str(entry), "mode=train", f"output_dir={out}", f"TRAIN.processes={n}",
               "TRAIN.epochs=1", f"TRAIN.iters_per_epoch={args.iterations}", f"log_freq={log_every}",
               *extra]
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            print(done.stderr[-3000:], file=sys.stderr)
            return 1
        rate = iterations_per_second((out / "train.log").read_text())
        print(f"  {n} process(es): {rate:.3f} iterations/s ({1000 / rate / 60:.1f} min per 1,000), "
              f"command {wall:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
