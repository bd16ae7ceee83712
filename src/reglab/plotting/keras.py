"""Figures of the Keras stage, drawn from its artifacts only (its table is :mod:`reglab.report.tables`).

Inputs are already-loaded artifacts, never paths: the per-run JSON documents written by
:func:`reglab.training.keras_runs.run_one` (``results/keras/{dataset}/{run}.json``) and the tidy
``results/keras/{dataset}/history.parquet`` (columns ``run, repeat, epoch, train_loss,
loss_end, val_loss, seconds, w_<param>..., dist_<ref>...``).  Save figures with
:func:`reglab.plotting.style.save`.  Importing this module does not import TensorFlow.

Conventions (all figures):

* curves over repeats are the per-epoch median with a 20-80% band (benchopt style); at
  each epoch they summarize the repeats still running at that epoch (a repeat that
  diverged or stopped early no longer contributes after its last epoch);
* a repeat that diverged is never dropped silently: an ``x`` is drawn on the top edge of
  the axes at its divergence epoch and the run's legend label says so;
* values drawn on a log axis are floored at :data:`reglab.plotting.style.TINY` (exact zeros),
  and the axis label says when that happened; non-finite values leave gaps;
* long histories are thinned (:func:`thin_epochs`) before anything is computed.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from reglab.core.rng import generator  # noqa: E402
from reglab.core.stats import thin_positions  # noqa: E402
from reglab.plotting.style import TINY, mark_divergence, palette  # noqa: E402  (importing the style sets the theme)

#: Default cap on the number of epochs drawn per curve.
MAX_POINTS = 2000
#: Quantiles of the band drawn around the median.
BAND = (0.2, 0.8)

_LOSS_NAMES = {
    "linear": "MSE",
    "mlp_regression": "MSE",
    "logistic": "log-loss",
    "mlp_classification": "log-loss",
}


# --------------------------------------------------------------------------- helpers


def thin_epochs(epochs: Sequence[int] | np.ndarray, cap: int = MAX_POINTS) -> np.ndarray:
    """The sorted distinct epochs to draw, at most ``cap`` of them (:func:`reglab.core.stats.thin_positions`
    of the distinct epochs: log-spaced and evenly spaced ones, the first and last always kept)."""
    e = np.unique(np.asarray(epochs))
    return e[thin_positions(e.size, cap)]


def _band(history: pd.DataFrame, column: str, epochs: np.ndarray) -> pd.DataFrame:
    """Per-epoch quantiles (BAND[0], median, BAND[1]) of ``column`` over the repeats of one run.

    Infinite values take part in the ranking (a blown-up repeat is a large loss);
    non-finite quantiles come back as NaN so that they are left out of the plot.
    """
    sub = history.loc[history["epoch"].isin(epochs), ["epoch", "repeat", column]]
    wide = sub.pivot_table(index="epoch", columns="repeat", values=column, aggfunc="first", dropna=False)
    wide = wide.reindex(np.sort(sub["epoch"].unique()))
    values = wide.to_numpy(dtype=float)
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        q = np.nanquantile(values, [BAND[0], 0.5, BAND[1]], axis=1)
    q[~np.isfinite(q)] = np.nan
    return pd.DataFrame(
        {
            "epoch": wide.index.to_numpy(),
            "lo": q[0],
            "median": q[1],
            "hi": q[2],
            "n": np.isfinite(values).sum(axis=1),
        }
    )


def _divergence(doc: dict[str, Any]) -> tuple[list[int], str]:
    """Divergence epochs of the run's repeats and the legend suffix describing them."""
    reps = doc.get("repeats") or []
    epochs = [
        int(r["diverged_epoch"]) for r in reps if r.get("diverged") and r.get("diverged_epoch") is not None
    ]
    n_div = sum(bool(r.get("diverged")) for r in reps) if reps else int(doc.get("n_diverged") or 0)
    n_rep = len(reps) or int(doc.get("n_repeats") or 1)
    if not n_div:
        return epochs, ""
    if n_rep == 1:
        where = f" at epoch {epochs[0]}" if epochs else ""
        return epochs, f" (diverged{where})"
    span = ""
    if epochs:
        lo, hi = min(epochs), max(epochs)
        span = f" at epoch {lo}" if lo == hi else f" at epochs {lo}–{hi}"
    return epochs, f" ({n_div}/{n_rep} repeats diverged{span})"


