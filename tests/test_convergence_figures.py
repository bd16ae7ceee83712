"""Tests for reglab.plotting.convergence on a small synthetic convergence study (no TensorFlow)."""

from __future__ import annotations

import copy
import math
import subprocess
import sys

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.lines import Line2D

from reglab.core.numbers import compact
from reglab.plotting.convergence import (
    _on_grid,
    config_label,
    final_vs_learning_rate,
    metric_curves,
    time_to_tolerance_bars,
)
from reglab.plotting.style import save
from reglab.report.tables import PREDICTED_COLUMNS, predicted_vs_measured

TOL = 1e-8
N_EPOCHS = 30
N_REPEATS = 2
LRS = (0.01, 0.1)
LAMBDA_MAX = {False: 4.0, True: 1.25}  # stability limits 0.5 (raw) and 1.6 (standardized)
FLOOR32 = {False: 2.5e-12, True: 7.5e-13}
DIVERGED = ("keras_sgd", 0.1, 1, 12)  # solver, lr, repeat, epoch of divergence
STALLED = ("keras_adam", 0.01, 3.2e-7)  # never reaches TOL: loss floors at 3.2e-7 (best at the last epoch)
GD_ETA = 0.25
PREDICTED = {0.01: 40, 0.1: None}  # predicted_steps per learning rate (None: theory gave none)


def _time_to_tolerance(epochs, values, seconds, tol):
    """Same contract as reglab.studies.convergence.time_to_tolerance (not imported: its module needs
    solvers)."""
    finite = np.isfinite(values)
    hit = np.flatnonzero(finite & (values <= tol))
    best = int(np.nanargmin(np.where(finite, values, np.nan))) if finite.any() else None
    return {
        "reached": bool(hit.size),
        "epochs": int(epochs[hit[0]]) if hit.size else None,
        "seconds": float(seconds[hit[0]]) if hit.size else None,
        "best": float(values[best]) if best is not None else None,
        "best_epoch": int(epochs[best]) if best is not None else None,
        "final": float(values[-1]),
    }


def _loss(solver: str, lr: float, repeat: int, epoch: np.ndarray) -> np.ndarray:
    if (solver, lr) == STALLED[:2]:
        return STALLED[2] + 10.0 * np.exp(-1.5 * epoch) * (1 + 0.1 * repeat)
    rate = 1.1 if solver == "keras_sgd" else 1.3
    rate *= 1.0 if lr == 0.1 else 0.9
    return 10.0 * np.exp(-rate * epoch) * (1 + 0.2 * repeat)


