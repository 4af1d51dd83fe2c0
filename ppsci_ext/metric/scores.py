r"""Inception Score and FID with the FID Inception network, comparable with published numbers.

Images go through :class:`ppsci_ext.metric.inception.FIDInceptionV3` in batches
(progress shown with tqdm if installed, else a line on stderr), so only one batch
of images is in memory at a time. Two image conventions are accepted:

* floating point, NCHW, values in $[-1, 1]$ (a generator's ``tanh`` output), or
* ``uint8``, NHWC, values in $[0, 255]$ (image files, data sets).

Grey images (one channel, or no channel axis: ``(N, H, W)``) are repeated to three
channels. Floats are quantised to ``uint8`` first, as in the WGAN-GP code,
$q = \lfloor (x + 1) \cdot 255.99 / 2 \rfloor$ clipped to $[0, 255]$; the network
then resizes to $299 \times 299$. Published numbers use 50,000 samples
(``DEFAULT_NUM_SAMPLES``) and, for the Inception Score, 10 splits.

Reference statistics $(\mu, \Sigma)$ of real data are computed once and cached as
``.npz`` files (keys ``mu`` and ``sigma``, as pytorch-fid's) in
``<cache>/fid_stats/``, keyed by a hash of the data.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
import warnings
from typing import Callable, Dict, Iterable, Iterator, Optional, Sequence, Tuple, Union

import numpy as np
import paddle

from ppsci_ext.cache import update_array_digest
from ppsci_ext.cache import update_digest
from scipy import linalg
from scipy import special

from ppsci_ext.metric import inception as _inception

__all__ = [
    "DEFAULT_NUM_SAMPLES",
    "to_inception_input",
    "inception_outputs",
    "inception_score",
    "feature_statistics",
    "frechet_distance",
    "fid_from_features",
    "image_statistics",
    "compute_inception_score",
    "compute_fid",
    "inception_metrics",
    "load_statistics",
    "reference_statistics_from_array",
    "reference_statistics_from_folder",
    "reference_statistics_from_file",
    "build_inception_score_metric",
    "build_fid_metric",
]

#: Sample count of published Inception Scores and FIDs.
DEFAULT_NUM_SAMPLES = 50000
_STATS_VERSION = "fid-inception-2015-12-05/pool3/v1"
_IMAGE_EXTS = (".png", ".jpg", ".jpeg")

Images = Union[np.ndarray, paddle.Tensor, Iterable]
Model = Union[None, str, _inception.FIDInceptionV3]
Stats = Tuple[np.ndarray, np.ndarray]


# ------------------------------------------------------------------ image batches


def to_inception_input(images: Union[np.ndarray, paddle.Tensor]) -> np.ndarray:
    r"""One batch in either convention -> float32 NCHW, 3 channels, values in $\{0, \dots, 255\}$.

    ``uint8`` input is NHWC (or NHW for grey); floating point input is NCHW (or NHW)
    in $[-1, 1]$ and is quantised by
    $$ q = \operatorname{clip}\left(\left\lfloor \frac{(x + 1) \cdot 255.99}{2}
       \right\rfloor, 0, 255\right). $$

    Args:
        images (Union[np.ndarray, paddle.Tensor]): One batch of images.

    Returns:
        np.ndarray: Array of shape (N, 3, H, W), dtype float32.

    Raises:
        ValueError: On a shape with neither 1 nor 3 channels, or non-finite values.

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.metric.scores import to_inception_input
        >>> to_inception_input(np.array([[[-1.0, 0.0, 1.0]]]))  # one 1x3 grey image
        array([[[[  0., 127., 255.]],
        <BLANKLINE>
                [[  0., 127., 255.]],
        <BLANKLINE>
                [[  0., 127., 255.]]]], dtype=float32)
        >>> to_inception_input(np.zeros((2, 8, 8, 3), np.uint8)).shape
        (2, 3, 8, 8)
    """
    x = images.numpy() if isinstance(images, paddle.Tensor) else np.asarray(images)
    shape = x.shape
    if x.ndim == 3:  # grey, no channel axis
        x = x[:, None] if x.dtype != np.uint8 else x[..., None]
    if x.ndim != 4:
        raise ValueError(f"expected a batch of images (N, C, H, W) or (N, H, W, C), got {x.shape}")
    if x.dtype == np.uint8:
        x = x.transpose(0, 3, 1, 2)
    elif np.issubdtype(x.dtype, np.floating):
        if not np.all(np.isfinite(x)):
            raise ValueError("images contain NaN or Inf values")
        x = np.clip(np.floor((x.astype(np.float64) + 1.0) * (255.99 / 2.0)), 0, 255)
    else:
        raise ValueError(f"images must be uint8 (NHWC) or float in [-1, 1] (NCHW), got {x.dtype}")
    if x.shape[1] == 1:
        x = np.repeat(x, 3, axis=1)
    if x.shape[1] != 3:
        raise ValueError(
            f"images need 1 or 3 channels (float: NCHW, uint8: NHWC), got shape {shape}"
        )
    return np.ascontiguousarray(x, dtype=np.float32)


def _batches(images: Images, batch_size: int, num_samples: Optional[int]) -> Iterator:
    """Slices of at most ``batch_size`` images, ``num_samples`` in all (None: every one)."""
    if isinstance(images, (np.ndarray, paddle.Tensor)):
        total = len(images) if num_samples is None else min(num_samples, len(images))
        for start in range(0, total, batch_size):
            yield images[start : min(start + batch_size, total)]
        return
    seen = 0
    for batch in images:
        if num_samples is not None:
            batch = batch[: num_samples - seen]
        for start in range(0, len(batch), batch_size):
            yield batch[start : start + batch_size]
        seen += len(batch)
        if num_samples is not None and seen >= num_samples:
            return


class _Progress:
    """tqdm when installed, else a line on stderr about every 10% (or 30 s)."""

    def __init__(self, total: Optional[int], desc: str, enabled: bool):
        self.total, self.desc, self.enabled, self.done = total, desc, enabled, 0
        self.bar, self.last = None, time.time()
        if enabled:
            try:
                from tqdm import tqdm

                self.bar = tqdm(total=total, desc=desc, unit="img")
            except ImportError:
                pass

    def update(self, n: int):
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.enabled:
            tenth = self.total and max(1, self.total // 10)
            crossed = bool(tenth) and self.done // tenth != (self.done - n) // tenth
            if crossed or self.done == self.total or time.time() - self.last > 30:
                self.last = time.time()
                print(f"{self.desc}: {self.done}/{self.total or '?'} images", file=sys.stderr)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _model(model: Model, need_logits: bool) -> _inception.FIDInceptionV3:
    if model is None or isinstance(model, str):
        return _inception.load_fid_inception(model, require_fc=need_logits)
    if need_logits and not model.with_fc:
        raise RuntimeError(
            _inception._missing_fc_message("the given model", _inception.cache_dir())
        )
    model.eval()
    return model


def _iter_outputs(images, model, batch_size, num_samples, outputs, progress, desc):
    """Yield dicts of numpy outputs, one per batch."""
    net = _model(model, "logits" in outputs)
    total = len(images) if isinstance(images, (np.ndarray, paddle.Tensor)) else None
    if num_samples is not None:
        total = num_samples if total is None else min(total, num_samples)
    bar = _Progress(total, desc, progress)
    try:
        with paddle.no_grad():
            for batch in _batches(images, int(batch_size), num_samples):
                out = net(paddle.to_tensor(to_inception_input(batch)))
                bar.update(len(batch))
                yield {name: out[name].numpy() for name in outputs}
    finally:
        bar.close()


def inception_outputs(
    images: Images,
    model: Model = None,
    batch_size: int = 50,
    num_samples: Optional[int] = None,
    outputs: Sequence[str] = ("pool3",),
    progress: bool = True,
) -> Dict[str, np.ndarray]:
    r"""Run images through the FID Inception network in batches.

    ``"pool3"`` gives the 2048-d features $f$ (FID), ``"logits"`` the 1008 logits
    $W^\top f$ without bias (Inception Score; needs the fc weights).

    Args:
        images (Images): An array or tensor of images, or an iterable of batches (see
            the module docstring for the two conventions).
        model (Model): A network, a weights file, or None for
            :func:`~ppsci_ext.metric.inception.load_fid_inception`. Defaults to None.
        batch_size (int, optional): Images per forward pass. Defaults to 50.
        num_samples (Optional[int]): Use at most this many images. Defaults to None (all).
        outputs (Sequence[str], optional): Any of ``"pool3"`` and ``"logits"``.
            Defaults to ("pool3",).
        progress (bool, optional): Show progress. Defaults to True.

    Returns:
        Dict[str, np.ndarray]: ``"pool3"`` of shape (N, 2048) and/or ``"logits"`` of
            shape (N, 1008), float32.

    Raises:
        RuntimeError: If ``"logits"`` is asked for and the weights have no fc layer.

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.metric.scores import inception_outputs
        >>> images = np.zeros((4, 32, 32, 3), np.uint8)
        >>> inception_outputs(images, progress=False)["pool3"].shape  # doctest: +SKIP
        (4, 2048)
    """
    parts = {name: [] for name in outputs}
    for out in _iter_outputs(
        images, model, batch_size, num_samples, outputs, progress, "inception"
    ):
        for name in outputs:
            parts[name].append(out[name])
    return {
        name: np.concatenate(p)
        if p
        else np.zeros((0, 1008 if name == "logits" else 2048), np.float32)
        for name, p in parts.items()
    }


# ------------------------------------------------------------------ Inception Score


def inception_score(
    probs_or_logits: Union[np.ndarray, paddle.Tensor],
    splits: int = 10,
    logits: Optional[bool] = None,
) -> Tuple[float, float]:
    r"""Inception Score from class probabilities (or logits), mean and std over splits.

    The $N$ samples are cut into ``splits`` consecutive parts $P_k$ (as the original
    code: rows $\lfloor kN/s \rfloor$ to $\lfloor (k+1)N/s \rfloor$); for each,
    $$ \mathrm{IS}_k = \exp\left( \frac{1}{|P_k|} \sum_{x \in P_k}
       \mathrm{KL}\left(p(y|x) \,\|\, \hat p_k(y)\right) \right), \qquad
       \hat p_k(y) = \frac{1}{|P_k|} \sum_{x \in P_k} p(y|x), $$
    with $0 \log 0 = 0$. The result is the mean and (population) standard deviation
    of the $\mathrm{IS}_k$.

    Args:
        probs_or_logits (Union[np.ndarray, paddle.Tensor]): Shape (N, K), N >= splits.
        splits (int, optional): Number of parts. Defaults to 10.
        logits (Optional[bool]): Whether the input is logits (softmax applied); None
            detects it (probabilities are >= 0 with rows summing to 1). Defaults to None.

    Returns:
        Tuple[float, float]: Mean and standard deviation of the score over the splits.

    Raises:
        ValueError: On a wrong shape, too few samples or non-finite values.

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.metric.scores import inception_score
        >>> inception_score(np.eye(4)[[0, 1, 2, 3] * 5], splits=5)  # 4 classes, evenly
        (4.0, 0.0)
        >>> inception_score(np.ones((10, 3)) / 3, splits=2)  # no confidence at all
        (1.0, 0.0)
    """
    p = probs_or_logits.numpy() if isinstance(probs_or_logits, paddle.Tensor) else probs_or_logits
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 2 or len(p) < max(int(splits), 1):
        raise ValueError(f"expected (N, K) with N >= splits={splits}, got shape {p.shape}")
    if not np.all(np.isfinite(p)):
        raise ValueError("probabilities or logits contain NaN or Inf values")
    if logits is None:
        logits = not (np.all(p >= 0) and np.allclose(p.sum(axis=1), 1.0, atol=1e-3))
    if logits:
        p = special.softmax(p, axis=1)
    n, scores = len(p), []
    for k in range(int(splits)):
        part = p[k * n // splits : (k + 1) * n // splits]
        marginal = part.mean(axis=0, keepdims=True)
        kl = special.xlogy(part, part) - special.xlogy(part, marginal)
        scores.append(np.exp(kl.sum(axis=1).mean()))
    return float(np.mean(scores)), float(np.std(scores))


# ------------------------------------------------------------------------- FID


def feature_statistics(features: Union[np.ndarray, paddle.Tensor]) -> Stats:
    r"""Mean and covariance of features (float64), $\mu = \bar f$,
    $\Sigma = \frac{1}{N - 1} \sum_i (f_i - \mu)(f_i - \mu)^\top$.

    Args:
        features (Union[np.ndarray, paddle.Tensor]): Shape (N, D), N >= 2.

    Returns:
        Stats: ``(mu, sigma)`` of shapes (D,) and (D, D).

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.metric.scores import feature_statistics
        >>> mu, sigma = feature_statistics(np.array([[0.0, 1.0], [2.0, 3.0]]))
        >>> mu, sigma
        (array([1., 2.]), array([[2., 2.],
               [2., 2.]]))
    """
    f = features.numpy() if isinstance(features, paddle.Tensor) else features
    f = np.asarray(f, dtype=np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"expected features of shape (N, D) with N >= 2, got {f.shape}")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    r"""Fréchet distance between two Gaussians $N(\mu_1, \Sigma_1)$ and $N(\mu_2, \Sigma_2)$.

    $$ d^2 = \lVert \mu_1 - \mu_2 \rVert_2^2
       + \operatorname{Tr}\left(\Sigma_1 + \Sigma_2 - 2 \sqrt{\Sigma_1 \Sigma_2}\right), $$
    with the matrix square root of ``scipy.linalg.sqrtm``, handled as pytorch-fid
    does: if it is not finite, both covariances get $\epsilon I$ added and it is
    taken again; a complex result whose diagonal has an imaginary part above
    $10^{-3}$ raises, a smaller one is numerical residue and is dropped.

    Args:
        mu1 (np.ndarray): Mean of the first set, shape (D,).
        sigma1 (np.ndarray): Covariance of the first set, shape (D, D).
        mu2 (np.ndarray): Mean of the second set, shape (D,).
        sigma2 (np.ndarray): Covariance of the second set, shape (D, D).
        eps (float, optional): Diagonal offset for a non-finite square root. Defaults to 1e-6.

    Returns:
        float: The squared Fréchet distance ("FID" for Inception pool3 statistics).

    Raises:
        ValueError: On mismatched shapes, or a large imaginary component.

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.metric.scores import frechet_distance
        >>> # N(0, I) vs N(1, 4 I) in 2-D: |1|^2 * 2 + 2 * (1 + 4 - 2 * 2) = 4
        >>> round(frechet_distance(np.zeros(2), np.eye(2), np.ones(2), 4 * np.eye(2)), 6)
        4.0
    """
    mu1, mu2 = (
        np.atleast_1d(np.asarray(mu1, np.float64)),
        np.atleast_1d(np.asarray(mu2, np.float64)),
    )
    s1, s2 = (
        np.atleast_2d(np.asarray(sigma1, np.float64)),
        np.atleast_2d(np.asarray(sigma2, np.float64)),
    )
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != mu1.shape * 2:
        raise ValueError(
            f"shapes do not match: mu {mu1.shape}, {mu2.shape}; sigma {s1.shape}, {s2.shape}"
        )
    diff = mu1 - mu2
    covmean = linalg.sqrtm(s1 @ s2)
    if not np.all(np.isfinite(covmean)):
        warnings.warn(
            f"FID: the product of covariances is singular; adding {eps} to the diagonals",
            stacklevel=2,
        )
        offset = np.eye(len(s1)) * eps
        covmean = linalg.sqrtm((s1 + offset) @ (s2 + offset))
    if np.iscomplexobj(covmean):
        residue = np.max(np.abs(np.diagonal(covmean).imag))
        if residue > 1e-3:
            raise ValueError(f"FID: imaginary component {residue} in sqrtm(sigma1 @ sigma2)")
        covmean = covmean.real
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean))


def load_statistics(reference) -> Stats:
    """Reference statistics from an ``.npz`` path (keys ``mu``, ``sigma``), a dict or a pair.

    Args:
        reference: ``"stats.npz"``, ``{"mu": ..., "sigma": ...}`` or ``(mu, sigma)``.

    Returns:
        Stats: ``(mu, sigma)`` as float64 arrays.

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.metric.scores import load_statistics
        >>> mu, sigma = load_statistics({"mu": np.zeros(3), "sigma": np.eye(3)})
        >>> sigma.shape
        (3, 3)
    """
    if isinstance(reference, (str, os.PathLike)):
        with np.load(reference) as data:
            reference = {"mu": data["mu"], "sigma": data["sigma"]}
    if isinstance(reference, dict):
        reference = (reference["mu"], reference["sigma"])
    mu, sigma = reference
    return np.asarray(mu, np.float64), np.asarray(sigma, np.float64)


def fid_from_features(features, reference) -> float:
    r"""FID between pool3 features and reference features or statistics.

    $$ \mathrm{FID} = d^2\left(N(\mu, \Sigma), N(\mu_r, \Sigma_r)\right), $$
    see :func:`feature_statistics` and :func:`frechet_distance`.

    Args:
        features (np.ndarray): Features of shape (N, D).
        reference: Features of shape (M, D), or statistics as :func:`load_statistics` takes.

    Returns:
        float: The FID.

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.metric.scores import fid_from_features
        >>> f = np.random.default_rng(0).normal(size=(100, 4))
        >>> abs(fid_from_features(f, f)) < 1e-8
        True
    """
    if isinstance(reference, (np.ndarray, paddle.Tensor)):
        ref = feature_statistics(reference)
    else:
        ref = load_statistics(reference)
    return frechet_distance(*feature_statistics(features), *ref)


class _Moments:
    """Streaming mean and covariance (float64, shifted by the first batch's mean)."""

    def __init__(self):
        self.n, self.shift, self.sum, self.outer = 0, None, None, None

    def add(self, x: np.ndarray):
        x = np.asarray(x, np.float64)
        if self.shift is None:
            self.shift = x.mean(axis=0)
            self.sum = np.zeros_like(self.shift)
            self.outer = np.zeros((len(self.shift),) * 2)
        d = x - self.shift
        self.n += len(x)
        self.sum += d.sum(axis=0)
        self.outer += d.T @ d

    def result(self) -> Stats:
        if self.n < 2:
            raise ValueError(f"need at least 2 images for statistics, got {self.n}")
        mean_d = self.sum / self.n
        sigma = (self.outer - self.n * np.outer(mean_d, mean_d)) / (self.n - 1)
        return self.shift + mean_d, sigma


def image_statistics(
    images: Images,
    model: Model = None,
    batch_size: int = 50,
    num_samples: Optional[int] = None,
    progress: bool = True,
) -> Stats:
    r"""pool3 mean and covariance of images, accumulated batch by batch.

    Memory stays bounded by one batch plus the $D \times D$ sums, whatever $N$ is.

    Args:
        images (Images): Array, tensor or iterable of batches.
        model (Model): Network, weights file or None (default weights). Defaults to None.
        batch_size (int, optional): Images per forward pass. Defaults to 50.
        num_samples (Optional[int]): Use at most this many images. Defaults to None (all).
        progress (bool, optional): Show progress. Defaults to True.

    Returns:
        Stats: ``(mu, sigma)`` of shapes (2048,) and (2048, 2048).

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.metric.scores import image_statistics
        >>> mu, sigma = image_statistics(np.zeros((4, 32, 32, 3), np.uint8))  # doctest: +SKIP
    """
    moments = _Moments()
    for out in _iter_outputs(
        images, model, batch_size, num_samples, ("pool3",), progress, "FID stats"
    ):
        moments.add(out["pool3"])
    return moments.result()


def _take(images: Images, num_samples: int, what: str) -> Images:
    """Warn when fewer images than the published protocol's are given."""
    if isinstance(images, (np.ndarray, paddle.Tensor)) and len(images) < num_samples:
        warnings.warn(
            f"{what} from {len(images)} images, fewer than {num_samples}: not comparable "
            f"with published numbers ({DEFAULT_NUM_SAMPLES} samples)",
            stacklevel=3,
        )
    return images


def compute_inception_score(
    images: Images,
    splits: int = 10,
    num_samples: int = DEFAULT_NUM_SAMPLES,
    model: Model = None,
    batch_size: int = 50,
    progress: bool = True,
) -> Tuple[float, float]:
    r"""Inception Score of images: :func:`inception_score` of the bias-free logits.

    $$ \mathrm{IS} = \exp\left(\mathbb{E}_x \mathrm{KL}(p(y|x) \,\|\, p(y))\right),
       \quad p(y|x) = \operatorname{softmax}(W^\top f(x)). $$

    Args:
        images (Images): Array, tensor or iterable of batches.
        splits (int, optional): Number of splits. Defaults to 10.
        num_samples (int, optional): Use at most this many images. Defaults to 50000.
        model (Model): Network with fc weights, weights file or None. Defaults to None.
        batch_size (int, optional): Images per forward pass. Defaults to 50.
        progress (bool, optional): Show progress. Defaults to True.

    Returns:
        Tuple[float, float]: Mean and standard deviation over the splits.

    Raises:
        RuntimeError: If the weights have no fc layer (pytorch-fid's ``.pth`` is needed).

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.metric.scores import compute_inception_score
        >>> images = np.random.default_rng(0).uniform(-1, 1, (100, 3, 32, 32))
        >>> mean, std = compute_inception_score(images)  # doctest: +SKIP
    """
    images = _take(images, num_samples, "Inception Score")
    out = inception_outputs(images, model, batch_size, num_samples, ("logits",), progress)
    return inception_score(out["logits"], splits, logits=True)


def compute_fid(
    images: Images,
    reference,
    num_samples: int = DEFAULT_NUM_SAMPLES,
    model: Model = None,
    batch_size: int = 50,
    progress: bool = True,
) -> float:
    r"""FID of images against reference statistics.

    $$ \mathrm{FID} = \lVert \mu - \mu_r \rVert^2
       + \operatorname{Tr}\left(\Sigma + \Sigma_r - 2 \sqrt{\Sigma \Sigma_r}\right). $$

    Args:
        images (Images): Array, tensor or iterable of batches.
        reference: Statistics as :func:`load_statistics` takes (e.g. an ``.npz`` path).
        num_samples (int, optional): Use at most this many images. Defaults to 50000.
        model (Model): Network, weights file or None. Defaults to None.
        batch_size (int, optional): Images per forward pass. Defaults to 50.
        progress (bool, optional): Show progress. Defaults to True.

    Returns:
        float: The FID.

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.metric.scores import compute_fid
        >>> images = np.random.default_rng(0).uniform(-1, 1, (100, 3, 32, 32))
        >>> compute_fid(images, "cifar10_train.npz")  # doctest: +SKIP
    """
    ref = load_statistics(reference)
    images = _take(images, num_samples, "FID")
    return frechet_distance(
        *image_statistics(images, model, batch_size, num_samples, progress), *ref
    )


def inception_metrics(
    images: Images,
    model: Model = None,
    reference=None,
    splits: int = 10,
    batch_size: int = 50,
    num_samples: Optional[int] = None,
    progress: bool = True,
) -> Dict[str, float]:
    r"""Inception Score and FID of the same images in one pass of the network.

    The Inception Score (:func:`inception_score` of the bias-free logits, ``splits``
    consecutive splits) is computed when the network has its fc layer; the FID
    (:func:`frechet_distance` of the pool3 mean and covariance, accumulated batch by
    batch without keeping the features) when ``reference`` is given. Only the
    $N \times 1008$ logits are kept, for the splits.

    Args:
        images (Images): Array, tensor or iterable of batches (either convention).
        model (Model): Network, weights file or None (the cached weights, preferring
            those with the fc layer). Defaults to None.
        reference: Statistics as :func:`load_statistics` takes, or None (no FID).
            Defaults to None.
        splits (int, optional): Inception Score splits. Defaults to 10.
        batch_size (int, optional): Images per forward pass. Defaults to 50.
        num_samples (Optional[int]): Use at most this many images. Defaults to None (all).
        progress (bool, optional): Show progress. Defaults to True.

    Returns:
        Dict[str, float]: ``IS`` and ``IS_std`` (with the fc layer), ``FID`` (with a
            reference); empty when the network has no fc layer and there is no reference.

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.metric.scores import inception_metrics
        >>> images = np.zeros((100, 28, 28), np.uint8)  # grey digits, uint8
        >>> inception_metrics(images, reference="mnist_test.npz")  # doctest: +SKIP
        {'FID': 312.5}
    """
    net = _model(model, need_logits=False)
    ref = None if reference is None else load_statistics(reference)
    outputs = ("pool3", "logits") if net.with_fc else ("pool3",)
    moments, logits = _Moments(), []
    for out in _iter_outputs(
        images, net, batch_size, num_samples, outputs, progress, "IS / FID"
    ):
        moments.add(out["pool3"])
        if net.with_fc:
            logits.append(out["logits"])
    result = {}
    if net.with_fc:
        mean, std = inception_score(np.concatenate(logits), splits, logits=True)
        result.update(IS=mean, IS_std=std)
    if ref is not None:
        result["FID"] = frechet_distance(*moments.result(), *ref)
    return result


# ------------------------------------------------------------ reference statistics


def _cached(digest, name: str, compute: Callable[[], Stats], num_samples, cache) -> Stats:
    """Load ``<cache>/fid_stats/<name>-<hash>.npz``, or compute and save it."""
    digest.update(f"|{_STATS_VERSION}|{num_samples}".encode())
    folder = os.path.join(_inception.cache_dir(cache), "fid_stats")
    path = os.path.join(folder, f"{name}-{digest.hexdigest()[:16]}.npz")
    if os.path.isfile(path):
        return load_statistics(path)
    mu, sigma = compute()
    os.makedirs(folder, exist_ok=True)
    tmp = path[: -len(".npz")] + ".tmp.npz"
    np.savez(tmp, mu=mu, sigma=sigma, num_samples=num_samples)
    os.replace(tmp, path)
    return mu, sigma


def reference_statistics_from_array(
    images: Union[np.ndarray, paddle.Tensor],
    name: str = "array",
    num_samples: int = DEFAULT_NUM_SAMPLES,
    cache: Optional[str] = None,
    model: Model = None,
    batch_size: int = 50,
    progress: bool = True,
) -> Stats:
    """Reference statistics of an image array, cached by a hash of its content.

    Args:
        images (Union[np.ndarray, paddle.Tensor]): Real images (either convention).
        name (str, optional): Prefix of the cache file. Defaults to "array".
        num_samples (int, optional): Use the first this many images. Defaults to 50000.
        cache (Optional[str]): Cache folder. Defaults to
            :func:`~ppsci_ext.metric.inception.cache_dir`.
        model (Model): Network, weights file or None. Defaults to None.
        batch_size (int, optional): Images per forward pass. Defaults to 50.
        progress (bool, optional): Show progress. Defaults to True.

    Returns:
        Stats: ``(mu, sigma)``.

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.metric.scores import reference_statistics_from_array
        >>> real = np.zeros((10, 32, 32, 3), np.uint8)
        >>> mu, sigma = reference_statistics_from_array(real, "zeros")  # doctest: +SKIP
    """
    x = images.numpy() if isinstance(images, paddle.Tensor) else np.asarray(images)
    digest = hashlib.sha1()
    update_array_digest(digest, x[:num_samples])

    def compute():
        return image_statistics(x, model, batch_size, num_samples, progress)

    return _cached(digest, name, compute, num_samples, cache)


def _read_image(path: str) -> np.ndarray:
    """An image file as uint8 HWC RGB (PIL, else matplotlib.image)."""
    try:
        from PIL import Image

        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8)
    except ImportError:
        from matplotlib import image as mpimg

        x = mpimg.imread(path)
        if x.dtype != np.uint8:
            x = np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)
        if x.ndim == 2:
            x = np.repeat(x[..., None], 3, axis=2)
        return x[..., :3]


