"""Tests for reglab.plotting.keras on small synthetic Keras-stage artifacts (no TensorFlow)."""

from __future__ import annotations

import subprocess
import sys

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from reglab.plotting.keras import (
    distance_curves,
    landing_points,
    loss_curves,
    thin_epochs,
)
from reglab.report.tables import final_vs_reference_table

N_REPEATS = 4
N_EPOCHS = 50
DIVERGED_RUN, DIVERGED_REPEAT, DIVERGED_EPOCH = "adam_hot", 2, 20
MIN_NORM = {"x1": 1.0, "x2": 1.0, "intercept": 0.0}


def _run_spec(run: str) -> dict:
    return {
        "adam": dict(optimizer="adam", learning_rate=0.1, batch_size=5, dtype="float32", use_bias=True),
        "sgd": dict(optimizer="sgd", learning_rate=0.01, batch_size=None, dtype="float64", use_bias=True),
        DIVERGED_RUN: dict(
            optimizer="adam", learning_rate=10.0, batch_size=5, dtype="float32", use_bias=True
        ),
    }[run]


def _synthetic(seed: int = 0) -> tuple[list[dict], pd.DataFrame]:
    """3 runs x 4 repeats x 50 epochs on collinear_toy; repeat 2 of 'adam_hot' diverges at epoch 20."""
    rng = np.random.default_rng(seed)
    docs, frames = [], []
    for k, run in enumerate(["adam", "sgd", DIVERGED_RUN]):
        spec = {"model": "linear", "epochs": N_EPOCHS, "repeats": N_REPEATS, **_run_spec(run)}
        repeats = []
        for r in range(N_REPEATS):
            diverged = run == DIVERGED_RUN and r == DIVERGED_REPEAT
            n = DIVERGED_EPOCH if diverged else N_EPOCHS
            epoch = np.arange(1, n + 1)
            loss = 10.0 * np.exp(-0.2 * (k + 1) * epoch) * (1 + 0.1 * r)
            dist = np.sqrt(loss) + 0.05 * r
            if diverged:
                loss[-1] = np.inf
                dist[-1] = 1e30
            frames.append(
                pd.DataFrame(
                    {
                        "run": run,
                        "repeat": r,
                        "epoch": epoch,
                        "train_loss": loss * 1.1,
                        "loss_end": loss,
                        "val_loss": np.nan,
                        "seconds": epoch * 1e-3,
                        "dist_closed_form": dist,
                        "dist_min_norm": dist,
                    }
                )
            )
            s = float(rng.normal(0.0, 0.1))  # position along the exact-fit line (1+s, 1-s, s)
            coef = {"x1": 1 + s, "x2": 1 - s}
            repeats.append(
                {
                    "repeat": r,
                    "coef": coef,
                    "intercept": s,
                    "final_train_loss": None if diverged else float(loss[-1]),
                    "final_mse_float64": None if diverged else float(loss[-1]) * 1.01,
                    "epochs_run": n,
                    "diverged": diverged,
                    "diverged_epoch": n if diverged else None,
                    "seconds": 0.5 + 0.25 * r,
                    "distance": {"closed_form": float(dist[-1]), "min_norm": float(dist[-1])},
                }
            )
        docs.append(
            {
                "run": run,
                "dataset": "collinear_toy",
                "target": "y",
                "standardize": False,
                "spec": spec,
                "param_names": ["x1", "x2", "intercept"],
                "n_repeats": N_REPEATS,
                "n_diverged": sum(x["diverged"] for x in repeats),
                "references": {"closed_form": dict(MIN_NORM), "min_norm": dict(MIN_NORM)},
                "repeats": repeats,
            }
        )
    return docs, pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def artifacts():
    return _synthetic()


def _legend_texts(fig: plt.Figure) -> list[str]:
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None] + list(fig.legends)
    return [t.get_text() for leg in legends for t in leg.get_texts()]


def test_no_tensorflow_import():
    # in a fresh interpreter: other test modules of the session may import TensorFlow themselves
    code = "import sys, reglab.plotting.keras; sys.exit('tensorflow' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_thin_epochs_keeps_ends_and_cap():
    epochs = np.arange(1, 20_001)
    kept = thin_epochs(epochs, cap=2000)
    assert kept[0] == 1 and kept[-1] == 20_000
    assert len(kept) <= 2000
    assert np.all(np.diff(kept) > 0)
    assert set(range(1, 11)) <= set(kept.tolist())  # log spacing keeps the early epochs
    short = np.arange(1, 51)
    assert np.array_equal(thin_epochs(np.repeat(short, 4), cap=2000), short)  # repeats de-duplicated


def test_loss_curves(artifacts):
    docs, history = artifacts
    fig = loss_curves(docs, history)
    try:
        assert isinstance(fig, plt.Figure)
        assert len(fig.axes) == 1
        assert fig.axes[0].get_yscale() == "log"
        texts = _legend_texts(fig)
        hot = [t for t in texts if t.startswith(DIVERGED_RUN)]
        assert len(hot) == 1 and "diverged" in hot[0] and str(DIVERGED_EPOCH) in hot[0]
        assert not any("diverged" in t for t in texts if t.startswith(("adam ", "sgd ")))
    finally:
        plt.close(fig)


