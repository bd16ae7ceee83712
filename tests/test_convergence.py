"""Convergence-study orchestration: the grid, time-to-tolerance, thinning, and a small study end to end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reglab.data import datasets
from reglab.linalg import closed_form, theory
from reglab.studies.convergence import (
    keyed_runs,
    run_study,
    thin,
    time_to_tolerance,
    variants,
)

STUDY = {
    "optimizers": ["sgd", "adam"],
    "learning_rates": [0.01, 0.1],
    "batch_sizes": [None, 2],
    "epochs": 5,
    "epochs_full_batch": 7,
    "dtypes": ["float32"],
    "standardize": [False],
    "repeats": 2,
    "use_bias": True,
    "initializer": "zeros",
    "tolerance": {"metric": "mse", "value": 1e-10},
    "reference_solvers": ["gd", "cg", "lbfgs", "sgd_averaged", "sklearn_sgd"],
    "article": None,
}


def test_variants_grid_and_full_batch_epochs():
    vs = variants(STUDY)
    assert len(vs) == 2 * 2 * 2
    assert {v.epochs for v in vs if v.batch_size is None} == {7}
    assert {v.epochs for v in vs if v.batch_size == 2} == {5}
    with pytest.raises(ValueError, match="unknown optimizer 'lion'"):
        variants({**STUDY, "optimizers": ["lion"]})


def test_time_to_tolerance_first_crossing_and_stall():
    epochs = np.arange(1, 6)
    secs = epochs * 0.5
    hit = time_to_tolerance(epochs, np.array([1.0, 0.1, 0.01, 0.001, 0.01]), secs, 0.01)
    assert hit == {
        "reached": True,
        "epochs": 3,
        "seconds": 1.5,
        "best": 0.001,
        "best_epoch": 4,
        "final": 0.01,
    }
    miss = time_to_tolerance(epochs, np.array([1.0, 0.5, np.nan, 0.4, 0.45]), secs, 0.01)
    assert not miss["reached"] and miss["epochs"] is None and miss["best"] == 0.4 and miss["best_epoch"] == 4


def test_thin_keeps_ends_and_caps():
    frame = pd.DataFrame({"epoch": np.arange(1, 20_001)})
    out = thin(frame, 600)
    assert len(out) <= 600 and out["epoch"].iloc[0] == 1 and out["epoch"].iloc[-1] == 20_000
    assert thin(frame.head(10), 600).equals(frame.head(10))


@pytest.mark.keras
def test_small_study_theory_beside_measurement():
    data = datasets.underdetermined(n=6, d=9, seed=4)
    closed = closed_form.summarize(data)
    study = {
        **STUDY,
        "use_bias": False,
        "optimizers": ["sgd"],
        "learning_rates": [0.2],
        "batch_sizes": [None],
        "epochs": 3000,
        "epochs_full_batch": None,
        "dtypes": ["float64"],
        "repeats": 1,
        "initializer": "glorot_uniform",
        "tolerance": {"metric": "mse", "value": 1e-6},
    }
    curves, summary = run_study("t", study, data, closed, seed=3, threads=1)
    run = keyed_runs(summary, solver="keras_sgd", batch_size=None)[0]
    # a float64 full-batch Keras SGD epoch is one gradient-descent step: theory predicts its loss
    for k, predicted in run["predicted_loss_at"].items():
        assert run["loss_at"][k] == pytest.approx(predicted, rel=1e-6)
    assert run["time_to_tolerance"]["reached"]
    assert abs(run["time_to_tolerance"]["epochs"] - run["predicted_steps"]) <= 1
    spectrum = theory.hessian_spectrum(data.X())
    assert summary["theory"]["raw"]["spectrum"]["lambda_max"] == pytest.approx(spectrum.lambda_max)
    assert set(curves["solver"]) >= {"keras_sgd", "conjugate_gradient"}
    assert curves.groupby(["solver", "repeat"])["epoch"].is_monotonic_increasing.all()


def test_update_ulp_ratio_detects_lost_updates():
    from reglab.studies.convergence import update_ulp_ratio

    A = np.eye(2)
    w = np.array([1.0, 1.0])
    # gradient of mean((w - b)^2) at w is (2/2)(w - b): 1e-9 per weight
    b = w - 1e-9
    half_ulp32 = np.spacing(np.float32(1.0)) / 2  # 5.96e-8
    assert update_ulp_ratio(A, b, w, 1.0, "float32") == pytest.approx(1e-9 / half_ulp32, rel=1e-6)
    assert update_ulp_ratio(A, b, w, 1.0, "float64") > 1  # float64 still resolves the step
    # batch of one row: gradient 2 * r on its own coordinate, 0 on the other -> median over 4 entries
    assert update_ulp_ratio(A, b, w, 1.0, "float32", batch_size=1) == pytest.approx(
        1e-9 / half_ulp32, rel=1e-6
    )


def test_groups_cut_the_grid_by_group_by_in_grid_order():
    from reglab.studies.grid import SINGLE_GROUP, groups

    cut = groups(STUDY)  # default group_by: learning rate and batch size
    assert list(cut) == ["lr0.01_full", "lr0.01_bs2", "lr0.1_full", "lr0.1_bs2"]
    assert all({v.optimizer for v in members} == {"sgd", "adam"} for members in cut.values())
    assert sorted((v for members in cut.values() for v in members), key=variants(STUDY).index) == variants(
        STUDY
    )
    assert groups({**STUDY, "group_by": []}) == {SINGLE_GROUP: variants(STUDY)}
    by_opt = groups({**STUDY, "group_by": ["optimizer", "standardize", "dtype"]})
    assert list(by_opt) == ["sgd_raw_float32", "adam_raw_float32"] and len(by_opt["sgd_raw_float32"]) == 4
    with pytest.raises(ValueError, match="expected distinct fields"):
        groups({**STUDY, "group_by": ["momentum"]})


def test_a_changed_grid_point_changes_only_its_groups_slice():
    from reglab.studies.grid import group_entry, groups, reference_entry

    entry = group_entry(STUDY, "lr0.1_bs2")
    assert [(c["optimizer"], c["learning_rate"], c["batch_size"]) for c in entry["configurations"]] == [
        ("sgd", 0.1, 2),
        ("adam", 0.1, 2),
    ]
    assert set(entry) == {"repeats", "use_bias", "initializer", "tolerance", "configurations"}
    with pytest.raises(ValueError, match="no group 'lr0.5_bs2'"):
        group_entry(STUDY, "lr0.5_bs2")
    # one more learning rate: new groups; the others' slices, and the references', stay as they were
    more = {**STUDY, "learning_rates": [0.01, 0.1, 0.3]}
    assert set(groups(more)) - set(groups(STUDY)) == {"lr0.3_full", "lr0.3_bs2"}
    assert all(group_entry(more, g) == group_entry(STUDY, g) for g in groups(STUDY))
    assert reference_entry(more) == reference_entry(STUDY)
    # full-batch epochs: only the full-batch groups' slices (and the full-batch reference solvers') change
    longer = {**STUDY, "epochs_full_batch": 9}
    assert [g for g in groups(STUDY) if group_entry(longer, g) != group_entry(STUDY, g)] == [
        "lr0.01_full",
        "lr0.1_full",
    ]
    # the reference SGD runs at the smallest learning rate and batch size: changing those changes its slice
    assert reference_entry({**STUDY, "learning_rates": [0.001, 0.1]})["sgd_learning_rate"] == 0.001
    assert reference_entry({**STUDY, "batch_sizes": [None]})["sgd_batch_size"] is None


def _untimed(obj):
    """``obj`` without wall-clock fields (``seconds``)."""
    if isinstance(obj, dict):
        return {k: _untimed(v) for k, v in obj.items() if k != "seconds"}
    if isinstance(obj, list):
        return [_untimed(v) for v in obj]
    return obj


@pytest.mark.keras
def test_split_study_through_its_files_equals_the_study_in_one_job(tmp_path):
    from reglab.core.io import read_json, write_json, write_parquet
    from reglab.studies.convergence import merge, run_group, run_references
    from reglab.studies.grid import group_entry, groups, reference_entry

    data = datasets.collinear_toy()
    closed = closed_form.summarize(data)
    study = {**STUDY, "initializer": "random_normal", "group_by": []}
    whole_curves, whole = run_study("t", study, data, closed, seed=3, threads=1)
    split = {**study, "group_by": ["optimizer", "batch_size"]}

    def through_files(name, curves, doc):  # what the workflow's jobs write and the merge job reads back
        write_parquet(tmp_path / f"{name}.parquet", curves)
        write_json(tmp_path / f"{name}.json", doc)
        return pd.read_parquet(tmp_path / f"{name}.parquet"), read_json(tmp_path / f"{name}.json")

    parts = [
        through_files(g, *run_group("t", g, group_entry(split, g), data, closed, seed=3, threads=1))
        for g in reversed(list(groups(split)))
    ]  # the order of the inputs does not matter
    refs = through_files("references", *run_references("t", reference_entry(split), data, closed, seed=3))
    curves, summary = merge("t", split, parts, refs)
    write_json(tmp_path / "summary.json", summary)
    write_json(tmp_path / "whole.json", whole)
    assert _untimed(read_json(tmp_path / "summary.json")) == _untimed(read_json(tmp_path / "whole.json"))
    write_parquet(tmp_path / "whole_curves.parquet", whole_curves)
    pd.testing.assert_frame_equal(
        curves.drop(columns="seconds"),
        pd.read_parquet(tmp_path / "whole_curves.parquet").drop(columns="seconds"),
    )
    # a group computed for other configurations than the study now declares is refused
    stale = [
        (
            c,
            {
                **d,
                "configurations": [{**d["configurations"][0], "learning_rate": 0.5}]
                + d["configurations"][1:],
            },
        )
        for c, d in parts
    ]
    with pytest.raises(ValueError, match="holds other configurations"):
        merge("t", split, stale, refs)
    with pytest.raises(ValueError, match="groups"):
        merge("t", split, parts[1:], refs)
