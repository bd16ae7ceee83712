"""Per-dataset figures (closed-form solver agreement, diagnostics), drawn from JSON artifacts only."""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from reglab.plotting.style import TINY  # noqa: E402  (importing the style also sets the theme)


def _param_vector(fit: dict[str, Any], features: list[str]) -> np.ndarray | None:
    if fit.get("status") != "ok":
        return None
    values = [fit["coef"][f] for f in features]
    if fit.get("intercept") is not None:
        values.append(fit["intercept"])
    return np.array(values, dtype=float)


def solver_agreement(closed: dict[str, Any]) -> plt.Figure:
    """Left: largest parameter difference of each solver from the recommended answer (log scale).
    Right: correct digits per solver against the exact solution when known, else training MSE."""
    features = closed["features"]
    solvers = closed["solvers"]
    ref = _param_vector(solvers[closed["recommended"]], features)
    rows = []
    for name, fit in solvers.items():
        vec = _param_vector(fit, features)
        diff = None if vec is None or ref is None else float(np.max(np.abs(vec - ref)))
        rows.append(
            {
                "solver": name,
                "status": fit["status"],
                "max_abs_diff": np.nan if diff is None else max(diff, TINY),
                "correct_digits": fit.get("correct_digits"),
                "train_mse": fit.get("train_mse"),
            }
        )
    table = pd.DataFrame(rows)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    ok = table.dropna(subset=["max_abs_diff"])
    sns.barplot(data=ok, y="solver", x="max_abs_diff", ax=axes[0], color="C0", orient="h")
    axes[0].set_xscale("log")
    axes[0].set_xlabel(f"max |parameter − {closed['recommended']}|  (floored at {TINY:g})")
    axes[0].set_ylabel("")
    failed = table.loc[table["status"] != "ok", "solver"].tolist()
    if failed:
        axes[0].set_title("failed: " + ", ".join(failed), fontsize=9, loc="left")
    if table["correct_digits"].notna().any():
        sns.barplot(
            data=table.dropna(subset=["correct_digits"]),
            y="solver",
            x="correct_digits",
            ax=axes[1],
            color="C2",
            orient="h",
        )
        axes[1].set_xlabel("correct digits vs exact rational solution")
        axes[1].set_xlim(0, 16.5)
    else:
        sns.barplot(
            data=table.dropna(subset=["train_mse"]),
            y="solver",
            x="train_mse",
            ax=axes[1],
            color="C2",
            orient="h",
        )
        axes[1].set_xlabel("training MSE")
    axes[1].set_ylabel("")
    fig.suptitle(f"{closed['dataset']}: closed-form solvers", x=0.01, ha="left")
    fig.tight_layout()
    return fig


def diagnostics_panel(diag: dict[str, Any], max_vif_features: int = 30) -> plt.Figure:
    """Left: singular values of the raw and column-scaled design with the rank tolerance.
    Right: VIF per feature with the conventional threshold 10 (infinite VIFs drawn at the top)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    sv = pd.DataFrame(
        {
            "k": np.concatenate([np.arange(1, len(diag["singular_values"]) + 1)] * 2),
            "singular value": np.maximum(
                np.concatenate([diag["singular_values"], diag["singular_values_scaled"]]), TINY
            ),
            "design": ["raw"] * len(diag["singular_values"])
            + ["unit-length columns"] * len(diag["singular_values_scaled"]),
        }
    )
    sns.lineplot(data=sv, x="k", y="singular value", hue="design", marker="o", ax=axes[0])
    axes[0].axhline(
        max(diag["rank_tol"], TINY),
        color="crimson",
        ls="--",
        lw=1,
        label="rank tolerance (unit-length columns)",
    )
    axes[0].set_yscale("log")
    axes[0].xaxis.get_major_locator().set_params(integer=True)
    axes[0].legend(fontsize=8)
    axes[0].set_title(f"rank {diag['rank']} of {diag['n_params']} parameters", fontsize=10, loc="left")
    vif = diag.get("vif") or {}
    if 0 < len(vif) <= max_vif_features:
        finite = [v for v in vif.values() if v is not None]
        top = max([10.0, *finite]) * 3
        frame = pd.DataFrame(
            {
                "feature": list(vif),
                "VIF": [top if v is None else max(v, 1.0) for v in vif.values()],
                "infinite": [v is None for v in vif.values()],
            }
        )
        sns.barplot(
            data=frame,
            y="feature",
            x="VIF",
            hue="infinite",
            palette={False: "C0", True: "crimson"},
            ax=axes[1],
            orient="h",
            dodge=False,
        )
        axes[1].axvline(10, color="k", ls=":", lw=1)
        axes[1].set_xscale("log")
        axes[1].set_xlabel("VIF (red: infinite, exact dependency)")
    else:
        axes[1].axis("off")
        axes[1].text(0.02, 0.5, f"VIF not drawn for {len(vif)} features", transform=axes[1].transAxes)
    fig.suptitle(f"{diag['dataset']}: {diag['verdict_class']}", x=0.01, ha="left")
    fig.tight_layout()
    return fig
