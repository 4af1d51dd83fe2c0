"""Figures: training curves, toy scatter plots and critic contours."""

from __future__ import annotations

import textwrap

from typing import Dict
from typing import Optional
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["plot_loss_curves", "plot_toy"]


def _smooth(values: np.ndarray, width: int) -> np.ndarray:
    if width <= 1 or len(values) < width:
        return values
    return np.convolve(values, np.ones(width) / width, mode="valid")


def plot_loss_curves(history: Dict[str, Sequence[float]], path: str) -> None:
    """Plot the Wasserstein estimate, the penalty, the gradient norm and both losses
    against the iteration (a running mean over 1% of the run smooths them)."""
    it = np.asarray(history["iteration"], dtype=float)
    width = max(1, len(it) // 100)
    panels = (
        ("wasserstein", "Wasserstein estimate (-critic loss without penalty)"),
        ("penalty", "gradient penalty term"),
        ("grad_norm", "critic gradient norm at interpolates"),
        ("critic_loss", "critic loss"),
        ("generator_loss", "generator loss"),
    )
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.2))
    for ax, (key, title) in zip(axes, panels):
        values = np.asarray(history[key], dtype=float)
        if np.isfinite(values).any():
            ax.plot(it[width - 1 :] if width > 1 and len(it) >= width else it, _smooth(values, width))
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("generator iteration")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_toy(
    real: np.ndarray,
    fake: np.ndarray,
    path: str,
    critic_grid: Optional[tuple] = None,
    title: str = "",
) -> None:
    """Scatter real (orange) and generated (green) points, in the style of the
    paper's toy figures; with ``critic_grid = (xs, ys, values)`` the critic's value
    contours are drawn beneath them."""
    fig, ax = plt.subplots(figsize=(5, 5))
    if critic_grid is not None:
        xs, ys, values = critic_grid
        contour = ax.contour(xs, ys, values, levels=20, cmap="viridis", linewidths=0.8)
        fig.colorbar(contour, ax=ax, fraction=0.046, pad=0.04, label="critic value")
    ax.scatter(fake[:, 0], fake[:, 1], s=2, c="green", alpha=0.4, label="generated")
    ax.scatter(real[:, 0], real[:, 1], s=2, c="orange", alpha=0.4, label="real")
    ax.set_aspect("equal")
    ax.legend(loc="upper right", markerscale=4, fontsize=8)
    if title:
        ax.set_title(textwrap.fill(title, 48), fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