def _run_label(doc: dict[str, Any], suffix: str = "") -> str:
    n_rep = doc.get("n_repeats") or len(doc.get("repeats") or []) or 1
    std = " [standardized features]" if doc.get("standardize") else ""
    return f"{doc['run']} (n={n_rep}){std}{suffix}"


def _title(docs: Sequence[dict[str, Any]]) -> str:
    names = sorted({str(d.get("dataset")) for d in docs})
    return ", ".join(names)


def _draw_curves(
    ax: plt.Axes,
    docs: Sequence[dict[str, Any]],
    history: pd.DataFrame,
    column: str,
    *,
    log_y: bool,
    cap: int,
    label_extra: dict[str, str] | None = None,
    dashed_column: str | None = None,
) -> dict[str, Any]:
    """Median + band per run of ``column`` (and the median of ``dashed_column``, dashed)."""
    runs = [d["run"] for d in docs]
    colors = palette(runs)
    floored = False
    handles = []
    any_dashed = False
    by_run = dict(tuple(history.groupby("run", sort=False))) if len(history) else {}
    for i, doc in enumerate(docs):
        run = doc["run"]
        color = colors[run]
        # earlier runs are drawn wider so that identical curves drawn later do not hide them
        lw = 1.2 + 2.4 * (1 - i / max(len(docs) - 1, 1))
        div_epochs, suffix = _divergence(doc)
        label = _run_label(doc, suffix + (label_extra or {}).get(run, ""))
        h = by_run.get(run)
        if h is None or h.empty or column not in h:
            label += " — no history"
        else:
            keep = thin_epochs(h["epoch"].to_numpy(), cap)
            stats = _band(h, column, keep)
            y, ylo, yhi = (stats[c].to_numpy() for c in ("median", "lo", "hi"))
            if log_y:
                floored |= bool(np.any(np.isfinite(ylo) & (ylo < TINY)))
                y, ylo, yhi = (np.where(np.isfinite(v), np.maximum(v, TINY), np.nan) for v in (y, ylo, yhi))
            lone = np.isfinite(y).sum() == 1  # a one-point curve is invisible without a marker
            ax.plot(stats["epoch"], y, color=color, lw=lw, marker="o" if lone else None)
            if h["repeat"].nunique() > 1:
                ax.fill_between(stats["epoch"], ylo, yhi, color=color, alpha=0.2, lw=0)
            if dashed_column and dashed_column in h and h[dashed_column].notna().any():
                vstats = _band(h, dashed_column, keep)
                v = vstats["median"].to_numpy()
                if log_y:
                    v = np.where(np.isfinite(v), np.maximum(v, TINY), np.nan)
                dark = tuple(0.55 * c for c in mcolors.to_rgb(color))
                ax.plot(vstats["epoch"], v, color=dark, lw=1.2, ls="--", zorder=4)
                any_dashed = True
        mark_divergence(ax, div_epochs, color)
        handles.append(Line2D([], [], color=color, lw=lw, label=label))
    return {
        "handles": handles,
        "floored": floored,
        "any_dashed": any_dashed,
        "any_diverged": any(_divergence(d)[0] for d in docs),
    }


def _finish(
    ax: plt.Axes,
    info: dict[str, Any],
    *,
    log_y: bool,
    log_x: bool,
    ylabel: str,
    dashed_label: str | None = None,
) -> None:
    handles = list(info["handles"])
    if info["any_dashed"] and dashed_label:
        handles.append(Line2D([], [], color="0.3", lw=1.3, ls="--", label=dashed_label))
    if info["any_diverged"]:
        handles.append(
            Line2D(
                [],
                [],
                color="0.3",
                marker="x",
                ls="none",
                label="× on top edge: a repeat diverged (non-finite) at that epoch;\n"
                "   later epochs summarize the remaining repeats",
            )
        )
    if log_y:
        ax.set_yscale("log")
    if log_x:
        ax.set_xscale("log")
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 2.5, 5, 10]))
    ax.set_xlabel("epoch" + (" (log scale)" if log_x else ""))
    ax.set_ylabel(
        ylabel + (f"\n(values < {TINY:g} drawn at {TINY:g})" if info["floored"] else ""), fontsize=10
    )
    title = (
        "line width decreases in drawing order,\nso overlapping curves stay visible"
        if len(info["handles"]) > 1
        else None
    )
    ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=8,
        frameon=False,
        title=title,
        title_fontsize=7,
        alignment="left",
    )


