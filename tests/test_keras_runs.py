"""The Keras stage's orchestration: parametrizations, references from the closed-form artifact, run
documents."""

from __future__ import annotations

import numpy as np
import pytest

from reglab.data import datasets
from reglab.linalg import closed_form
from reglab.training.keras_runs import Scaling, fit_spec, references, run_one


def test_scaling_roundtrip_and_predictions():
    rng = np.random.default_rng(0)
    X = rng.normal(5, 3, size=(50, 3))
    s = Scaling.fit(X)
    w, b = np.array([1.5, -2.0, 0.25]), 7.0
    wt, bt = s.to_trained(w, b)
    np.testing.assert_allclose(s.apply(X) @ wt + bt, X @ w + b, rtol=1e-12)
    w2, b2 = s.to_raw(wt, bt)
    np.testing.assert_allclose(w2, w, rtol=1e-12)
    assert b2 == pytest.approx(b, rel=1e-12)
    with pytest.raises(ValueError, match="constant column"):
        Scaling.fit(np.ones((4, 2)))


def test_fit_spec_rejects_unknown_keys():
    spec = fit_spec({"dataset": "d", "model": "linear", "epochs": 3, "learning_rate": 0.1, "hidden": [4]})
    assert spec.hidden == (4,)
    with pytest.raises(ValueError, match="unknown key"):
        fit_spec({"model": "linear", "epochs": 3, "learning_rate": 0.1, "lr": 1})


def test_references_come_from_the_artifact():
    data = datasets.collinear_toy()
    closed = closed_form.summarize(data)
    with_bias = references(
        closed,
        "y",
        fit_spec({"model": "linear", "epochs": 1, "learning_rate": 0.1}),
        data.features,
        Scaling.identity(2),
    )
    np.testing.assert_allclose(with_bias["min_norm"], [1.0, 1.0, 0.0], atol=1e-12)
    no_bias = references(
        closed,
        "y",
        fit_spec({"model": "linear", "epochs": 1, "learning_rate": 0.1, "use_bias": False}),
        data.features,
        Scaling.identity(2),
    )
    # without an intercept the design [x1, x1 + 1] has full rank and y = x1 + x2 exactly
    np.testing.assert_allclose(no_bias["closed_form"], [1.0, 1.0], atol=1e-12)


@pytest.mark.keras
def test_run_one_documents_and_divergence():
    data = datasets.collinear_toy()
    closed = closed_form.summarize(data)
    run = {
        "dataset": "collinear_toy",
        "model": "linear",
        "optimizer": "adam",
        "learning_rate": 0.1,
        "batch_size": 5,
        "epochs": 30,
        "initializer": "random_normal",
        "repeats": 3,
    }
    doc, hist = run_one("adam", run, data, closed, seed=1, threads=1)
    assert doc["n_repeats"] == 3 and len(doc["repeats"]) == 3
    assert set(doc["summary"]) == {"x1", "x2", "intercept"}
    assert hist.groupby("repeat")["epoch"].max().tolist() == [30, 30, 30]
    first = doc["repeats"][0]
    theta = np.array([first["coef"]["x1"], first["coef"]["x2"], first["intercept"]])
    assert first["distance"]["min_norm"] == pytest.approx(np.linalg.norm(theta - [1, 1, 0]), rel=1e-6)
    again, _ = run_one("adam", run, data, closed, seed=1, threads=1)
    assert again["coef"] == doc["coef"]  # deterministic
    big = {**run, "optimizer": "sgd", "learning_rate": 10.0, "repeats": 1}
    div, _ = run_one("big", big, data, closed, seed=1, threads=1)
    assert div["diverged"] and div["n_diverged"] == 1 and div["diverged_epoch"] >= 1


@pytest.mark.keras
def test_standardized_run_reports_raw_units():
    rng = np.random.default_rng(3)
    X = rng.normal([3.0, 10.0], [1.0, 4.0], size=(64, 2))
    import pandas as pd

    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "y": X @ [2.0, -1.0] + 5.0})
    data = datasets.Dataset("d", frame, ["a", "b"], ["y"], True, {"generator": "test"})
    closed = closed_form.summarize(data)
    run = {
        "dataset": "d",
        "model": "linear",
        "optimizer": "sgd",
        "learning_rate": 0.1,
        "batch_size": None,
        "epochs": 400,
        "standardize": True,
        "initializer": "zeros",
        "dtype": "float64",
    }
    doc, _ = run_one("std", run, data, closed, seed=0, threads=1)
    assert doc["coef"]["a"] == pytest.approx(2.0, rel=1e-6)
    assert doc["coef"]["b"] == pytest.approx(-1.0, rel=1e-6)
    assert doc["intercept"] == pytest.approx(5.0, rel=1e-6)
    assert doc["distance"]["closed_form"] < 1e-5


def test_merge_histories_keeps_run_order_and_every_column(tmp_path):
    import pandas as pd

    from reglab.core.io import write_parquet
    from reglab.training.keras_runs import merge_histories

    a = pd.DataFrame(
        {"run": "a", "repeat": [0, 0], "epoch": [1, 2], "loss_end": [2.0, 1.0], "w_x1": [0.1, 0.2]}
    )
    b = pd.DataFrame({"run": "b", "repeat": [0], "epoch": [1], "loss_end": [3.0], "dist_mle": [0.5]})
    merged = merge_histories([a, b])
    assert merged["run"].tolist() == ["a", "a", "b"] and list(merged.index) == [0, 1, 2]
    assert list(merged.columns) == ["run", "repeat", "epoch", "loss_end", "w_x1", "dist_mle"]
    # through the per-run files the merge job reads: the same table as one job's concatenation
    for name, frame in (("a", a), ("b", b)):
        write_parquet(tmp_path / f"{name}.parquet", frame)
    again = merge_histories([pd.read_parquet(tmp_path / f"{n}.parquet") for n in ("a", "b")])
    pd.testing.assert_frame_equal(again, merged)
    with pytest.raises(ValueError, match="no run histories"):
        merge_histories([])


def test_a_batch_larger_than_the_data_is_said_to_be_full_batch():
    from reglab.report.tables import final_vs_reference_table

    doc = {
        "run": "r",
        "dataset": "d",
        "spec": {"model": "linear", "batch_size": 500},
        "repeats": [],
        "batch_size_effective": 60,
        "full_batch": True,
    }
    row = final_vs_reference_table([doc]).iloc[0]
    assert row["batch_size"] == "500 (= full batch: 60 rows)"
