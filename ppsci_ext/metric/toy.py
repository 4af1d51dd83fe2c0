r"""Sample-quality metrics for the 2-D toy data sets of WGAN-GP.

The toy data sets follow ``gan_toy.py`` of Gulrajani et al. (2017), "Improved
Training of Wasserstein GANs":

* ``8gaussians``: 8 centres $2(\cos\frac{k\pi}{4}, \sin\frac{k\pi}{4})$,
  $k = 0, \dots, 7$, isotropic noise with std $0.02$; every coordinate is then
  divided by $1.414$.
* ``25gaussians``: centres on the $5 \times 5$ grid $\{-4, -2, 0, 2, 4\}^2$,
  isotropic noise with std $0.05$; every coordinate is then divided by $2.828$.
* ``swissroll``: ``sklearn.datasets.make_swiss_roll(noise=0.25)``, columns 0
  and 2, divided by $7.5$. It has no modes, so only the sliced Wasserstein
  distance applies to it.

All centres and standard deviations below are given in these final (divided)
data coordinates. The mode-based scores follow the usual "high-quality
samples / modes covered" protocol of the mode-collapse literature.
"""

from typing import Dict, Optional, Union

import numpy as np
import paddle
from scipy import stats

__all__ = [
    "MODES",
    "mode_centres",
    "mode_sigma",
    "high_quality_share",
    "modes_covered",
    "sliced_wasserstein",
    "toy_scores",
    "build_toy_metric",
]

#: Names of the toy data sets that have Gaussian modes.
MIXTURE_MODES = ("8gaussians", "25gaussians")
#: Names of all supported toy data sets.
MODES = MIXTURE_MODES + ("swissroll",)
#: A sample is "high quality" if it lies closer than this many sigmas to a centre.
NUM_SIGMAS = 3.0
#: A centre is covered if it gets at least this fraction of its fair share.
MIN_FAIR_SHARE = 0.2

_SCALE = {"8gaussians": 1.414, "25gaussians": 2.828}
_STD = {"8gaussians": 0.02, "25gaussians": 0.05}

ArrayLike = Union[np.ndarray, "paddle.Tensor", list]


def _check_mode(mode: str, valid=MIXTURE_MODES) -> None:
    if mode not in valid:
        raise ValueError(f"Unknown toy mode {mode!r}; expected one of {list(valid)}.")


def _as_points(x: ArrayLike, name: str, dim: Optional[int] = 2) -> np.ndarray:
    """Convert ``x`` to a finite float64 array of shape (N, dim), N >= 1."""
    if isinstance(x, paddle.Tensor):
        x = x.numpy()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0 or (dim is not None and x.shape[1] != dim):
        want = f"(N, {dim})" if dim is not None else "(N, D)"
        raise ValueError(f"{name} must have shape {want} with N >= 1, got {x.shape}.")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or Inf values.")
    return x


def mode_centres(mode: str) -> np.ndarray:
    r"""Centres of the Gaussian components of a toy mixture, in data coordinates.

    For ``8gaussians`` the $K = 8$ centres are
    $$ c_k = \frac{2}{1.414} \left(\cos\frac{k\pi}{4}, \sin\frac{k\pi}{4}\right), \quad k = 0, \dots, 7, $$
    and for ``25gaussians`` the $K = 25$ centres are
    $$ c_{ij} = \frac{1}{2.828} (2i, 2j), \quad i, j \in \{-2, -1, 0, 1, 2\}. $$

    Args:
        mode (str): ``"8gaussians"`` or ``"25gaussians"``.

    Returns:
        np.ndarray: Centres of shape (K, 2), dtype float64.

    Raises:
        ValueError: If ``mode`` is not a mixture mode (``"swissroll"`` has no centres).

    Examples:
        >>> from ppsci_ext.metric.toy import mode_centres
        >>> mode_centres("8gaussians").shape
        (8, 2)
        >>> print(mode_centres("8gaussians")[0].round(4))
        [1.4144 0.    ]
        >>> mode_centres("25gaussians").shape
        (25, 2)
    """
    _check_mode(mode)
    if mode == "8gaussians":
        angles = np.arange(8) * np.pi / 4
        centres = 2.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    else:
        grid = 2.0 * np.arange(-2, 3)
        centres = np.array([(x, y) for x in grid for y in grid], dtype=np.float64)
    return centres / _SCALE[mode]


