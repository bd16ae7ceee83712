"""Figures of the convergence stage, drawn from its artifacts only (its theory-vs-measurement table is
:func:`reglab.report.tables.predicted_vs_measured`).

Inputs are already-loaded artifacts, never paths: the tidy curve table of a study (one row per
curve point, columns :data:`reglab.studies.convergence.CURVE_COLUMNS`) and its JSON summary (written by
:func:`reglab.studies.convergence.run_study`).  Save figures with :func:`reglab.plotting.style.save`.
Importing this module does not import TensorFlow.

Conventions (all figures, as in :mod:`reglab.plotting.keras`):

* a *configuration* is ``(solver, learning_rate, batch_size, dtype, standardize)``; its repeats
  are summarized by the median with a 20-80% band (benchopt style).  Curves of the repeats are
  put on a common epoch grid first (each repeat interpolated, in log space, between its own
  recorded epochs -- the producer thins long curves -- and never past its last epoch), so that
  at each epoch the summary is over the repeats still running then;
* the ``epoch`` column of reference and article solvers counts their iterations (steps);
* diverged repeats are never dropped silently: an ``x`` on the top edge of the axes (curves), a
  marker on the top edge (final metric) or a hatched bar (time to tolerance) shows them, and
  labels say how many;
* values drawn on a log axis are floored at :data:`reglab.plotting.style.TINY` and the axis label says
  when that happened; non-finite values leave gaps.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.transforms as mtransforms  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from reglab.core.numbers import compact  # noqa: E402
from reglab.core.stats import median  # noqa: E402
from reglab.plotting.keras import BAND, MAX_POINTS, thin_epochs  # noqa: E402
from reglab.plotting.style import TINY, mark_divergence, palette  # noqa: E402  (importing the style sets the theme)

#: Line styles for the batch sizes of :func:`metric_curves` (full batch first, then increasing sizes).
BATCH_STYLES = ["-", "--", "-.", (0, (1, 1.2)), (0, (5, 1, 1, 1, 1, 1))]
#: Bar colour per solver family in :func:`time_to_tolerance_bars`.
FAMILY_COLOR = {"keras": "C0", "reference": "C2", "article": "C4"}
_FAMILY_ORDER = {"keras": 0, "reference": 1, "article": 2}
_MARKERS = ["o", "s", "^", "D", "v", "P", "*", "h"]
_LINESTYLES = ["-", "--", ":", "-."]

Key = tuple[str, "float | None", "int | None", str, bool]


# --------------------------------------------------------------------------- helpers


def _lr(value: Any) -> float | None:
    if value is None:
        return None
    v = float(value)
    return None if math.isnan(v) else float(f"{v:.12g}")


def _bs(value: Any) -> int | None:
    if value is None:
        return None
    v = float(value)
    return None if math.isnan(v) or v < 0 else int(v)


def _key(solver: Any, lr: Any, bs: Any, dtype: Any, standardize: Any) -> Key:
    """Normalized configuration key (NaN learning rate -> None, batch -1/None -> None)."""
    return (str(solver), _lr(lr), _bs(bs), str(dtype), bool(standardize))


def _run_key(run: Mapping[str, Any]) -> Key:
    return _key(
        run["solver"],
        run.get("learning_rate"),
        run.get("batch_size"),
        run.get("dtype", "float64"),
        run.get("standardize", False),
    )


def config_label(
    solver: str,
    learning_rate: float | None,
    batch_size: int | None,
    dtype: str,
    standardize: bool | None = None,
) -> str:
    """``"keras_sgd lr=0.01 b=32 f32"`` (``b=full`` for full batch; no ``lr`` when there is none;
    ``[std]`` appended when ``standardize`` is true)."""
    parts = [str(solver)]
    lr = _lr(learning_rate)
    if lr is not None:
        parts.append(f"lr={compact(lr, 3)}")
    bs = _bs(batch_size)
    parts.append(f"b={'full' if bs is None else bs}")
    parts.append("f" + dtype[5:] if str(dtype).startswith("float") else str(dtype))
    if standardize:
        parts.append("[std]")
    return " ".join(parts)


def _param(standardize: bool) -> str:
    return "standardized" if standardize else "raw"


def _param_title(standardize: bool) -> str:
    return "standardized features" if standardize else "raw features"


def _metric(summary: Mapping[str, Any]) -> tuple[str, str, str, float]:
    """(curve column, summary field of the final value, axis label, tolerance value)."""
    tol = summary["tolerance"]
    if tol["metric"] == "mse":
        return "loss", "final_loss_float64", "training-set MSE", float(tol["value"])
    return (
        "rel_coef_error",
        "final_rel_coef_error",
        "relative coefficient error ‖θ − θ_cf‖₂ / ‖θ_cf‖₂\n(θ_cf: closed-form solution)",
        float(tol["value"]),
    )


def _theory(summary: Mapping[str, Any], standardize: bool) -> Mapping[str, Any]:
    return (summary.get("theory") or {}).get(_param(standardize)) or {}


def _stability_limit(summary: Mapping[str, Any], standardize: bool) -> float | None:
    spec = _theory(summary, standardize).get("spectrum") or {}
    lim = spec.get("stability_limit")
    if lim is None and spec.get("lambda_max"):
        lim = 2.0 / float(spec["lambda_max"])
    return None if lim is None or not math.isfinite(float(lim)) else float(lim)


def _floor(v: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(v), np.maximum(v, TINY), np.nan)


def _on_grid(epochs: np.ndarray, values: np.ndarray, grid: np.ndarray, *, log: bool) -> np.ndarray:
    """``values`` (recorded at sorted ``epochs``) at each ``grid`` epoch: exact where recorded,
    interpolated (in log space when ``log`` and both neighbours are > 0) between two finite
    neighbours, NaN outside the repeat's epochs or next to a non-finite value."""
    out = np.full(grid.shape, np.nan)
    if epochs.size == 0:
        return out
    idx = np.searchsorted(epochs, grid)
    inside = (grid >= epochs[0]) & (grid <= epochs[-1])
    idx_c = np.clip(idx, 0, epochs.size - 1)
    exact = inside & (epochs[idx_c] == grid)
    out[exact] = values[idx_c[exact]]
    between = inside & ~exact
    if between.any():
        right = idx[between]
        left = right - 1
        x0, x1 = epochs[left].astype(float), epochs[right].astype(float)
        y0, y1 = values[left], values[right]
        t = (grid[between] - x0) / (x1 - x0)
        with np.errstate(invalid="ignore", divide="ignore"):
            use_log = log & (y0 > 0) & (y1 > 0)
            lin = y0 + t * (y1 - y0)
            geo = np.exp(
                np.log(np.where(y0 > 0, y0, 1.0))
                + t * (np.log(np.where(y1 > 0, y1, 1.0)) - np.log(np.where(y0 > 0, y0, 1.0)))
            )
            val = np.where(use_log, geo, lin)
        val[~(np.isfinite(y0) & np.isfinite(y1))] = np.nan
        out[between] = val
    return out