def _synthetic(standardize: tuple[bool, ...] = (False,)) -> tuple[pd.DataFrame, dict]:
    """2 optimizers x 2 learning rates x 2 repeats x 30 epochs (full batch, float32) + reference GD
    (1 repeat, float64), per parametrization; keras_sgd lr=0.1 repeat 1 diverges at epoch 12;
    keras_adam lr=0.01 never reaches the tolerance."""
    frames, runs = [], []
    for std in standardize:
        for solver in ("keras_sgd", "keras_adam"):
            for lr in LRS:
                for r in range(N_REPEATS):
                    diverged = (solver, lr, r) == DIVERGED[:3]
                    n = DIVERGED[3] if diverged else N_EPOCHS
                    epoch = np.arange(1, n + 1)
                    loss = _loss(solver, lr, r, epoch)
                    if diverged:
                        loss[-3:] = [1e3, 1e9, np.inf]
                    seconds = 0.01 * epoch * (1 + r)
                    frames.append(
                        pd.DataFrame(
                            {
                                "study": "synth",
                                "solver": solver,
                                "family": "keras",
                                "learning_rate": lr,
                                "batch_size": -1,
                                "dtype": "float32",
                                "standardize": std,
                                "repeat": r,
                                "epoch": epoch,
                                "seconds": seconds,
                                "loss": loss,
                                "dist_closed_form": np.sqrt(loss),
                                "dist_min_norm": np.sqrt(loss),
                                "rel_coef_error": np.sqrt(loss) / 2,
                            }
                        )
                    )
                    run = {
                        "solver": solver,
                        "family": "keras",
                        "optimizer": solver.removeprefix("keras_"),
                        "learning_rate": lr,
                        "batch_size": None,
                        "dtype": "float32",
                        "standardize": std,
                        "repeat": r,
                        "diverged": diverged,
                        "diverged_epoch": n if diverged else None,
                        "epochs_run": n,
                        "seconds": float(seconds[-1]),
                        "final_loss_float64": None if diverged else float(loss[-1]) * 1.01,
                        "final_rel_coef_error": None if diverged else float(np.sqrt(loss[-1]) / 2),
                        "time_to_tolerance": _time_to_tolerance(epoch, loss, seconds, TOL),
                        "implicit_bias_distance": None if diverged else 0.001 * (r + 1) + lr,
                    }
                    if solver == "keras_sgd":
                        run["predicted_steps"] = PREDICTED[lr]
                    runs.append(run)
        steps = np.arange(1, N_EPOCHS + 1)
        loss = 5.0 * np.exp(-1.2 * steps)
        seconds = 1e-4 * steps
        frames.append(
            pd.DataFrame(
                {
                    "study": "synth",
                    "solver": "gd",
                    "family": "reference",
                    "learning_rate": GD_ETA,
                    "batch_size": -1,
                    "dtype": "float64",
                    "standardize": std,
                    "repeat": 0,
                    "epoch": steps,
                    "seconds": seconds,
                    "loss": loss,
                    "dist_closed_form": np.sqrt(loss),
                    "dist_min_norm": np.sqrt(loss),
                    "rel_coef_error": np.sqrt(loss) / 2,
                }
            )
        )
        runs.append(
            {
                "solver": "gd",
                "family": "reference",
                "learning_rate": GD_ETA,
                "batch_size": None,
                "dtype": "float64",
                "standardize": std,
                "repeat": 0,
                "epochs_run": N_EPOCHS,
                "seconds": float(seconds[-1]),
                "diverged": False,
                "final_loss_float64": float(loss[-1]),
                "final_rel_coef_error": float(np.sqrt(loss[-1]) / 2),
                "time_to_tolerance": _time_to_tolerance(steps, loss, seconds, TOL),
            }
        )
    theory = {
        ("standardized" if s else "raw"): {
            "spectrum": {
                "lambda_max": LAMBDA_MAX[s],
                "lambda_min_nonzero": 0.01,
                "condition_number": LAMBDA_MAX[s] / 0.01,
                "stability_limit": 2.0 / LAMBDA_MAX[s],
            },
            "float_floor_float32": {
                "loss_exact_rounded": 1e-12,
                "loss_exact": 0.0,
                "loss_evaluated_in_dtype": FLOOR32[s],
            },
        }
        for s in standardize
    }
    summary = {
        "study": "synth",
        "dataset": "toy",
        "tolerance": {"metric": "mse", "value": TOL},
        "theory": theory,
        "runs": runs,
    }
    return pd.concat(frames, ignore_index=True), summary


@pytest.fixture(scope="module")
def study():
    return _synthetic()


@pytest.fixture(scope="module")
def study_both():
    return _synthetic((False, True))


def _texts(fig: plt.Figure) -> list[str]:
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None] + list(fig.legends)
    out = [t.get_text() for leg in legends for t in leg.get_texts()]
    out += [t.get_text() for ax in fig.axes for t in ax.texts]
    return out


def _hlines(ax: plt.Axes) -> list[Line2D]:
    return [
        ln
        for ln in ax.lines
        if len(ln.get_ydata()) == 2
        and ln.get_ydata()[0] == ln.get_ydata()[1]
        and tuple(ln.get_xdata()) == (0, 1)
    ]


def _has_hline(ax: plt.Axes, y: float, ls: str | None = None) -> bool:
    return any(
        math.isclose(float(ln.get_ydata()[0]), y, rel_tol=1e-12) and (ls is None or ln.get_linestyle() == ls)
        for ln in _hlines(ax)
    )