def _image_files(folder: str):
    found = []
    for root, _dirs, files in os.walk(folder):
        found += [os.path.join(root, f) for f in files if f.lower().endswith(_IMAGE_EXTS)]
    if not found:
        raise FileNotFoundError(f"no PNG or JPEG images under {folder}")
    return sorted(found)


def _folder_batches(files, batch_size: int):
    """uint8 NHWC batches; a new batch starts when the image size changes."""
    batch = []
    for path in files:
        image = _read_image(path)
        if batch and (len(batch) == batch_size or image.shape != batch[0].shape):
            yield np.stack(batch)
            batch = []
        batch.append(image)
    if batch:
        yield np.stack(batch)


def reference_statistics_from_folder(
    folder: str,
    name: Optional[str] = None,
    num_samples: int = DEFAULT_NUM_SAMPLES,
    cache: Optional[str] = None,
    model: Model = None,
    batch_size: int = 50,
    progress: bool = True,
) -> Stats:
    """Reference statistics of the PNG/JPEG images under a folder (sorted, recursive).

    Cached by a hash of the file names and contents.

    Args:
        folder (str): Folder of images.
        name (Optional[str]): Prefix of the cache file. Defaults to the folder's name.
        num_samples (int, optional): Use the first this many images. Defaults to 50000.
        cache (Optional[str]): Cache folder. Defaults to None.
        model (Model): Network, weights file or None. Defaults to None.
        batch_size (int, optional): Images per forward pass. Defaults to 50.
        progress (bool, optional): Show progress. Defaults to True.

    Returns:
        Stats: ``(mu, sigma)``.

    Examples:
        >>> from ppsci_ext.metric.scores import reference_statistics_from_folder
        >>> mu, sigma = reference_statistics_from_folder("cifar10_png/")  # doctest: +SKIP
    """
    files = _image_files(folder)[:num_samples]
    digest = hashlib.sha1()
    for path in files:
        digest.update(os.path.relpath(path, folder).encode() + b"\0")
        update_digest(digest, path)
    name = name or os.path.basename(os.path.normpath(folder))

    def compute():
        batches = _folder_batches(files, batch_size)
        return image_statistics(batches, model, batch_size, len(files), progress)

    return _cached(digest, name, compute, num_samples, cache)