def _summarize(sub: pd.DataFrame, column: str, cap: int) -> pd.DataFrame:
    """Per-epoch quantiles of ``column`` over the repeats of one configuration on a common grid,
    and the median cumulative seconds there.  Infinite values take part in the ranking (a blown-up
    repeat is a large value); non-finite quantiles come back as NaN."""
    grid = thin_epochs(sub["epoch"].to_numpy(), cap).astype(float)
    vals, secs = [], []
    for _, rep in sub.groupby("repeat", sort=True):
        rep = rep.sort_values("epoch")
        e = rep["epoch"].to_numpy(dtype=float)
        vals.append(_on_grid(e, rep[column].to_numpy(dtype=float), grid, log=True))
        secs.append(_on_grid(e, rep["seconds"].to_numpy(dtype=float), grid, log=False))
    values, seconds = np.vstack(vals), np.vstack(secs)
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        q = np.nanquantile(values, [BAND[0], 0.5, BAND[1]], axis=0)
        t = np.nanmedian(seconds, axis=0)
    q[~np.isfinite(q)] = np.nan
    return pd.DataFrame(
        {
            "epoch": grid,
            "seconds": t,
            "lo": q[0],
            "median": q[1],
            "hi": q[2],
            "n": (~np.isnan(values)).sum(axis=0),
        }
    )


def _divergences(
    runs: Sequence[Mapping[str, Any]], sub: pd.DataFrame, x: str
) -> tuple[list[float], int, int, list[int]]:
    """The diverged repeats of one configuration: where to mark them (x coordinate), how many
    diverged, how many repeats there are, and their divergence epochs.

    Which repeats diverged, and at which epoch, is the artifact's (``diverged``, ``diverged_epoch``,
    else ``epochs_run``: :func:`reglab.core.stats.divergence`, applied where the runs were summarized),
    so a figure never disagrees with the JSON; the curves only place the mark on a seconds axis.
    """
    by_rep = {int(rep): g.sort_values("epoch") for rep, g in sub.groupby("repeat")}

    def first_bad(rep: int) -> pd.Series | None:
        g = by_rep.get(rep)
        if g is None:
            return None
        bad = g.loc[~np.isfinite(g["loss"].to_numpy(dtype=float))]
        return None if bad.empty else bad.iloc[0]

    diverged = sorted(
        ((int(r.get("repeat") or 0), r) for r in runs if r.get("diverged")), key=lambda kv: kv[0]
    )
    n_rep = max(len(runs), len(by_rep))
    where, epochs = [], []
    for rep, r in diverged:
        row = first_bad(rep)
        ep = r.get("diverged_epoch") or (None if row is None else int(row["epoch"])) or r.get("epochs_run")
        if ep is None:
            continue
        epochs.append(int(ep))
        if x == "seconds":
            pos = (
                float(row["seconds"])
                if row is not None and int(row["epoch"]) == int(ep)
                else r.get("seconds")
            )
        else:
            pos = float(ep)
        if pos is not None and math.isfinite(float(pos)):
            where.append(float(pos))
    return where, len(diverged), n_rep, epochs