def _has_vline(ax: plt.Axes, x: float) -> bool:
    return any(
        len(ln.get_xdata()) == 2
        and tuple(ln.get_ydata()) == (0, 1)
        and math.isclose(float(ln.get_xdata()[0]), x, rel_tol=1e-12)
        and math.isclose(float(ln.get_xdata()[1]), x, rel_tol=1e-12)
        for ln in ax.lines
    )


def test_no_tensorflow_import():
    code = "import sys, reglab.plotting.convergence; sys.exit('tensorflow' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_labels():
    assert config_label("keras_sgd", 0.01, 32, "float32") == "keras_sgd lr=0.01 b=32 f32"
    assert config_label("cg", float("nan"), -1, "float64") == "cg b=full f64"
    assert config_label("keras_adam", 0.1, None, "float64", True) == "keras_adam lr=0.1 b=full f64 [std]"
    assert compact(3.2e-9) == "3.2e-9" and compact(0.012) == "0.012" and compact(15000.0) == "1.5e4"
    assert compact(None) == "—"


def test_on_grid_interpolates_within_each_repeat():
    e = np.array([1, 10, 100])
    v = np.array([1.0, 1e-2, np.inf])
    got = _on_grid(e, v, np.array([1.0, 5.5, 10.0, 50.0, 100.0, 200.0]), log=True)
    assert got[0] == 1.0 and got[2] == 1e-2
    assert got[1] == pytest.approx(0.1)  # geometric midpoint
    assert np.isnan(got[3]) and np.isinf(got[4]) and np.isnan(got[5])  # next to inf: gap; past the end: gap


def test_metric_curves(study):
    curves, summary = study
    fig = metric_curves(curves, summary)
    try:
        assert len(fig.axes) == 1
        ax = fig.axes[0]
        assert ax.get_yscale() == "log" and ax.get_xscale() == "linear"  # 30 epochs: under two decades
        assert _has_hline(ax, TOL)
        assert _has_hline(ax, FLOOR32[False], ls=":")
        # 4 Keras configurations + gd, each one median line
        assert len([ln for ln in ax.lines if len(ln.get_xdata()) > 2]) == 5
        texts = _texts(fig)
        hot = [t for t in texts if t.startswith("keras_sgd lr=0.1 b=full f32")]
        assert len(hot) == 1 and "1/2 diverged" in hot[0] and "epoch 12" in hot[0]
        assert any(t.startswith("gd lr=0.25 b=full f64") for t in texts)
        assert any(t.startswith("tolerance") for t in texts)
        assert any("float32 floor" in t for t in texts)
        # the divergence is marked on the top edge at its epoch
        marks = [c for c in ax.collections if c.get_offsets().shape[0] and c.get_offsets()[0][1] == 1.0]
        assert any(c.get_offsets()[0][0] == DIVERGED[3] for c in marks)
        # the median of the diverged configuration keeps going with the remaining repeat after epoch 12
        sgd_hot = [ln for ln in ax.lines if len(ln.get_xdata()) == N_EPOCHS]
        assert sgd_hot
    finally:
        plt.close(fig)


def test_metric_curves_seconds_and_log_x(study):
    curves, summary = study
    fig = metric_curves(curves, summary, x="seconds")
    try:
        ax = fig.axes[0]
        assert ax.get_xscale() == "log"  # 1e-4 s (gd) to 0.6 s span more than two decades
        assert "[s]" in ax.get_xlabel()
    finally:
        plt.close(fig)
    long = curves.loc[curves["solver"] == "gd"].copy()
    long["epoch"] = long["epoch"] * 100
    fig = metric_curves(pd.concat([curves, long.assign(solver="gd_slow")]), summary)
    try:
        assert fig.axes[0].get_xscale() == "log"  # epochs 1..3000
    finally:
        plt.close(fig)
    with pytest.raises(ValueError):
        metric_curves(curves, summary, x="steps")


def test_metric_curves_rel_coef_error_no_floor(study):
    curves, summary = study
    summary = {**summary, "tolerance": {"metric": "rel_coef_error", "value": 1e-3}}
    fig = metric_curves(curves, summary)
    try:
        ax = fig.axes[0]
        assert _has_hline(ax, 1e-3)
        assert not _has_hline(ax, FLOOR32[False])  # the float floor is a loss: not drawn for this metric
        assert "relative coefficient error" in ax.get_ylabel()
    finally:
        plt.close(fig)


