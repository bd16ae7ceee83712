"""Figures of seed 000's amortized encoders, drawn from their artifacts only."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from reglab.plotting.style import TINY, palette

_REF_LINES = (
    ("ols", "OLS floor", "k", "-"),
    ("intercept_only", "intercept only", "0.45", "--"),
    ("zero", "β = 0", "0.7", ":"),
)


def _order(docs: Mapping[str, Mapping[str, Any]]) -> list[str]:
    return sorted(docs, key=lambda n: (docs[n]["kind"] != "lstm", n))


def training_curves(
    history: pd.DataFrame, docs: Mapping[str, Mapping[str, Any]], references: Mapping[str, Any]
) -> plt.Figure:
    """Validation loss (raw units) against optimizer steps, with the floor, intercept-only and β = 0 lines
    of the held-out seed-condition datasets."""
    fig, ax = plt.subplots(figsize=(9, 5))
    colors = palette(_order(docs))
    for name in _order(docs):
        h = history[history["name"] == name]
        if docs[name].get("loss_units") != "raw" or h.empty:
            continue
        col = "val_loss" if h["val_loss"].notna().any() else "loss"
        ax.plot(
            h["step"],
            np.maximum(h[col].to_numpy(dtype=float), TINY),
            color=colors[name],
            label=f"{name} ({docs[name]['params']:,} params)",
        )
    refs = references["references"]
    for key, label, color, style in _REF_LINES:
        ax.axhline(
            refs[key]["loss"], color=color, ls=style, lw=1.2, label=f"{label}: {refs[key]['loss']:.4g}"
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("optimizer steps")
    ax.set_ylabel("validation loss: mean squared error of x'β on the dataset's rows")
    ax.set_title("Seed 000: training curves against the per-dataset OLS floor")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return fig


def excess_by_condition(evaluation: pd.DataFrame) -> plt.Figure:
    """Mean excess loss over the OLS floor, one panel per factor varied around the seed's setting."""
    factors = [
        f for f in ("n", "coef_scale", "x_dist", "noise_max") if f in set(evaluation["factor"].dropna())
    ]
    names = [n for n in dict.fromkeys(evaluation["name"]) if n not in ("ols", "truth")]
    colors = palette(names)
    fig, axes = plt.subplots(
        1, max(len(factors), 1), figsize=(4.2 * max(len(factors), 1), 4.2), squeeze=False
    )
    seed_rows = evaluation[evaluation["condition"] == "seed"]
    for ax, factor in zip(axes[0], factors):
        base_value = _label(seed_rows.iloc[0][factor])
        sub = pd.concat([evaluation[evaluation["factor"] == factor], seed_rows.assign(value=base_value)])
        sub = sub.assign(value=sub["value"].map(_label))
        values = sorted(set(sub["value"]), key=_sort_key)
        pos = {v: i for i, v in enumerate(values)}
        for name in names:
            s = sub[sub["name"] == name].sort_values("value", key=lambda c: c.map(_sort_key))
            ref = name in ("intercept_only", "zero", "gd_1", "gd_3")
            ax.plot(
                [pos[v] for v in s["value"]],
                np.maximum(s["excess_mean"].to_numpy(dtype=float), TINY),
                marker="o",
                ms=3,
                lw=1,
                ls="--" if ref else "-",
                color=colors[name],
                label=name,
            )
        floor = sub[sub["name"] == "ols"].sort_values("value", key=lambda c: c.map(_sort_key))
        floor = floor[floor["excess_pct"].notna()]  # noise-free data: the floor is 0 and not drawn
        ax.plot(
            [pos[v] for v in floor["value"]],
            np.maximum(floor["floor"].to_numpy(dtype=float), TINY),
            "k:",
            lw=1.5,
            label="the floor itself",
        )
        ax.set_xticks(range(len(values)), values, rotation=30)
        ax.set_yscale("log")
        ax.set_title(f"{factor} (seed: {base_value})")
        ax.set_xlabel(factor)
    axes[0][0].set_ylabel("mean excess loss over the OLS floor")
    axes[0][-1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.suptitle(
        "Held-out datasets, one factor at a time: mean excess loss over the per-dataset OLS floor "
        "(dotted: the floor itself)"
    )
    return fig


def _label(v: Any) -> str:
    try:
        return f"{float(v):g}"
    except (TypeError, ValueError):
        return str(v)


def _sort_key(v: Any) -> tuple:
    try:
        return (0, float(v), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(v))


def permutation_change(docs: Mapping[str, Mapping[str, Any]]) -> plt.Figure:
    """Largest relative change of β over shuffles of each dataset's rows."""
    names = _order(docs)
    values = [max(docs[n]["permutation"]["max"], TINY) for n in names]
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(names) + 1.5))
    colors = palette(names)
    ax.barh(names, values, color=[colors[n] for n in names])
    ax.axvline(1e-5, color="k", ls="--", lw=1, label="1e-5: invariant up to float32 rounding")
    ax.set_xscale("log")
    ax.invert_yaxis()
    ax.set_xlabel("max over datasets and shuffles of |β(shuffled) − β| / |β|")
    ax.set_title("Does the encoder depend on the order of the rows?")
    ax.legend(fontsize=8)
    return fig