def _divergence_suffix(n_div: int, n_rep: int, epochs: Sequence[int], unit: str = "epoch") -> str:
    if not n_div:
        return ""
    span = ""
    if epochs:
        lo, hi = min(epochs), max(epochs)
        span = f" at {unit} {lo}" if lo == hi else f" at {unit}s {lo}–{hi}"
    if n_rep <= 1:
        return f" (diverged{span})"
    return f" ({n_div}/{n_rep} diverged{span})"


def _legend_right(
    target: plt.Figure | plt.Axes, handles: list, *, n_curves: int, title: str | None = None
) -> None:
    ncol = max(1, math.ceil(n_curves / 56))
    kw = dict(
        handles=handles,
        loc="upper left",
        fontsize=7 if n_curves > 16 else 8,
        frameon=False,
        ncol=ncol,
        title=title,
        title_fontsize=7,
        alignment="left",
        handlelength=2.6,
    )
    if isinstance(target, plt.Figure):  # constrained layout makes room for an "outside" legend
        kw["loc"] = "outside right upper"
        target.legend(**kw)
    else:
        target.legend(bbox_to_anchor=(1.01, 1.0), **kw)


def _facets(
    n_rows: int, n_cols: int, *, width: float, height: float, sharex: bool = True, sharey: bool = True
) -> tuple[plt.Figure, np.ndarray]:
    fig, axes = plt.subplots(
        n_rows,
        n_cols,
        figsize=(width, height),
        sharex=sharex,
        sharey=sharey,
        squeeze=False,
        layout="constrained",
    )
    return fig, axes


def _shade(color: Any, t: float) -> tuple[float, float, float]:
    """``color`` blended toward white (``t < 0``) or black (``t > 0``) by ``|t|``."""
    rgb = np.array(mcolors.to_rgb(color))
    target = np.ones(3) if t < 0 else np.zeros(3)
    return tuple(float(c) for c in rgb + abs(t) * (target - rgb))


def _curve_styles(base: Sequence[tuple], families: Mapping[str, str]) -> dict[tuple, dict[str, Any]]:
    """Matplotlib style per configuration ``(solver, lr, batch, dtype)`` so that many curves stay
    tellable apart: one hue per solver (Keras solvers first), lighter for the smaller learning rates
    of that solver; line style per batch size; a filled marker shape per reference/article solver;
    small hollow circles on Keras curves in a dtype other than float64."""
    solvers = list(dict.fromkeys(b[0] for b in base))
    keras = [sv for sv in solvers if families.get(sv) == "keras"]
    others = [sv for sv in solvers if families.get(sv) != "keras"]
    deep = sns.color_palette("deep", 10)
    hues = palette(keras) if len(keras) > 10 else dict(zip(keras, deep))
    # reference/article solvers: the colours Keras left, then black and grey, then again (their markers
    # differ)
    rest = deep[len(keras) :] + ["0.1", "0.5"] if len(keras) <= 10 else ["0.1", "0.5"]
    hues.update({sv: rest[i % len(rest)] for i, sv in enumerate(others)})
    other_marker = {sv: _MARKERS[1:][i % (len(_MARKERS) - 1)] for i, sv in enumerate(others)}
    lrs = {sv: sorted({b[1] for b in base if b[0] == sv and b[1] is not None}) for sv in solvers}
    batches = sorted({b[2] for b in base}, key=lambda v: (v is not None, v or 0))
    out = {}
    for b in base:
        ranks = lrs[b[0]]
        t = 0.0 if len(ranks) < 2 or b[1] is None else -0.55 + 0.8 * ranks.index(b[1]) / (len(ranks) - 1)
        style = {
            "color": _shade(hues[b[0]], t),
            "ls": BATCH_STYLES[batches.index(b[2]) % len(BATCH_STYLES)],
            "lw": 1.5,
        }
        if b[0] in other_marker:
            style.update(marker=other_marker[b[0]], ms=4.5, markevery=0.1)
        elif b[3] != "float64":
            style.update(marker="o", ms=3.2, markevery=0.08, mfc="white")
        out[b] = style
    return out


# --------------------------------------------------------------------------- figures


@dataclasses.dataclass
class _Extent:
    """What the curves drawn so far cover, for the axis ranges and labels of :func:`metric_curves`."""

    x_all: list[np.ndarray] = dataclasses.field(default_factory=list)
    y_top_initial: list[float] = dataclasses.field(default_factory=list)
    y_max: float = 0.0
    y_min: float = math.inf
    floored: bool = False
    any_div: bool = False