def test_loss_curves_thins_long_history():
    docs, _ = _synthetic()
    docs = docs[:1]
    n = 20_000
    history = pd.DataFrame(
        {
            "run": "adam",
            "repeat": 0,
            "epoch": np.arange(1, n + 1),
            "loss_end": np.geomspace(10, 1e-6, n),
            "val_loss": np.nan,
        }
    )
    fig = loss_curves(docs, history, max_points=500)
    try:
        x = fig.axes[0].lines[0].get_xdata()
        assert len(x) <= 500 and x[0] == 1 and x[-1] == n
    finally:
        plt.close(fig)


def test_distance_curves(artifacts):
    docs, history = artifacts
    fig = distance_curves(docs, history, ref="min_norm")
    try:
        assert len(fig.axes) == 1
        assert fig.axes[0].get_yscale() == "log"
        assert any("diverged" in t for t in _legend_texts(fig))
    finally:
        plt.close(fig)
    # a reference no run has: nothing drawn, and the title says which runs were left out
    fig = distance_curves(docs, history, ref="mle")
    try:
        assert "not drawn" in fig.axes[0].get_title(loc="left")
    finally:
        plt.close(fig)


def test_landing_points(artifacts):
    docs, _ = artifacts
    nobias = {
        **docs[0],
        "run": "adam_nobias",
        "spec": {**docs[0]["spec"], "use_bias": False},
        "references": {"closed_form": {"x1": 1.0, "x2": 1.0}, "min_norm": {"x1": 1.0, "x2": 1.0}},
        "repeats": [{**r, "coef": {"x1": 1.0, "x2": 1.0}, "intercept": None} for r in docs[0]["repeats"]],
    }
    fig = landing_points([*docs, nobias], article_point=(1.15, 0.85))
    try:
        assert len(fig.axes) == 2
        texts = _legend_texts(fig)
        assert any("article (Adam)" in t for t in texts)
        assert any("no bias" in t for t in texts)
        assert any(t.startswith(DIVERGED_RUN) and "1 diverged" in t for t in texts)
    finally:
        plt.close(fig)


def test_final_vs_reference_table(artifacts):
    docs, _ = artifacts
    table = final_vs_reference_table(docs)
    assert list(table["run"]) == [d["run"] for d in docs]
    assert len(table) == 3
    for doc in docs:
        row = table.set_index("run").loc[doc["run"]]
        ok = [r for r in doc["repeats"] if not r["diverged"]]
        assert row["final_train_loss"] == pytest.approx(np.median([r["final_train_loss"] for r in ok]))
        assert row["final_mse_float64"] == pytest.approx(np.median([r["final_mse_float64"] for r in ok]))
        assert row["dist_min_norm"] == pytest.approx(np.median([r["distance"]["min_norm"] for r in ok]))
        assert row["epochs_run"] == np.median([r["epochs_run"] for r in doc["repeats"]])
        assert row["seconds"] == pytest.approx(0.5 + 0.75 + 1.0 + 1.25)
        assert row["n_repeats"] == N_REPEATS
    hot = table.set_index("run").loc[DIVERGED_RUN]
    assert hot["n_diverged"] == 1
    assert hot["epochs_run"] == N_EPOCHS  # median of 50, 50, 20, 50
    assert table.set_index("run").loc["sgd", "batch_size"] == "full"


def test_the_landing_figure_is_byte_identical_for_one_seed_and_moves_with_another(artifacts, tmp_path):
    from reglab.plotting.style import save

    docs, _ = artifacts
    out = {}
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        np.random.seed(np.random.randint(0, 2**31))  # whatever numpy's global state is, it plays no part
        fig = landing_points(docs, article_point=(1.15, 0.85), seed=seed)
        save(fig, tmp_path / f"{name}.png")
        out[name] = (tmp_path / f"{name}.png").read_bytes()
    assert out["a"] == out["b"] and out["a"] != out["c"]


def test_a_300_character_name_does_not_stretch_a_figure(tmp_path):
    from PIL import Image

    from reglab.plotting.style import save

    fig, ax = plt.subplots(figsize=(6, 4))
    long = "feature_" + "x" * 292
    ax.plot([0, 1], [0, 1], label=long)
    ax.set_title(long)
    ax.set_xlabel(long)
    ax.legend()
    save(fig, tmp_path / "long.png")
    width, height = Image.open(tmp_path / "long.png").size
    assert width < 1400 and height < 1000  # at dpi 110 a 6 x 4 in figure; unshortened it is ~3,000 px wide


def test_names_in_cjk_render_with_an_installed_cjk_font(tmp_path):
    import warnings

    from reglab.plotting import style

    if not style._CJK_FONTS:
        pytest.skip("no CJK font installed (Debian: fonts-noto-cjk, which .ci/run installs)")
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1], [0, 1], label="燃費 (km/L)")
    ax.set_title("回帰係数 — 데이터")
    ax.legend()
    with warnings.catch_warnings():
        warnings.simplefilter(
            "error"
        )  # matplotlib warns "Glyph ... missing from font(s)" when it cannot draw one
        style.save(fig, tmp_path / "cjk.png")
    assert (tmp_path / "cjk.png").stat().st_size > 0