def _loss_name(docs: Sequence[dict[str, Any]]) -> tuple[str, dict[str, str]]:
    names = {d["run"]: _LOSS_NAMES.get(d.get("spec", {}).get("model"), "loss") for d in docs}
    distinct = sorted(set(names.values()))
    if len(distinct) == 1:
        return distinct[0], {}
    return "loss", {run: f" [{name}]" for run, name in names.items()}


# --------------------------------------------------------------------------- figures


def loss_curves(
    docs: list[dict],
    history: pd.DataFrame,
    *,
    log_y: bool = True,
    log_x: bool = False,
    max_points: int = MAX_POINTS,
) -> plt.Figure:
    """Training-set loss after each epoch (``loss_end``) per run: median over repeats with a
    20-80% band; validation loss (median) dashed where recorded; divergences marked.

    One axes.  Each curve is thinned to at most ``max_points`` epochs (:func:`thin_epochs`).
    """
    loss, extra = _loss_name(docs)
    fig, ax = plt.subplots(figsize=(10.5, 4.4))
    info = _draw_curves(
        ax,
        docs,
        history,
        "loss_end",
        log_y=log_y,
        cap=max_points,
        label_extra=extra,
        dashed_column="val_loss",
    )
    _finish(
        ax,
        info,
        log_y=log_y,
        log_x=log_x,
        ylabel=f"training-set {loss} after the epoch",
        dashed_label="dashed, darker: validation loss (median)",
    )
    ax.set_title(
        f"{_title(docs)}: training loss (solid: median over repeats, band: 20–80%)", fontsize=10, loc="left"
    )
    fig.tight_layout()
    return fig


def distance_curves(
    docs: list[dict],
    history: pd.DataFrame,
    ref: str = "min_norm",
    *,
    log_y: bool | None = None,
    log_x: bool = False,
    max_points: int = MAX_POINTS,
) -> plt.Figure:
    """Euclidean distance of the parameters (trained parametrization) to the reference
    solution ``ref`` vs epoch: median over repeats with a 20-80% band.

    ``log_y=None`` (default) uses a log y axis when the drawn distances span more than
    one decade (max/min > 10), a linear one otherwise.

    Runs without ``dist_<ref>`` data (MLPs, logistic runs for a least-squares reference)
    are not drawn; the title names them.  One axes.
    """
    column = f"dist_{ref}"
    has = set()
    if column in history:
        has = set(history.loc[history[column].notna(), "run"].unique())
    drawn = [d for d in docs if d["run"] in has]
    skipped = [d["run"] for d in docs if d["run"] not in has]
    fig, ax = plt.subplots(figsize=(10.5, 4.4))
    if drawn:
        if log_y is None:
            values = history.loc[history["run"].isin(has), column].to_numpy(dtype=float)
            values = values[np.isfinite(values) & (values > 0)]
            log_y = bool(values.size) and values.max() / values.min() > 10
        info = _draw_curves(ax, drawn, history, column, log_y=log_y, cap=max_points)
        _finish(
            ax,
            info,
            log_y=log_y,
            log_x=log_x,
            ylabel=f"‖θ − θ_ref‖₂, θ_ref = {ref.replace('_', '-')} solution\n"
            "(parameters as trained: standardized units\nfor runs on standardized features)",
        )
    else:
        ax.axis("off")
        ax.text(0.02, 0.5, f"no run has a '{ref}' reference distance", transform=ax.transAxes)
    title = f"{_title(docs)}: distance to the {ref.replace('_', '-')} solution (median, 20–80% band)"
    if skipped:
        title += f"\nnot drawn (no {ref} reference): " + ", ".join(skipped)
    ax.set_title(title, fontsize=10, loc="left")
    fig.tight_layout()
    return fig