def _draw_configuration(
    ax: plt.Axes,
    sub: pd.DataFrame,
    style: dict[str, Any],
    column: str,
    x: str,
    max_points: int,
    extent: _Extent,
) -> tuple[dict[str, Any], bool]:
    """Median and band of one configuration's repeats; returns the style drawn and whether the curve
    is a single point."""
    stats = _summarize(sub, column, max_points)
    xs = stats["seconds" if x == "seconds" else "epoch"].to_numpy(dtype=float)
    y, lo, hi = (stats[c].to_numpy() for c in ("median", "lo", "hi"))
    extent.floored |= bool(np.any(np.isfinite(lo) & (lo < TINY)))
    y, lo, hi = _floor(y), _floor(lo), _floor(hi)
    lone = np.isfinite(y).sum() == 1  # a one-point curve is invisible without a marker
    if lone:
        style = {**style, "marker": style.get("marker", "o"), "markevery": None, "ms": 6}
    elif len(xs) < 2 or not (np.isfinite(y) & np.isfinite(xs)).any():
        # nothing finite to draw (e.g. diverged at once): fractional markevery fails on an empty path
        style = {**style, "markevery": None}
    ax.plot(xs, y, **style)
    if sub["repeat"].nunique() > 1:
        ax.fill_between(xs, lo, hi, color=style["color"], alpha=0.15, lw=0)
    fin = np.isfinite(y) & np.isfinite(xs)
    if fin.any():
        extent.x_all.append(xs[fin])
        extent.y_top_initial.append(float(y[fin][0]))
        extent.y_max = max(extent.y_max, float(np.nanmax(np.where(np.isfinite(hi), hi, y))))
        extent.y_min = min(extent.y_min, float(np.nanmin(np.where(np.isfinite(lo), lo, y))))
    return style, bool(lone)


def _float_floor_lines(
    axes: np.ndarray, stds: list[bool], keys: list[Key], summary: Mapping[str, Any], extent: _Extent
) -> list[Line2D]:
    """A dotted line per non-float64 dtype at the MSE of the exact solution evaluated in that dtype;
    returns their legend handles."""
    floors: dict[str, list[str]] = {}
    for ax, std in zip(axes, stds):
        dtypes = sorted({k[3] for k in keys if k[4] == std} - {"float64"})
        for j, dt in enumerate(dtypes):
            ff = (_theory(summary, std).get(f"float_floor_{dt}") or {}).get("loss_evaluated_in_dtype")
            if ff is None or not math.isfinite(float(ff)):
                continue
            ax.axhline(
                max(float(ff), TINY), color=("0.35", "sienna", "purple")[j % 3], ls=":", lw=1.6, zorder=1
            )
            floors.setdefault(dt, []).append(
                (f"{_param(std)} " if len(stds) > 1 else "") + compact(float(ff))
            )
            extent.y_min = min(extent.y_min, max(float(ff), TINY))
    return [
        Line2D(
            [],
            [],
            color=("0.35", "sienna", "purple")[j % 3],
            ls=":",
            lw=1.6,
            label=f"{dt} floor: MSE of the exact solution evaluated in {dt}\n   ({', '.join(vals)})",
        )
        for j, (dt, vals) in enumerate(floors.items())
    ]


def _metric_axes(
    axes: np.ndarray, stds: list[bool], x: str, ylabel: str, tol: float, extent: _Extent
) -> None:
    """Log y range (cut far above the largest initial value so that a blow-up does not flatten the rest),
    log x when the x values span more than two decades, labels and titles."""
    top = max(extent.y_top_initial) * 100 if extent.y_top_initial else None
    clipped = top is not None and extent.y_max > top
    for ax in axes:
        ax.set_yscale("log")
        if extent.y_min < math.inf and top is not None:
            ax.set_ylim(max(extent.y_min / 3, TINY / 2), max(top if clipped else extent.y_max * 3, tol * 3))
    xs_all = np.concatenate(extent.x_all) if extent.x_all else np.array([1.0])
    xs_pos = xs_all[xs_all > 0]
    log_x = xs_pos.size > 0 and xs_pos.max() / xs_pos.min() > 100
    for ax, std in zip(axes, stds):
        if log_x:
            ax.set_xscale("log")
        if x == "seconds":
            ax.set_xlabel(
                "wall-clock time since the start of training [s]\n(cumulative; median over repeats)"
                + (" — log scale" if log_x else "")
            )
        else:
            ax.set_xlabel("epoch (reference/article solvers: iteration)" + (" — log scale" if log_x else ""))
        if len(stds) > 1:
            ax.set_title(_param_title(std), fontsize=10, loc="left")
    note = ""
    if extent.floored:
        note += f"\n(values < {TINY:g} drawn at {TINY:g})"
    if clipped:
        note += "\n(axis cut at 100× the largest initial value;\nhigher values run off the top)"
    axes[0].set_ylabel(ylabel + " — log scale" + note, fontsize=10)


