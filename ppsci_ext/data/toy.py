"""The paper's 2-D toy distributions, drawn as the official gan_toy.py draws them."""

from __future__ import annotations

import numpy as np

__all__ = ["TOY_MODES", "sample_toy"]

TOY_MODES = ("8gaussians", "25gaussians", "swissroll")


# --8<-- [start:samplers]
def _eight_gaussians(n: int, rng: np.random.Generator) -> np.ndarray:
    angles = np.arange(8) * (np.pi / 4)
    centres = 2.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    points = centres[rng.integers(0, 8, size=n)] + 0.02 * rng.standard_normal((n, 2))
    return points / 1.414


def _twenty_five_gaussians(n: int, rng: np.random.Generator) -> np.ndarray:
    grid = np.arange(-2, 3) * 2.0
    centres = np.stack(np.meshgrid(grid, grid, indexing="ij"), axis=-1).reshape(-1, 2)
    points = centres[rng.integers(0, 25, size=n)] + 0.05 * rng.standard_normal((n, 2))
    return points / 2.828


def _swissroll(n: int, rng: np.random.Generator) -> np.ndarray:
    from sklearn.datasets import make_swiss_roll

    points, _ = make_swiss_roll(
        n_samples=n, noise=0.25, random_state=int(rng.integers(0, 2**31 - 1))
    )
    return points[:, [0, 2]] / 7.5
# --8<-- [end:samplers]


_SAMPLERS = {
    "8gaussians": _eight_gaussians,
    "25gaussians": _twenty_five_gaussians,
    "swissroll": _swissroll,
}


def sample_toy(mode: str, n: int, seed: int = 0) -> np.ndarray:
    """Draw ``n`` points of a toy distribution as float32 ``[n, 2]``.

    - ``8gaussians``: 8 centres on a circle of radius 2, std 0.02, all divided by 1.414;
    - ``25gaussians``: a 5 x 5 grid with spacing 2, std 0.05, all divided by 2.828;
    - ``swissroll``: scikit-learn's ``make_swiss_roll(noise=0.25)``, columns 0 and 2,
      divided by 7.5.

    Examples:
        >>> from ppsci_ext.data.toy import sample_toy
        >>> x = sample_toy("8gaussians", 1000, seed=0)
        >>> x.shape, x.dtype.name
        ((1000, 2), 'float32')
        >>> bool(abs(float((x ** 2).sum(axis=1).mean()) ** 0.5 - 2 / 1.414) < 0.01)
        True
    """
    if mode not in _SAMPLERS:
        raise ValueError(
            f"Unknown toy data mode {mode!r} (DATA.mode); valid modes: {', '.join(TOY_MODES)}"
        )
    if n <= 0:
        raise ValueError(f"The number of toy samples must be positive, got {n}")
    return _SAMPLERS[mode](int(n), np.random.default_rng(seed)).astype("float32")