def test_metric_curves_facets_by_parametrization(study_both, tmp_path):
    curves, summary = study_both
    fig = metric_curves(curves, summary)
    try:
        assert len(fig.axes) == 2
        for ax, std in zip(fig.axes, (False, True)):
            assert _has_hline(ax, TOL)
            assert _has_hline(ax, FLOOR32[std], ls=":")
            assert ("standardized" in ax.get_title(loc="left")) == std
        hot = [t for t in _texts(fig) if t.startswith("keras_sgd lr=0.1 b=full f32")]
        assert len(hot) == 1 and "raw: 1/2 diverged" in hot[0] and "standardized: 1/2 diverged" in hot[0]
        save(fig, str(tmp_path / "facets.png"))
    finally:
        plt.close(fig)


def test_final_vs_learning_rate(study, tmp_path):
    _, summary = study
    fig = final_vs_learning_rate(summary)
    try:
        assert len(fig.axes) == 1
        ax = fig.axes[0]
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
        assert _has_vline(ax, 2.0 / LAMBDA_MAX[False])
        assert _has_hline(ax, TOL)
        texts = _texts(fig)
        assert any("GD stability limit 2/λmax" in t for t in texts)
        assert any("some repeats diverged" in t for t in texts)
        # keras_sgd at lr=0.1: median of the surviving repeat, plus a hollow marker on the top edge
        tops = [c for c in ax.collections if c.get_offsets().shape[0] and c.get_offsets()[0][1] == 1.0]
        assert len(tops) == 1 and tops[0].get_offsets()[0][0] == 0.1
        per_opt = [ln for ln in ax.lines if tuple(ln.get_xdata()) == LRS]
        assert len(per_opt) == 2  # one line per optimizer (one batch size)
        sgd = per_opt[0]
        survivor = [
            r
            for r in summary["runs"]
            if r["solver"] == "keras_sgd" and r["learning_rate"] == 0.1 and not r["diverged"]
        ]
        assert sgd.get_ydata()[1] == pytest.approx(survivor[0]["final_loss_float64"])
        save(fig, str(tmp_path / "final.png"))
    finally:
        plt.close(fig)


def test_final_vs_learning_rate_all_diverged_and_facets(study_both):
    _, summary = study_both
    summary = copy.deepcopy(summary)
    for r in summary["runs"]:
        if r["solver"] == "keras_adam" and r["learning_rate"] == 0.1 and not r["standardize"]:
            r["diverged"], r["final_loss_float64"] = True, None
    fig = final_vs_learning_rate(summary)
    try:
        assert len(fig.axes) == 2
        for ax, std in zip(fig.axes, (False, True)):
            assert _has_vline(ax, 2.0 / LAMBDA_MAX[std])
        assert any("every repeat diverged" in t for t in _texts(fig))
    finally:
        plt.close(fig)


def test_time_to_tolerance_bars(study, tmp_path):
    _, summary = study
    fig = time_to_tolerance_bars(summary)
    try:
        assert len(fig.axes) == 1
        ax = fig.axes[0]
        assert ax.get_xscale() == "log"
        labels = [t.get_text() for t in ax.get_yticklabels()]
        assert len(labels) == 5 and "gd lr=0.25 b=full f64" in labels
        texts = _texts(fig)
        assert (
            f"not reached (best {compact(STALLED[2] + 10 * np.exp(-45) * 1.0)} at epoch {N_EPOCHS})" in texts
        )
        assert "not reached (best 3.2e-7 at epoch 30)" in texts
        hot = [t for t in texts if "diverged at epoch 12" in t]
        assert len(hot) == 1 and hot[0].startswith("not reached by 1/2 repeats")
        # reached configurations: bar to the median of the epochs of the repeats
        bars = {labels[int(round(p.get_y() + p.get_height() / 2))]: p for p in ax.patches}
        tt = [
            r["time_to_tolerance"]["epochs"]
            for r in summary["runs"]
            if r["solver"] == "keras_adam" and r["learning_rate"] == 0.1
        ]
        bar = bars["keras_adam lr=0.1 b=full f32"]
        assert bar.get_x() + bar.get_width() == pytest.approx(np.median(tt))
        stalled = bars["keras_adam lr=0.01 b=full f32"]
        assert stalled.get_hatch() and stalled.get_x() + stalled.get_width() == pytest.approx(N_EPOCHS)
        save(fig, str(tmp_path / "bars.png"))
    finally:
        plt.close(fig)