def metric_curves(
    curves: pd.DataFrame, summary: Mapping[str, Any], *, x: str = "epoch", max_points: int = MAX_POINTS
) -> plt.Figure:
    """The study's tolerance metric (training MSE when ``tolerance.metric == "mse"``, else the
    relative coefficient error) vs ``x`` ("epoch" or "seconds") per configuration: median over
    repeats with a 20-80% band; log y; log x when the drawn x values span more than two decades.

    In ``x="seconds"`` mode each grid epoch is drawn at the median cumulative wall time of the
    repeats there.  A dashed horizontal line marks the tolerance; for each non-float64 dtype in
    the curves, when the metric is the MSE, a dotted line marks the loss of the exact solution
    evaluated in that dtype (``theory[param].float_floor_<dtype>.loss_evaluated_in_dtype``) of the
    matching parametrization.  One column per parametrization (raw / standardized features)
    present; one legend for all, outside the axes, the same colour for a configuration in both.
    """
    if x not in ("epoch", "seconds"):
        raise ValueError(f"x must be 'epoch' or 'seconds', got {x!r}")
    column, _, ylabel, tol = _metric(summary)
    data = (
        curves.loc[curves["study"] == summary["study"]]
        if "study" in curves and summary.get("study")
        else curves
    )
    data = data.assign(
        _key=[
            _key(*t)
            for t in zip(
                data["solver"], data["learning_rate"], data["batch_size"], data["dtype"], data["standardize"]
            )
        ]
    )
    stds = sorted({k[4] for k in data["_key"]}) or [False]
    runs_by_key: dict[Key, list[Mapping[str, Any]]] = {}
    for run in summary.get("runs") or []:
        runs_by_key.setdefault(_run_key(run), []).append(run)
    family = dict(zip(data["_key"], data["family"]))
    keys = sorted(
        set(data["_key"]),
        key=lambda k: (_FAMILY_ORDER.get(family.get(k), 9), k[0], k[2] or 0, k[1] or 0, k[3], k[4]),
    )
    base = list(dict.fromkeys(k[:4] for k in keys))  # configuration without the parametrization
    styles = _curve_styles(base, {k[0]: family.get(k) for k in keys})

    n_legend = len(base) + 5
    per_col = min(n_legend, 56)
    fig, axes = _facets(
        1,
        len(stds),
        width=6.2 * len(stds) + 3.9 * math.ceil(n_legend / 56),
        height=max(4.6, min(0.135 * per_col + 1.6, 9.5)),
    )
    axes = axes[0]
    extent = _Extent()
    handles: dict[tuple, Line2D] = {}
    div_text: dict[tuple, list[str]] = {}
    single: set[tuple] = set()
    by_key = dict(tuple(data.groupby("_key", sort=False)))
    for ax, std in zip(axes, stds):
        for k in [k for k in keys if k[4] == std]:
            b = k[:4]
            sub = by_key[k]
            style, lone = _draw_configuration(ax, sub, styles[b], column, x, max_points, extent)
            if lone:
                single.add(b)
            where, n_div, n_rep, ep = _divergences(runs_by_key.get(k, []), sub, x)
            if n_div:
                extent.any_div = True
                mark_divergence(ax, where, style["color"])
                unit = "epoch" if family.get(k) == "keras" else "step"
                sfx = _divergence_suffix(n_div, n_rep, ep, unit).strip()[1:-1]
                div_text.setdefault(b, []).append(f"{_param(std)}: {sfx}" if len(stds) > 1 else sfx)
            if b not in handles:
                handles[b] = Line2D([], [], **{k_: v for k_, v in style.items() if k_ != "markevery"})
        ax.axhline(max(tol, TINY), color="0.1", ls=(0, (6, 3)), lw=1.3, zorder=1)  # the tolerance
    handles = {b: handles[b] for b in base if b in handles}  # legend in configuration order
    for b, h in handles.items():
        text = config_label(*b)
        where = {k[4] for k in keys if k[:4] == b}
        if len(stds) > 1 and len(where) == 1:
            text += f" ({_param_title(next(iter(where)))} only)"
        if b in single:
            text += " (one point: not traced over time)"
        if b in div_text:
            text += " (" + "; ".join(div_text[b]) + ")"
        h.set_label(text)
    extra = [
        Line2D(
            [],
            [],
            color="0.1",
            ls=(0, (6, 3)),
            lw=1.3,
            label=f"tolerance: {summary['tolerance']['metric']} = {compact(tol)}",
        )
    ]
    if column == "loss":
        extra += _float_floor_lines(axes, stds, keys, summary, extent)
    extent.y_min = min(extent.y_min, max(tol, TINY))
    if extent.any_div:
        extra.append(
            Line2D(
                [],
                [],
                color="0.3",
                marker="x",
                ls="none",
                label="× on top edge: a repeat diverged (non-finite) there;\n"
                "   later points summarize the remaining repeats",
            )
        )
    _metric_axes(axes, stds, x, ylabel, tol, extent)
    _legend_right(
        fig,
        list(handles.values()) + extra,
        n_curves=len(handles) + len(extra),
        title="median over repeats, band 20–80%\n"
        "colour: solver, lighter for a smaller learning rate (lr);\n"
        "line style: batch size (b); marker shape: reference/article solver;\n"
        "○ on Keras curves: float32 (or another dtype than float64)",
    )
    metric = summary["tolerance"]["metric"]
    fig.suptitle(
        f"{summary.get('study', '')} ({summary.get('dataset', '')}): {metric} vs {x}",
        x=0.01,
        ha="left",
        fontsize=11,
    )
    return fig