def mode_sigma(mode: str) -> float:
    r"""Standard deviation of every mixture component, in data coordinates.

    $$ \sigma_{\text{8gaussians}} = \frac{0.02}{1.414}, \qquad
       \sigma_{\text{25gaussians}} = \frac{0.05}{2.828}. $$

    Args:
        mode (str): ``"8gaussians"`` or ``"25gaussians"``.

    Returns:
        float: Per-coordinate standard deviation $\sigma$.

    Raises:
        ValueError: If ``mode`` is not a mixture mode.

    Examples:
        >>> from ppsci_ext.metric.toy import mode_sigma
        >>> round(mode_sigma("8gaussians"), 6)
        0.014144
        >>> round(mode_sigma("25gaussians"), 6)
        0.01768
    """
    _check_mode(mode)
    return _STD[mode] / _SCALE[mode]


def _nearest(samples: ArrayLike, mode: str):
    """Index of and distance to the nearest centre for every sample."""
    _check_mode(mode)
    x = _as_points(samples, "samples")
    centres = mode_centres(mode)
    dist = np.linalg.norm(x[:, None, :] - centres[None, :, :], axis=-1)
    idx = dist.argmin(axis=1)
    return idx, dist[np.arange(len(x)), idx], len(centres)


def high_quality_share(samples: ArrayLike, mode: str) -> float:
    r"""Fraction of samples that lie within $3\sigma$ of their nearest centre.

    $$ \mathrm{HQ} = \frac{1}{N} \sum_{n=1}^{N}
       \mathbb{1}\left[\min_k \lVert x_n - c_k \rVert_2 < 3\sigma\right]. $$

    For samples of the true mixture, $\lVert x - c_k \rVert / \sigma$ follows a
    chi distribution with 2 degrees of freedom, so the expected score is
    $1 - e^{-9/2} \approx 0.9889$.

    Args:
        samples (ArrayLike): Points of shape (N, 2) (numpy array, list or paddle.Tensor).
        mode (str): ``"8gaussians"`` or ``"25gaussians"``.

    Returns:
        float: Share of high-quality samples in $[0, 1]$.

    Raises:
        ValueError: If ``mode`` is unknown or ``samples`` is not a finite (N, 2) array.

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.metric.toy import high_quality_share, mode_centres
        >>> high_quality_share(mode_centres("8gaussians"), "8gaussians")
        1.0
        >>> high_quality_share(np.zeros((4, 2)), "8gaussians")
        0.0
    """
    _, dist, _ = _nearest(samples, mode)
    return float(np.mean(dist < NUM_SIGMAS * mode_sigma(mode)))


def modes_covered(samples: ArrayLike, mode: str) -> int:
    r"""Number of centres that receive at least 20% of their fair share of samples.

    Each high-quality sample (see :func:`high_quality_share`) is assigned to its
    nearest centre; with $N$ samples in total and $K$ centres, centre $k$ counts
    as covered if

    $$ n_k = \sum_{n=1}^{N} \mathbb{1}\left[\arg\min_j \lVert x_n - c_j \rVert_2 = k,\;
       \lVert x_n - c_k \rVert_2 < 3\sigma\right] \ge 0.2 \, \frac{N}{K}. $$

    Args:
        samples (ArrayLike): Points of shape (N, 2).
        mode (str): ``"8gaussians"`` or ``"25gaussians"``.

    Returns:
        int: Number of covered centres in $[0, K]$.

    Raises:
        ValueError: If ``mode`` is unknown or ``samples`` is not a finite (N, 2) array.

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.metric.toy import mode_centres, modes_covered
        >>> modes_covered(mode_centres("8gaussians"), "8gaussians")
        8
        >>> modes_covered(np.repeat(mode_centres("8gaussians")[:3], 10, axis=0), "8gaussians")
        3
    """
    idx, dist, num_centres = _nearest(samples, mode)
    good = dist < NUM_SIGMAS * mode_sigma(mode)
    counts = np.bincount(idx[good], minlength=num_centres)
    # small tolerance so that exactly 20% of the fair share counts as covered
    threshold = MIN_FAIR_SHARE * len(idx) / num_centres
    return int(np.sum(counts >= threshold - 1e-9))


