"""The one plotting style: headless backend, seaborn theme, PNG saving, the log-axis floor, run colours
and the divergence mark shared by the Keras and convergence figures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.text as mtext  # noqa: E402
import matplotlib.transforms as mtransforms  # noqa: E402
from matplotlib import font_manager  # noqa: E402
import seaborn as sns  # noqa: E402

from reglab.core.io import atomic_path  # noqa: E402

sns.set_theme(style="whitegrid", context="notebook")
TINY = 1e-17  # floor for log-scale plots of differences that are exactly zero

# Names in any script: after DejaVu Sans (Latin, Greek, Cyrillic), matplotlib falls back glyph by glyph
# to an installed CJK font (Debian's fonts-noto-cjk; CI installs it). Only fonts that are installed are
# listed, so a machine without one gets boxes for CJK glyphs, not a warning per figure.
_CJK_FONTS = sorted({f.name for f in font_manager.fontManager.ttflist if "Sans CJK" in f.name and "Mono" not in f.name},
                    key=lambda n: (not n.endswith(" JP"), n))
plt.rcParams["font.family"] = ["DejaVu Sans", *_CJK_FONTS[:1]]
#: Longest line of any text drawn (titles, legends, tick labels); longer ones keep their head and tail
#: around an ellipsis, so a 300-character column name cannot stretch a figure to thousands of pixels.
MAX_TEXT_LINE = 80


def _shorten(line: str, limit: int = MAX_TEXT_LINE) -> str:
    if len(line) <= limit:
        return line
    keep = (limit - 1) // 2
    return line[:keep] + "…" + line[-(limit - 1 - keep):]


def shorten_texts(fig: plt.Figure, limit: int = MAX_TEXT_LINE) -> int:
    """Shorten every text line of ``fig`` longer than ``limit`` characters; returns how many texts changed."""
    changed = 0
    for text in fig.findobj(mtext.Text):
        s = text.get_text()
        if s and any(len(line) > limit for line in s.split("\n")):
            text.set_text("\n".join(_shorten(line, limit) for line in s.split("\n")))
            changed += 1
    return changed


def save(fig: plt.Figure, path: str) -> None:
    """Save a figure as PNG atomically and close it (over-long text lines shortened first)."""
    shorten_texts(fig)
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