def final_vs_learning_rate(summary: Mapping[str, Any]) -> plt.Figure:
    """Final tolerance metric of the Keras runs (median over the non-diverged repeats; float64
    MSE of the final weights when the metric is the MSE) vs learning rate, log-log; colour:
    optimizer, marker/line style: batch size.  A configuration with diverged repeats gets a
    marker on the top edge of the axes (filled: every repeat diverged, hollow: some).  A vertical
    line marks the full-batch GD stability limit 2/λmax of each parametrization, a horizontal one
    the tolerance.  Columns: parametrizations present; rows: dtypes present.
    """
    _, field, ylabel, tol = _metric(summary)
    keras = [r for r in summary.get("runs") or [] if r.get("family") == "keras"]
    groups: dict[tuple, list[Mapping[str, Any]]] = {}
    for r in keras:
        opt = r.get("optimizer") or str(r["solver"]).removeprefix("keras_")
        groups.setdefault(
            (
                opt,
                _bs(r.get("batch_size")),
                str(r.get("dtype")),
                bool(r.get("standardize")),
                _lr(r.get("learning_rate")),
            ),
            [],
        ).append(r)
    optimizers = list(dict.fromkeys(k[0] for k in groups))
    batches = sorted({k[1] for k in groups}, key=lambda b: (b is not None, b or 0))
    dtypes = sorted({k[2] for k in groups}) or ["float64"]
    stds = sorted({k[3] for k in groups}) or [False]
    colors = palette(optimizers)
    style = {
        b: (_MARKERS[i % len(_MARKERS)], _LINESTYLES[i % len(_LINESTYLES)]) for i, b in enumerate(batches)
    }
    fig, axes = _facets(len(dtypes), len(stds), width=5.4 * len(stds) + 3.6, height=3.9 * len(dtypes) + 0.4)
    floored = False
    any_all = any_some = False
    limits: dict[bool, float | None] = {s: _stability_limit(summary, s) for s in stds}
    combos = [(o, b) for o in optimizers for b in batches]
    for i, dt in enumerate(dtypes):
        for j, std in enumerate(stds):
            ax = axes[i, j]
            for ci, (opt, b) in enumerate(combos):
                ks = sorted((k for k in groups if k[:4] == (opt, b, dt, std)), key=lambda k: k[4] or 0)
                if not ks:
                    continue
                xs, ys, div_all, div_some = [], [], [], []
                for k in ks:
                    runs = groups[k]
                    ok = [
                        r.get(field)
                        for r in runs
                        if not r.get("diverged")
                        and r.get(field) is not None
                        and math.isfinite(float(r.get(field)))
                    ]
                    n_div = len(runs) - len(ok)
                    med = median(ok, empty=math.nan)
                    xs.append(k[4])
                    ys.append(med)
                    if n_div and not ok:
                        div_all.append(k[4])
                    elif n_div:
                        div_some.append(k[4])
                y = np.array(ys, dtype=float)
                floored |= bool(np.any(np.isfinite(y) & (y < TINY)))
                marker, ls = style[b]
                # drawn earlier = wider, so that a line drawn later on top of it does not hide it
                wide = 1 - ci / max(len(combos) - 1, 1)
                ax.plot(
                    xs,
                    _floor(y),
                    color=colors[opt],
                    marker=marker,
                    ls=ls,
                    lw=1.2 + 2.2 * wide,
                    ms=5 + 5 * wide,
                    alpha=0.9,
                )
                # divergence markers on the top edge, shifted sideways per (optimizer, batch) to stay apart
                shift = mtransforms.ScaledTranslation(
                    (ci - (len(combos) - 1) / 2) * 4.5 / 72, 0, fig.dpi_scale_trans
                )
                trans = mtransforms.blended_transform_factory(ax.transData, ax.transAxes) + shift
                for pts, face in ((div_all, colors[opt]), (div_some, "none")):
                    if pts:
                        ax.scatter(
                            pts,
                            [1.0] * len(pts),
                            marker=marker,
                            s=55,
                            facecolors=face,
                            edgecolors=colors[opt],
                            linewidths=1.6,
                            transform=trans,
                            clip_on=False,
                            zorder=6,
                        )
                any_all |= bool(div_all)
                any_some |= bool(div_some)
            lim = limits[std]
            if lim is not None:
                ax.axvline(lim, color="crimson", lw=1.4, ls="--", zorder=2)
            ax.axhline(max(tol, TINY), color="0.1", ls=(0, (6, 3)), lw=1.2, zorder=1)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.margins(x=0.08)  # room for the side-shifted divergence markers at the extreme learning rates
            title = []
            if len(stds) > 1:
                title.append(_param_title(std))
            if len(dtypes) > 1:
                title.append(dt)
            if title:
                ax.set_title(", ".join(title), fontsize=10, loc="left", pad=12)
            if i == len(dtypes) - 1:
                ax.set_xlabel("learning rate — log scale")
        axes[i, 0].set_ylabel(
            f"final {ylabel.splitlines()[0]}\n(median over non-diverged repeats)"
            + (f"\n(values < {TINY:g} drawn at {TINY:g})" if floored else "")
            + " — log scale",
            fontsize=9,
        )
    handles: list[Any] = [Line2D([], [], color=colors[o], lw=2, label=f"optimizer {o}") for o in optimizers]
    handles += [
        Line2D(
            [],
            [],
            color="0.3",
            marker=style[b][0],
            ls=style[b][1],
            label=f"batch {'full' if b is None else b}",
        )
        for b in batches
    ]
    lims = [
        f"{_param(s)} {compact(limits[s], 3)}" if len(stds) > 1 else compact(limits[s], 3)
        for s in stds
        if limits[s] is not None
    ]
    if lims:
        handles.append(
            Line2D(
                [],
                [],
                color="crimson",
                ls="--",
                lw=1.4,
                label="GD stability limit 2/λmax\n   (" + ", ".join(lims) + ")",
            )
        )
    handles.append(
        Line2D(
            [],
            [],
            color="0.1",
            ls=(0, (6, 3)),
            lw=1.2,
            label=f"tolerance: {summary['tolerance']['metric']} = {compact(tol)}",
        )
    )
    if any_all:
        handles.append(
            Line2D(
                [],
                [],
                color="0.3",
                marker="o",
                ls="none",
                markerfacecolor="0.3",
                label="marker on top edge, filled: every repeat diverged",
            )
        )
    if any_some:
        handles.append(
            Line2D(
                [],
                [],
                color="0.3",
                marker="o",
                ls="none",
                markerfacecolor="none",
                label="marker on top edge, hollow: some repeats diverged\n"
                "   (the point is the median of the others)",
            )
        )
    if field == "final_loss_float64":
        handles.append(Line2D([], [], lw=0, label="final MSE: of the final weights, evaluated in float64"))
    _legend_right(
        fig,
        handles,
        n_curves=len(handles),
        title="lines drawn earlier are wider, so that\noverlapping lines stay visible"
        if len(combos) > 1
        else None,
    )
    if not keras:
        for ax in axes.flat:
            ax.text(0.02, 0.5, "no Keras runs in this study", transform=ax.transAxes)
    fig.suptitle(
        f"{summary.get('study', '')} ({summary.get('dataset', '')}): final "
        f"{summary['tolerance']['metric']} vs learning rate (Keras runs)",
        x=0.01,
        ha="left",
        fontsize=11,
    )
    return fig