def test_time_to_tolerance_bars_seconds_and_untraced(study):
    _, summary = study
    summary = copy.deepcopy(summary)
    summary["runs"].append(
        {
            "solver": "cg",
            "family": "reference",
            "learning_rate": None,
            "batch_size": None,
            "dtype": "float64",
            "standardize": False,
            "repeat": 0,
            "epochs_run": 5,
            "seconds": 0.1,
            "diverged": False,
            "time_to_tolerance": None,
        }
    )
    fig = time_to_tolerance_bars(summary, unit="seconds")
    try:
        assert "seconds" in fig.axes[0].get_xlabel()
        assert any("not traced" in t for t in _texts(fig))
        assert "cg b=full f64" in [t.get_text() for t in fig.axes[0].get_yticklabels()]
    finally:
        plt.close(fig)
    with pytest.raises(ValueError):
        time_to_tolerance_bars(summary, unit="steps")


def test_predicted_vs_measured(study):
    _, summary = study
    table = predicted_vs_measured(summary)
    assert list(table.columns) == PREDICTED_COLUMNS
    assert len(table) == len(LRS) * N_REPEATS  # full-batch keras_sgd only: no adam, no gd
    assert list(table["learning_rate"]) == [0.01, 0.01, 0.1, 0.1]
    assert list(table["repeat"]) == [0, 1, 0, 1]
    assert list(table["predicted_steps"]) == [40, 40, None, None]
    for row in table.itertuples():
        run = next(
            r
            for r in summary["runs"]
            if r["solver"] == "keras_sgd"
            and r["learning_rate"] == row.learning_rate
            and r["repeat"] == row.repeat
        )
        tt = run["time_to_tolerance"]
        assert row.reached == tt["reached"]
        assert row.best == pytest.approx(tt["best"])
        assert row.diverged == run["diverged"]
        if tt["reached"]:
            assert row.measured_epochs == tt["epochs"]
        else:
            assert row.measured_epochs is None
        if run["implicit_bias_distance"] is None:
            assert np.isnan(row.implicit_bias_distance)
        else:
            assert row.implicit_bias_distance == pytest.approx(run["implicit_bias_distance"])
    hot = table.loc[(table["learning_rate"] == 0.1) & (table["repeat"] == 1)].iloc[0]
    assert bool(hot["diverged"]) and not bool(hot["reached"])
    records = table.to_dict("records")  # what the report formats: ints and None, never <NA>
    assert [type(r["measured_epochs"]) for r in records] == [int, int, int, type(None)]
    empty = predicted_vs_measured({"runs": []})
    assert list(empty.columns) == PREDICTED_COLUMNS and empty.empty


def test_divergence_marks_come_from_the_artifact_not_the_curves():
    from reglab.plotting.convergence import _divergences

    sub = pd.DataFrame(
        {"repeat": [0, 0, 0], "epoch": [1, 2, 3], "loss": [1.0, 2.0, np.inf], "seconds": [0.1, 0.2, 0.3]}
    )
    # the summary (core.stats.divergence, where the runs were summarized) decides; a figure agrees with it
    assert _divergences([{"repeat": 0, "diverged": False, "epochs_run": 3}], sub, "epoch")[1] == 0
    where, n_div, n_rep, epochs = _divergences(
        [{"repeat": 0, "diverged": True, "diverged_epoch": 2, "epochs_run": 3}], sub, "epoch"
    )
    assert (where, n_div, n_rep, epochs) == ([2.0], 1, 1, [2])
