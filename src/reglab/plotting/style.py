"""The one plotting style: headless backend, seaborn theme, PNG saving, the log-axis floor, run colours
and the divergence mark shared by the Keras and convergence figures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.category as mcategory  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.text as mtext  # noqa: E402
import matplotlib.ticker as mticker  # noqa: E402
import matplotlib.transforms as mtransforms  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib import font_manager  # noqa: E402

from reglab.core.io import atomic_path  # noqa: E402

sns.set_theme(style="whitegrid", context="notebook")
TINY = 1e-17  # floor for log-scale plots of differences that are exactly zero

# Names in any script: after DejaVu Sans (Latin, Greek, Cyrillic), matplotlib falls back glyph by glyph
# to an installed CJK font (Debian's fonts-noto-cjk; CI installs it). Only fonts that are installed are
# listed, so a machine without one gets boxes for CJK glyphs, not a warning per figure.
_CJK_FONTS = sorted(
    {f.name for f in font_manager.fontManager.ttflist if "Sans CJK" in f.name and "Mono" not in f.name},
    key=lambda n: (not n.endswith(" JP"), n),
)
plt.rcParams["font.family"] = ["DejaVu Sans", *_CJK_FONTS[:1]]
#: Longest line of a text drawn: tick labels, legend entries, anything else (titles, labels, notes).
#: Longer ones keep their head and tail around an ellipsis, so a 300-character column name cannot
#: stretch a figure to thousands of pixels.
MAX_TICK_LABEL, MAX_LEGEND_LINE, MAX_TEXT_LINE = 28, 60, 110


def _shorten(line: str, limit: int) -> str:
    if len(line) <= limit:
        return line
    keep = (limit - 1) // 2
    return line[:keep] + "…" + line[-(limit - 1 - keep) :]


def _shorten_text(text: mtext.Text, limit: int) -> bool:
    s = text.get_text()
    if s and any(len(line) > limit for line in s.split("\n")):
        text.set_text("\n".join(_shorten(line, limit) for line in s.split("\n")))
        return True
    return False


def shorten_texts(fig: plt.Figure) -> int:
    """Shorten over-long text lines of ``fig`` (tick labels, legends, the rest); returns how many changed."""
    done: set[int] = set()
    changed = 0
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):  # tick texts are redrawn from their formatter: shorten it too
            fmt = axis.get_major_formatter()
            if isinstance(fmt, mticker.FixedFormatter):
                fmt.seq = [_shorten(str(x), MAX_TICK_LABEL) for x in fmt.seq]
            elif isinstance(fmt, (mcategory.StrCategoryFormatter, mticker.FuncFormatter)):
                axis.set_major_formatter(
                    mticker.FuncFormatter(lambda x, pos, f=fmt: _shorten(str(f(x, pos)), MAX_TICK_LABEL))
                )
        for t in [*ax.get_xticklabels(), *ax.get_yticklabels()]:
            changed += _shorten_text(t, MAX_TICK_LABEL)
            done.add(id(t))
    for legend in [*(ax.get_legend() for ax in fig.axes), *fig.legends]:
        if legend is not None:
            for t in legend.get_texts():
                changed += _shorten_text(t, MAX_LEGEND_LINE)
                done.add(id(t))
    for t in fig.findobj(mtext.Text):
        if id(t) not in done:
            changed += _shorten_text(t, MAX_TEXT_LINE)
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
    ax.scatter(
        list(positions),
        [1.0] * len(positions),
        marker="x",
        s=45,
        color=color,
        transform=trans,
        clip_on=False,
        zorder=5,
        linewidths=1.6,
    )
