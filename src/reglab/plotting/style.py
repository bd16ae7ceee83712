"""The one plotting style: headless backend, seaborn theme, PNG saving, the log-axis floor, run colours
and the divergence mark shared by the Keras and convergence figures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.transforms as mtransforms  # noqa: E402
import seaborn as sns  # noqa: E402

from reglab.core.io import atomic_path  # noqa: E402

sns.set_theme(style="whitegrid", context="notebook")
TINY = 1e-17  # floor for log-scale plots of differences that are exactly zero


def save(fig: plt.Figure, path: str) -> None:
    """Save a figure as PNG atomically and close it."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)




def palette(names: Sequence[str]) -> dict[str, Any]:
    """One colour per name: seaborn's "deep" for up to 10 names, "husl" beyond."""
    colors = sns.color_palette("deep" if len(names) <= 10 else "husl", n_colors=max(len(names), 1))
    return dict(zip(names, colors))


def mark_divergence(ax: plt.Axes, positions: Sequence[float], color: Any) -> None:
    """An 'x' on the top edge of the axes at each x position where a run diverged (became non-finite)."""
    if not positions:
        return
    trans = mtransforms.blended_transform_factory(ax.transData, ax.transAxes)
    ax.scatter(list(positions), [1.0] * len(positions), marker="x", s=45, color=color, transform=trans,
               clip_on=False, zorder=5, linewidths=1.6)
