"""The reproduction table: criteria, verdicts, and the seed-003 population MSE used in its reasons."""

from __future__ import annotations

import numpy as np
import pytest

from reglab.data import datasets
from reglab.questions.reproduction import COLUMNS, balloons_population_mse, build_table, within_decade


def test_population_mse_matches_monte_carlo():
    d = datasets.balloons(n=400_000, validation_fraction=0.1, seed=11)
    f = d.frame
    for w in [(0.9, 0.15), (0.43457505, 0.1423042), (0.0, 0.0)]:
        pred = w[0] * f["children"] + w[1] * f["age"]
        mc = float(np.mean((f["num_balloons"] - pred) ** 2))
        assert balloons_population_mse(*w) == pytest.approx(mc, rel=0.01)


def test_population_minimum_is_the_group_average():
    # the least-squares projection is the average of the two groups' slopes
    best = balloons_population_mse(0.9, 0.15)
    for dc, da in [(0.01, 0), (-0.01, 0), (0, 0.01), (0, -0.01)]:
        assert balloons_population_mse(0.9 + dc, 0.15 + da) > best


def test_within_decade():
    assert within_decade(1e-10, 9e-10) and within_decade(2e-4, 1e-4)
    assert not within_decade(1e-10, 1e-12) and not within_decade(0.0, 1.0)


def _adam_doc(lo, med, hi):
    s = {"median": med, "q05": lo, "q95": hi}
    return {"summary": {"x1": s, "x2": {"median": 2 - med, "q05": 2 - hi, "q95": 2 - lo}},
            "n_repeats": 50, "final_mse_float64": 1e-13}


CLOSED_TOY = {"collinear_toy": {"solvers": {"lstsq": {"coef": {"x1": 1.0, "x2": 1.0}, "intercept": 0.0,
                                                      "train_mse": 0.0}}}}


def test_table_has_every_required_row_and_column_even_when_nothing_ran():
    table = build_table({}, {})
    assert list(table.columns) == COLUMNS
    required = {("001", "adam_w1"), ("001", "adam_w2"), ("002", "fullbatch_sgd_mse_10k"),
                ("002", "minibatch32_sgd_mse_10k"), ("002", "minibatch32_sgd_mse_20k"), ("002", "numpy_mse"),
                ("002", "small_fullbatch_sgd_mse_10k"), ("003", "linear_w_relationship"),
                ("003", "linear_w_children"), ("003", "linear_w_age"), ("003", "linear_val_loss"),
                ("003", "mlp_regression_val_loss"), ("003", "logistic_w_relationship"),
                ("003", "logistic_w_children"), ("003", "logistic_w_age"), ("003", "logistic_val_loss"),
                ("003", "mlp_classification_val_loss")}
    assert required <= set(zip(table["document"], table["quantity"]))
    assert table["verdict"].str.startswith("not run").all()


def test_001_verdict_follows_the_range():
    inside = build_table({"s001_adam": _adam_doc(1.05, 1.11, 1.18)}, CLOSED_TOY)
    row = inside[inside["quantity"] == "adam_w1"].iloc[0]
    assert row["verdict"].startswith("reproduced") and row["reglab"] == 1.11 and row["reference"] == 1.0
    outside = build_table({"s001_adam": _adam_doc(0.99, 1.0, 1.01)}, CLOSED_TOY)
    assert outside[outside["quantity"] == "adam_w1"].iloc[0]["verdict"].startswith("differs")


def test_002_order_of_magnitude():
    keras = {"s002_fullbatch_f32_10k": {"final_mse_float64": 3e-4},
             "s002_minibatch32_f32_10k": {"final_mse_float64": 5e-8}}
    t = build_table(keras, {"underdetermined": {"solvers": {"lstsq": {"train_mse": 1e-30}}}}).set_index("quantity")
    assert t.loc["fullbatch_sgd_mse_10k", "verdict"].startswith("reproduced")
    assert t.loc["minibatch32_sgd_mse_10k", "verdict"].startswith("differs")
    assert t.loc["numpy_mse", "verdict"].startswith("reproduced")