def _tt_rows(summary: Mapping[str, Any], unit: str) -> list[dict[str, Any]]:
    groups: dict[Key, list[Mapping[str, Any]]] = {}
    fam: dict[Key, str] = {}
    for r in summary.get("runs") or []:
        k = _run_key(r)
        groups.setdefault(k, []).append(r)
        fam[k] = r.get("family", "keras")
    rows = []
    for k, runs in groups.items():
        step = "epoch" if fam[k] == "keras" else "step"
        tts = [r.get("time_to_tolerance") for r in runs]
        traced = [(r, t) for r, t in zip(runs, tts) if t is not None]
        n = len(runs)
        # diverged: flagged so, or the metric ended non-finite (JSON null) although it was traced
        div = [
            r
            for r, t in zip(runs, tts)
            if r.get("diverged") or (t is not None and t.get("final") is None and t.get("best") is not None)
        ]
        n_div = len(div)
        div_epochs = [
            int(r.get("diverged_epoch") or r.get("epochs_run"))
            for r in div
            if r.get("diverged") and (r.get("diverged_epoch") or r.get("epochs_run")) is not None
        ]
        reached = [t[unit] for _, t in traced if t.get("reached") and t.get(unit) is not None]
        row = {
            "key": k,
            "family": fam[k],
            "label": config_label(*k[:4]),
            "standardize": k[4],
            "n": n,
            "n_div": n_div,
            "n_traced": len(traced),
            "n_reached": len(reached),
            "points": reached,
        }
        if not traced:
            row.update(
                kind="untraced",
                value=math.nan,
                text="no time to tolerance: the metric was not traced for this solver",
            )
        else:
            # unreached repeats count as never (+inf): the median is finite iff most repeats reached it
            times = np.array(reached + [math.inf] * (len(traced) - len(reached)), dtype=float)
            med = float(np.median(times))
            bests = [(t["best"], t.get("best_epoch")) for _, t in traced if t.get("best") is not None]
            best_txt = ""
            if bests:
                bv, be = min(bests, key=lambda p: p[0])
                best_txt = f"best {compact(bv)}" + (f" at {step} {be}" if be is not None else "")
            div_txt = ""
            if n_div:
                div_txt = _divergence_suffix(n_div, n, div_epochs, step).strip()[1:-1]
            if math.isfinite(med):
                text = ""
                if len(reached) < len(traced):
                    text = f"{len(traced) - len(reached)}/{len(traced)} repeats not reached"
                if div_txt:
                    text += ("; " if text else "") + div_txt
                row.update(kind="reached", value=med, text=text)
            else:
                end = median(
                    [r.get("seconds") if unit == "seconds" else r.get("epochs_run") for r, _ in traced],
                    empty=math.nan,
                )
                who = "" if not reached else f" by {len(traced) - len(reached)}/{len(traced)} repeats"
                detail = "; ".join(s for s in (div_txt, best_txt) if s)
                row.update(
                    kind="diverged" if n_div else "not_reached",
                    value=end,
                    text=f"not reached{who}" + (f" ({detail})" if detail else ""),
                )
        rows.append(row)
    rows.sort(
        key=lambda r: (
            r["standardize"],
            _FAMILY_ORDER.get(r["family"], 9),
            r["key"][0],
            r["key"][2] or 0,
            r["key"][1] or 0,
            r["key"][3],
        )
    )
    return rows