def landing_points(
    docs: list[dict],
    *,
    article_point: tuple[float, float] = (1.15, 0.85),
    null_direction: tuple[float, float, float] = (1.0, -1.0, 1.0),
    features: tuple[str, str] = ("x1", "x2"),
    seed: int = 0,
) -> plt.Figure:
    """Where the repeats of seed 001 (``collinear_toy``) land on the line of exact fits.

    On that data (x2 = x1 + 1, y = 2 x1 + 1) every (w1, w2, b) with w1 + w2 = 2 and
    b = 1 - w2 fits exactly: the line ``θ_mn + s · null_direction`` through the
    minimum-norm solution θ_mn = ``doc['references']['min_norm']`` (= (1, 1, 0)).

    (a) final (w1, w2) of every repeat, one colour per run with ``use_bias``; the projected
        line w1 + w2 = θ_mn,1 + θ_mn,2 (= 2), the minimum-norm point (star), the article's
        reported landing point (``article_point``), and runs without a bias (unique
        solution (1, 1), drawn as triangles) when present.  The legend gives, per run, the
        median 3-D distance of the final (w1, w2, b) from the exact-fit line (0 = exact fit).
    (b) per run, each repeat's signed position along the projected line from the
        minimum-norm point, ``u = ((w1 − w2) − (m1 − m2)) / √2`` (a point exactly on the
        line with parameter s has u = √2·s and lies √3·|s| from θ_mn in 3-D); the
        article point's u is drawn as a vertical line.

    Diverged repeats are not drawn (their weights are off the scale) but are counted in
    the legend.  Raises if a document was trained on standardized features (its coef
    would not be in the references' parametrization).
    """
    f1, f2 = features
    d = np.asarray(null_direction, dtype=float)
    d_hat = d / np.linalg.norm(d)
    e2 = d[:2] / np.linalg.norm(d[:2])  # direction of the projected line in the (w1, w2) plane
    bias_docs = [doc for doc in docs if doc.get("spec", {}).get("use_bias", True)]
    nobias_docs = [doc for doc in docs if not doc.get("spec", {}).get("use_bias", True)]
    for doc in docs:
        if doc.get("standardize"):
            raise ValueError(
                f"run {doc['run']!r} was trained on standardized features; landing_points needs raw-unit fits"
            )
    colors = palette([doc["run"] for doc in docs])
    mn = None
    for doc in bias_docs:
        ref = (doc.get("references") or {}).get("min_norm")
        if ref:
            mn = np.array([ref[f1], ref[f2], ref.get("intercept", 0.0)], dtype=float)
            break
    if mn is None:
        raise ValueError("landing_points needs a use_bias run with a 'min_norm' reference")

    fig, (ax, bx) = plt.subplots(
        1, 2, figsize=(13, 6.4), gridspec_kw={"width_ratios": [1.0, 1.15]}, layout="constrained"
    )
    strip_rows = []
    for doc in bias_docs:
        run = doc["run"]
        reps = doc.get("repeats") or []
        ok = [r for r in reps if not r.get("diverged") and r.get("coef") is not None]
        theta = np.array([[r["coef"][f1], r["coef"][f2], r.get("intercept") or 0.0] for r in ok], dtype=float)
        theta = theta.reshape(-1, 3)
        delta = theta - mn
        off_line = np.linalg.norm(delta - np.outer(delta @ d_hat, d_hat), axis=1)
        u = delta[:, :2] @ e2
        strip_rows += [{"run": run, "u": float(v)} for v in u]
        n_div = len(reps) - len(ok)
        label = f"{run}: {len(ok)} repeats"
        if n_div:
            label += f", {n_div} diverged/without weights (not drawn)"
        if len(ok):
            label += f"\n  median dist. to exact-fit line {np.median(off_line):.2g}"
        ax.scatter(
            theta[:, 0],
            theta[:, 1],
            s=18,
            alpha=0.6,
            color=colors[run],
            label=label,
            edgecolor="none",
            zorder=3,
        )
    for doc in nobias_docs:
        run = doc["run"]
        reps = doc.get("repeats") or []
        ok = [r for r in reps if not r.get("diverged") and r.get("coef") is not None]
        pts = np.array([[r["coef"][f1], r["coef"][f2]] for r in ok], dtype=float).reshape(-1, 2)
        n_div = len(reps) - len(ok)
        label = f"{run} (no bias; unique solution): {len(ok)} repeats" + (
            f", {n_div} diverged" if n_div else ""
        )
        ax.scatter(
            pts[:, 0],
            pts[:, 1],
            s=28,
            marker="^",
            color=colors[run],
            label=label,
            edgecolor="k",
            linewidth=0.5,
            zorder=8,
        )
        ref = (doc.get("references") or {}).get("closed_form")
        if ref:
            if len(pts):
                dist = np.median(np.hypot(pts[:, 0] - ref[f1], pts[:, 1] - ref[f2]))
                ax.collections[-1].set_label(f"{label}\n  median dist. to its solution {dist:.2g}")
            ax.scatter(
                [ref[f1]],
                [ref[f2]],
                marker="P",
                s=70,
                color="white",
                edgecolor="k",
                zorder=7,
                label=f"no-bias exact solution ({ref[f1]:.3g}, {ref[f2]:.3g})",
            )
    total = mn[0] + mn[1]
    ax.axline(
        (mn[0], mn[1]),
        slope=e2[1] / e2[0] if e2[0] else math.inf,
        color="0.35",
        lw=1,
        ls="--",
        zorder=1,
        label=f"exact fits: {f1} + {f2} = {total:.4g}",
    )
    ax.scatter(
        [mn[0]],
        [mn[1]],
        marker="*",
        s=220,
        color="gold",
        edgecolor="k",
        zorder=6,
        label=f"minimum-norm solution ({mn[0]:.3g}, {mn[1]:.3g}, b={mn[2]:.2g})",
    )
    ax.scatter(
        [article_point[0]],
        [article_point[1]],
        marker="D",
        s=80,
        color="crimson",
        edgecolor="k",
        zorder=7,
        label=f"article (Adam) ({article_point[0]:g}, {article_point[1]:g})",
    )
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel(f"final weight w1 (coefficient of {f1})")
    ax.set_ylabel(f"final weight w2 (coefficient of {f2})")
    ax.set_title("(a) final weights of each repeat", fontsize=10, loc="left")

    u_article = float((np.asarray(article_point, dtype=float) - mn[:2]) @ e2)
    strip = pd.DataFrame(strip_rows, columns=["run", "u"])
    order = [doc["run"] for doc in bias_docs]
    if len(strip):
        with warnings.catch_warnings():  # seaborn 0.13 passes matplotlib 3.11's deprecated `vert`
            warnings.simplefilter("ignore", matplotlib.MatplotlibDeprecationWarning)
            sns.boxplot(
                data=strip,
                x="u",
                y="run",
                order=order,
                ax=bx,
                color="0.92",
                width=0.5,
                showfliers=False,
                whis=(5, 95),
                linewidth=0.8,
            )
        # the strip's vertical jitter is drawn from the config seed (seaborn's stripplot draws from numpy's
        # global state): the same config gives the same figure, byte for byte
        jitter = generator(seed, "figure", "landing").uniform(-0.2, 0.2, size=len(strip))
        rows = strip["run"].map({run: i for i, run in enumerate(order)}).to_numpy(dtype=float)
        bx.scatter(
            strip["u"],
            rows + jitter,
            s=12,
            alpha=0.6,
            color=[colors[r] for r in strip["run"]],
            edgecolor="none",
            zorder=3,
        )
    bx.axvline(0.0, color="goldenrod", lw=1.5, label="minimum-norm point (u = 0)")
    bx.axvline(u_article, color="crimson", lw=1.5, ls="--", label=f"article (Adam): u = {u_article:.3g}")
    bx.set_xlabel(
        f"u = signed offset along {f1} + {f2} = {total:.4g} from the minimum-norm point\n"
        "((Δw1 − Δw2)/√2; box: quartiles, whiskers: 5–95%)"
    )
    bx.set_ylabel("")
    bx.set_title("(b) position of each repeat along the line of exact fits", fontsize=10, loc="left")
    handles, labels = ax.get_legend_handles_labels()
    bh, bl = bx.get_legend_handles_labels()
    fig.legend(handles + bh, labels + bl, loc="outside lower center", ncol=2, fontsize=8, frameon=False)
    fig.suptitle(f"{_title(docs)}: where training lands among the exact fits", x=0.01, ha="left")
    return fig