def reference_statistics_from_file(
    path: str,
    loader: Callable[[str], Images],
    name: Optional[str] = None,
    num_samples: int = DEFAULT_NUM_SAMPLES,
    cache: Optional[str] = None,
    model: Model = None,
    batch_size: int = 50,
    progress: bool = True,
) -> Stats:
    """Reference statistics of a data file read by ``loader`` (e.g. a CIFAR-10 archive).

    ``loader(path)`` returns the images (an array or an iterable of batches, either
    convention). The cache key hashes the file's bytes and ``name``, so give two
    loaders of one file (say train and test split) different names.

    Args:
        path (str): The data file.
        loader (Callable[[str], Images]): Reads the images from ``path``.
        name (Optional[str]): Cache file prefix and part of the key. Defaults to the
            loader's name.
        num_samples (int, optional): Use the first this many images. Defaults to 50000.
        cache (Optional[str]): Cache folder. Defaults to None.
        model (Model): Network, weights file or None. Defaults to None.
        batch_size (int, optional): Images per forward pass. Defaults to 50.
        progress (bool, optional): Show progress. Defaults to True.

    Returns:
        Stats: ``(mu, sigma)``.

    Examples:
        >>> from ppsci_ext.metric.scores import reference_statistics_from_file
        >>> def load_train(path):  # returns uint8 NHWC images
        ...     ...
        >>> path = "cifar-10-python.tar.gz"
        >>> stats = reference_statistics_from_file(path, load_train)  # doctest: +SKIP
    """
    name = name or getattr(loader, "__name__", "data")
    digest = hashlib.sha1(name.encode() + b"\0")
    update_digest(digest, path)

    def compute():
        return image_statistics(loader(path), model, batch_size, num_samples, progress)

    return _cached(digest, name, compute, num_samples, cache)