def time_to_tolerance_bars(summary: Mapping[str, Any], *, unit: str = "epochs") -> plt.Figure:
    """Per configuration (reference and article solvers included) a horizontal bar to the median
    over repeats of the epochs (``unit="epochs"``; iterations for reference/article solvers) or
    seconds to reach the tolerance (log x); dots: the repeats that reached it.  Repeats that never
    reached it count as +∞ in the median; when the median is ∞ the bar is hatched and runs to the
    (median) length of the runs, labelled ``not reached (best 3.2e-9 at epoch 19800)``; hatched in
    red when repeats diverged.  One row of axes per parametrization present.
    """
    if unit not in ("epochs", "seconds"):
        raise ValueError(f"unit must be 'epochs' or 'seconds', got {unit!r}")
    rows = _tt_rows(summary, unit)
    stds = sorted({r["standardize"] for r in rows}) or [False]
    counts = [max(1, sum(r["standardize"] == s for r in rows)) for s in stds]
    fig, axes = plt.subplots(
        len(stds),
        1,
        figsize=(11.5, 0.3 * sum(counts) + 1.4 + 0.6 * len(stds)),
        sharex=True,
        squeeze=False,
        height_ratios=counts,
        layout="constrained",
    )
    axes = axes[:, 0]
    values = [r["value"] for r in rows if math.isfinite(r["value"]) and r["value"] > 0]
    points = [p for r in rows for p in r["points"] if p > 0]
    lo = min(values + points) if values or points else 1.0
    hi = max(values + points) if values or points else 10.0
    floor = 10 ** math.floor(math.log10(lo)) / (1 if unit == "epochs" else 2)
    floor = min(floor, 1.0) if unit == "epochs" else floor
    kinds = set()
    for ax, std in zip(axes, stds):
        sub = [r for r in rows if r["standardize"] == std]
        for i, r in enumerate(sub):
            color = FAMILY_COLOR.get(r["family"], "C7")
            v = r["value"]
            kinds.add(r["kind"])
            if r["kind"] == "reached":
                ax.barh(i, v - floor, left=floor, height=0.7, color=color, alpha=0.85)
            elif r["kind"] in ("not_reached", "diverged") and math.isfinite(v) and v > 0:
                edge = "crimson" if r["kind"] == "diverged" else color
                ax.barh(
                    i,
                    v - floor,
                    left=floor,
                    height=0.7,
                    facecolor="white",
                    edgecolor=edge,
                    hatch="xx" if r["kind"] == "diverged" else "///",
                    lw=1.0,
                )
            if r["points"]:
                ax.scatter(r["points"], [i] * len(r["points"]), s=12, color="k", zorder=4)
            end = max([v if math.isfinite(v) and v > 0 else floor, *r["points"]])
            if r["text"]:
                ax.text(
                    end * 1.15,
                    i,
                    r["text"],
                    va="center",
                    ha="left",
                    fontsize=7.5,
                    color="crimson" if r["kind"] == "diverged" else "0.15",
                    clip_on=False,
                )
        ax.set_yticks(range(len(sub)), [r["label"] for r in sub], fontsize=8)
        ax.set_ylim(len(sub) - 0.5, -0.5)
        ax.set_xscale("log")
        ax.grid(axis="y", visible=False)
        if len(stds) > 1:
            ax.set_title(_param_title(std), fontsize=10, loc="left")
        if not sub:
            ax.text(0.02, 0.5, "no runs", transform=ax.transAxes)
    # room on the right for the labels of the longest bars
    axes[-1].set_xlim(floor, hi * 10 ** max(1.5, 0.45 * math.log10(max(hi / floor, 10))))
    what = "epochs (reference/article solvers: iterations)" if unit == "epochs" else "wall-clock seconds"
    axes[-1].set_xlabel(f"{what} to reach the tolerance — median over repeats, log scale")
    handles = [
        Patch(color=FAMILY_COLOR[f], label=f"{f} solvers")
        for f in FAMILY_COLOR
        if any(r["family"] == f for r in rows)
    ]
    handles.append(Line2D([], [], color="k", marker="o", ms=4, ls="none", label="one repeat that reached it"))
    if "not_reached" in kinds:
        handles.append(
            Patch(
                facecolor="white",
                edgecolor="0.3",
                hatch="///",
                label=f"not reached (bar: length of the run, {unit})",
            )
        )
    if "diverged" in kinds:
        handles.append(
            Patch(
                facecolor="white",
                edgecolor="crimson",
                hatch="xx",
                label=f"diverged, not reached (bar: length of the run, {unit})",
            )
        )
    fig.legend(
        handles=handles, loc="outside lower center", ncol=min(len(handles), 3), fontsize=8, frameon=False
    )
    tol = summary["tolerance"]
    fig.suptitle(
        f"{summary.get('study', '')} ({summary.get('dataset', '')}): {unit} to reach "
        f"{tol['metric']} ≤ {compact(float(tol['value']))}",
        x=0.01,
        ha="left",
        fontsize=11,
    )
    return fig