def sliced_wasserstein(
    x: ArrayLike, y: ArrayLike, num_projections: int = 1000, seed: int = 0
) -> float:
    r"""Sliced Wasserstein-1 distance between two point sets in $\mathbb{R}^D$.

    With $M$ random directions $\theta_m$ drawn uniformly from the unit sphere
    $S^{D-1}$ (normalised standard normal vectors from
    ``np.random.default_rng(seed)``),

    $$ \mathrm{SW}_1(X, Y) = \frac{1}{M} \sum_{m=1}^{M}
       W_1\left(\{\theta_m^\top x_i\}_i, \{\theta_m^\top y_j\}_j\right), $$

    where $W_1$ is the 1-D Wasserstein-1 distance between the empirical
    distributions of the projections (``scipy.stats.wasserstein_distance``).
    The two sets may have different sizes. Defaults: $M = 1000$ projections and
    ``seed = 0``, so the result is deterministic and symmetric in ``x`` and ``y``.

    Args:
        x (ArrayLike): Points of shape (N, D).
        y (ArrayLike): Points of shape (M', D), same D as ``x``.
        num_projections (int, optional): Number of random directions. Defaults to 1000.
        seed (int, optional): Seed of the direction generator. Defaults to 0.

    Returns:
        float: Estimated sliced Wasserstein-1 distance (>= 0).

    Raises:
        ValueError: If the inputs are not finite 2-D arrays with the same number of
            columns, or ``num_projections`` < 1.

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.metric.toy import sliced_wasserstein
        >>> x = np.random.default_rng(0).normal(size=(100, 2))
        >>> sliced_wasserstein(x, x)
        0.0
        >>> # a unit shift gives E|cos(theta)| = 2 / pi = 0.6366 up to Monte Carlo error
        >>> round(sliced_wasserstein(x, x + np.array([1.0, 0.0]), num_projections=5000), 2)
        0.64
    """
    x = _as_points(x, "x", dim=None)
    y = _as_points(y, "y", dim=None)
    if x.shape[1] != y.shape[1]:
        raise ValueError(
            f"x and y must have the same dimension, got {x.shape[1]} and {y.shape[1]}."
        )
    if int(num_projections) < 1:
        raise ValueError(f"num_projections must be >= 1, got {num_projections}.")
    rng = np.random.default_rng(seed)
    theta = rng.standard_normal((int(num_projections), x.shape[1]))
    theta /= np.linalg.norm(theta, axis=1, keepdims=True)
    px, py = x @ theta.T, y @ theta.T
    dists = [stats.wasserstein_distance(px[:, m], py[:, m]) for m in range(len(theta))]
    return float(np.mean(dists))


