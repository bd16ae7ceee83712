"""The one plotting style: headless backend, seaborn theme, PNG saving, the log-axis floor."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

from reglab.core.io import atomic_path  # noqa: E402

sns.set_theme(style="whitegrid", context="notebook")
TINY = 1e-17  # floor for log-scale plots of differences that are exactly zero


def save(fig: plt.Figure, path: str) -> None:
    """Save a figure as PNG atomically and close it."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)