# ---------------------------------------------------------------- ppsci metrics


def build_inception_score_metric(
    key: str = "x",
    num_samples: int = DEFAULT_NUM_SAMPLES,
    splits: int = 10,
    model: Model = None,
    batch_size: int = 50,
    progress: bool = True,
):
    r"""The Inception Score as a ``ppsci.metric.FunctionalMetric``.

    ``metric_expr(output_dict, label_dict)`` reads the generated images from
    ``output_dict[key]`` (float NCHW in $[-1, 1]$, or uint8 NHWC; grey repeated to 3
    channels), uses the first ``num_samples`` and returns
    $$ \{\texttt{"IS"}: \overline{\mathrm{IS}_k},\
       \texttt{"IS_std"}: \operatorname{std}_k \mathrm{IS}_k\} $$
    as float64 scalar tensors (see :func:`compute_inception_score`). ``label_dict``
    is ignored. The weights are loaded when the metric is built, so missing fc
    weights fail early.

    Args:
        key (str, optional): Key of the images in ``output_dict``. Defaults to "x".
        num_samples (int, optional): Samples used (fewer warns). Defaults to 50000.
        splits (int, optional): Number of splits. Defaults to 10.
        model (Model): Network with fc weights, weights file or None. Defaults to None.
        batch_size (int, optional): Images per forward pass. Defaults to 50.
        progress (bool, optional): Show progress. Defaults to True.

    Returns:
        ppsci.metric.FunctionalMetric: Metric returning ``{"IS", "IS_std"}``.

    Raises:
        RuntimeError: If the weights have no fc layer (pytorch-fid's ``.pth`` is needed).

    Examples:
        >>> from ppsci_ext.metric.scores import build_inception_score_metric
        >>> metric = build_inception_score_metric(key="x")  # doctest: +SKIP
        >>> metric({"x": generated_images}, {})  # doctest: +SKIP
        {'IS': Tensor(...), 'IS_std': Tensor(...)}
    """
    from ppsci.metric import FunctionalMetric

    net = _model(model, need_logits=True)

    def metric_expr(output_dict, label_dict=None) -> Dict[str, paddle.Tensor]:
        if key not in output_dict:
            raise KeyError(f"output_dict has no key {key!r}; got {list(output_dict)}")
        mean, std = compute_inception_score(
            output_dict[key], splits, num_samples, net, batch_size, progress
        )
        return {
            "IS": paddle.to_tensor(mean, dtype="float64"),
            "IS_std": paddle.to_tensor(std, dtype="float64"),
        }

    return FunctionalMetric(metric_expr)