def fitted_planes(
    docs: Mapping[str, Mapping[str, Any]], references: Mapping[str, Any], *, index: int = 0
) -> plt.Figure:
    """One held-out dataset in 3-D with the OLS plane and the planes of the seed's LSTM and of the best
    encoder (the encoder with the lowest held-out loss)."""
    ex = references["example"]
    x, y = np.asarray(ex["x"][index]), np.asarray(ex["y"][index])
    fig = plt.figure(figsize=(7.5, 6))
    ax = fig.add_subplot(projection="3d")
    ax.scatter(x[:, 0], x[:, 1], y, s=8, color="k", label="data")
    g = np.linspace(0, 1, 12)
    gx, gy = np.meshgrid(g, g)
    planes = [("OLS", np.asarray(ex["beta_ols"][index]), "k")]
    lstm = [n for n in _order(docs) if docs[n]["kind"] == "lstm"]
    best = min(
        (n for n in docs if docs[n]["kind"] != "unrolled"), key=lambda n: docs[n]["eval_loss"], default=None
    )
    for name, color in ((lstm[0] if lstm else None, "C3"), (best, "C0")):
        if name is not None and name not in [p[0] for p in planes]:
            planes.append((name, np.asarray(docs[name]["example_beta"][index]), color))
    for label, beta, color in planes:
        ax.plot_surface(gx, gy, beta[0] * gx + beta[1] * gy + beta[2], color=color, alpha=0.25, linewidth=0)
        ax.plot(
            [],
            [],
            color=color,
            lw=6,
            alpha=0.4,
            label=f"{label}: β = ({beta[0]:.1f}, {beta[1]:.1f}, {beta[2]:.1f})",
        )
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_zlabel("y")
    ax.set_title("One held-out dataset: fitted planes")
    ax.legend(fontsize=7, loc="upper left")
    return fig


def built_in(rows: Sequence[Mapping[str, Any]]) -> plt.Figure:
    """How much must be built in: each entry's excess over the OLS floor (%) at every held-out condition
    where the floor is not 0, one line per entry (the self-refining encoder once per pass count)."""
    keys: list[str] = []
    for r in rows:
        for k, cell in r["conditions"].items():
            if cell is not None and cell["unit"] == "%" and k not in keys:
                keys.append(k)
    keys.sort(key=lambda k: (k != "seed", k.split("=")[0], _num(k)))
    fig, ax = plt.subplots(figsize=(12, 5.5))
    colors = palette([r["name"] for r in rows])
    x = np.arange(len(keys))
    for r in rows:
        cells = [r["conditions"].get(k) for k in keys]
        ys = np.array([c["value"] if c and c["unit"] == "%" else np.nan for c in cells], dtype=float)
        ax.plot(
            x,
            np.where(np.isnan(ys), np.nan, np.maximum(ys, 1e-14)),
            marker="o",
            ms=4,
            lw=1.2,
            ls="--" if r["passes"] else "-",
            color=colors[r["name"]],
            label=f"{r['name']}: {r['built_in']}" if not r["passes"] else r["name"],
        )
    ax.axhline(1e-6, color="0.4", ls=":", lw=1, label="1e-6 %")
    ax.set_yscale("log")
    ax.set_xticks(x, keys, rotation=55, ha="right", fontsize=8)
    ax.set_ylabel("mean excess over the per-dataset OLS floor (%); ≤ 1e-14 drawn at 1e-14")
    ax.set_title("Seed 000: how much must be built in — excess over the OLS floor, held-out conditions")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return fig


def _num(key: str) -> float:
    try:
        return float(key.split("=", 1)[1])
    except (IndexError, ValueError):
        return math.inf