def toy_scores(
    samples: ArrayLike,
    real: ArrayLike,
    mode: str,
    num_projections: int = 1000,
    seed: int = 0,
) -> Dict[str, Union[float, int]]:
    r"""All toy-data scores of generated samples, as plain Python numbers.

    $$ \text{scores} = \{\mathrm{HQ}(X),\ \#\text{covered}(X),\ K,\ \mathrm{SW}_1(X, X_{\text{real}})\}, $$

    see :func:`high_quality_share`, :func:`modes_covered` and
    :func:`sliced_wasserstein`. For ``swissroll`` only ``"sliced_w1"`` is returned.

    Args:
        samples (ArrayLike): Generated points of shape (N, 2).
        real (ArrayLike): Real points of shape (N', 2).
        mode (str): ``"8gaussians"``, ``"25gaussians"`` or ``"swissroll"``.
        num_projections (int, optional): Directions for the sliced distance. Defaults to 1000.
        seed (int, optional): Seed for the sliced distance. Defaults to 0.

    Returns:
        Dict[str, Union[float, int]]: Keys ``"high_quality_share"`` (float),
            ``"modes_covered"`` (int), ``"num_modes"`` (int) and ``"sliced_w1"`` (float).

    Raises:
        ValueError: If ``mode`` is unknown or an input is not a finite (N, 2) array.

    Examples:
        >>> from ppsci_ext.metric.toy import mode_centres, toy_scores
        >>> c = mode_centres("8gaussians")
        >>> toy_scores(c, c, "8gaussians")
        {'high_quality_share': 1.0, 'modes_covered': 8, 'num_modes': 8, 'sliced_w1': 0.0}
    """
    _check_mode(mode, MODES)
    samples = _as_points(samples, "samples")
    real = _as_points(real, "real")
    scores: Dict[str, Union[float, int]] = {}
    if mode in MIXTURE_MODES:
        scores["high_quality_share"] = high_quality_share(samples, mode)
        scores["modes_covered"] = modes_covered(samples, mode)
        scores["num_modes"] = int(len(mode_centres(mode)))
    scores["sliced_w1"] = sliced_wasserstein(samples, real, num_projections, seed)
    return scores


def build_toy_metric(
    mode: str,
    real_samples: ArrayLike,
    key: str = "x",
    num_projections: int = 1000,
    seed: int = 0,
):
    r"""Wrap :func:`toy_scores` as a ``ppsci.metric.FunctionalMetric``.

    The metric expression reads the generated samples $X$ from ``output_dict[key]``
    and returns every entry of ``toy_scores(X, real_samples, mode)`` as a float64
    scalar ``paddle.Tensor``:

    $$ \text{metric\_expr}(\text{output\_dict}, \text{label\_dict}) =
       \text{toy\_scores}(\text{output\_dict}[\text{key}], X_{\text{real}}). $$

    ``label_dict`` is ignored.

    Args:
        mode (str): ``"8gaussians"``, ``"25gaussians"`` or ``"swissroll"``.
        real_samples (ArrayLike): Real points of shape (N', 2), copied once.
        key (str, optional): Key of the generated samples in ``output_dict``. Defaults to "x".
        num_projections (int, optional): Directions for the sliced distance. Defaults to 1000.
        seed (int, optional): Seed for the sliced distance. Defaults to 0.

    Returns:
        ppsci.metric.FunctionalMetric: Metric returning ``Dict[str, paddle.Tensor]``.

    Raises:
        ValueError: If ``mode`` is unknown or ``real_samples`` is not a finite (N, 2) array.

    Examples:
        >>> import paddle
        >>> from ppsci_ext.metric.toy import build_toy_metric, mode_centres
        >>> c = mode_centres("8gaussians")
        >>> metric = build_toy_metric("8gaussians", c)
        >>> result = metric({"x": paddle.to_tensor(c)})
        >>> {k: float(v) for k, v in result.items()}
        {'high_quality_share': 1.0, 'modes_covered': 8.0, 'num_modes': 8.0, 'sliced_w1': 0.0}
    """
    # imported here because importing ppsci is slow and only this wrapper needs it
    from ppsci.metric import FunctionalMetric

    _check_mode(mode, MODES)
    real = _as_points(real_samples, "real_samples").copy()

    def metric_expr(
        output_dict: Dict[str, ArrayLike], label_dict=None
    ) -> Dict[str, "paddle.Tensor"]:
        if key not in output_dict:
            raise KeyError(f"output_dict has no key {key!r}; got {list(output_dict)}.")
        scores = toy_scores(output_dict[key], real, mode, num_projections, seed)
        return {
            name: paddle.to_tensor(float(value), dtype="float64")
            for name, value in scores.items()
        }

    return FunctionalMetric(metric_expr)