def build_fid_metric(
    reference,
    key: str = "x",
    num_samples: int = DEFAULT_NUM_SAMPLES,
    model: Model = None,
    batch_size: int = 50,
    progress: bool = True,
):
    r"""The FID against reference statistics as a ``ppsci.metric.FunctionalMetric``.

    ``metric_expr(output_dict, label_dict)`` reads the generated images from
    ``output_dict[key]`` (float NCHW in $[-1, 1]$, or uint8 NHWC; grey repeated to 3
    channels), uses the first ``num_samples`` and returns
    $$ \{\texttt{"FID"}: \lVert \mu - \mu_r \rVert^2
       + \operatorname{Tr}(\Sigma + \Sigma_r - 2 \sqrt{\Sigma \Sigma_r})\} $$
    as a float64 scalar tensor. ``label_dict`` is ignored.

    Args:
        reference: Reference statistics: ``.npz`` path, dict or ``(mu, sigma)`` (see
            the ``reference_statistics_from_*`` builders).
        key (str, optional): Key of the images in ``output_dict``. Defaults to "x".
        num_samples (int, optional): Samples used (fewer warns). Defaults to 50000.
        model (Model): Network, weights file or None. Defaults to None.
        batch_size (int, optional): Images per forward pass. Defaults to 50.
        progress (bool, optional): Show progress. Defaults to True.

    Returns:
        ppsci.metric.FunctionalMetric: Metric returning ``{"FID"}``.

    Examples:
        >>> from ppsci_ext.metric.scores import build_fid_metric
        >>> metric = build_fid_metric("cifar10_train.npz")  # doctest: +SKIP
        >>> metric({"x": generated_images}, {})  # doctest: +SKIP
        {'FID': Tensor(...)}
    """
    from ppsci.metric import FunctionalMetric

    ref = load_statistics(reference)
    net = _model(model, need_logits=False)

    def metric_expr(output_dict, label_dict=None) -> Dict[str, paddle.Tensor]:
        if key not in output_dict:
            raise KeyError(f"output_dict has no key {key!r}; got {list(output_dict)}")
        fid = compute_fid(output_dict[key], ref, num_samples, net, batch_size, progress)
        return {"FID": paddle.to_tensor(fid, dtype="float64")}

    return FunctionalMetric(metric_expr)
