"""Tests for reglab.linalg.diagnostics (identifiability, VIF, Belsley-Kuh-Welsch)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import scipy.linalg

from reglab.linalg.diagnostics import (
    bkw_decomposition,
    diagnose,
    null_space_description,
    vif_values,
)

EXPECTED_KEYS = {
    "n",
    "p",
    "n_params",
    "param_names",
    "intercept",
    "rank",
    "rank_rtol",
    "rank_tol",
    "identifiable",
    "underdetermined",
    "singular_values",
    "singular_values_scaled",
    "condition_raw",
    "condition_scaled",
    "vif",
    "vif_none_reason",
    "vif_method",
    "vif_note",
    "bkw",
    "constant_columns",
    "null_space",
    "null_space_descriptions",
    "min_norm_solution",
    "residual_mse",
    "solution_set",
    "verdict_class",
    "verdict",
}


def _names(p: int) -> list[str]:
    return [f"x{i + 1}" for i in range(p)]


def _design(x: np.ndarray, intercept: bool) -> np.ndarray:
    return np.column_stack([x, np.ones(x.shape[0])]) if intercept else x


def _assert_strict_json(result: dict) -> None:
    text = json.dumps(result, allow_nan=False)  # raises on NaN / Infinity
    assert json.loads(text) == result


def _proportions(result: dict) -> np.ndarray:
    return np.array(result["bkw"]["variance_proportions"], dtype=float)


# --------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def seed001() -> tuple[np.ndarray, np.ndarray]:
    x = np.array([[1, 2], [2, 3], [3, 4], [4, 5], [5, 6]], dtype=float)
    y = np.array([3, 5, 7, 9, 11], dtype=float)
    return x, y


@pytest.fixture(scope="module")
def near_collinear() -> np.ndarray:
    rng = np.random.default_rng(20240601)
    n = 200
    x1, x2 = rng.normal(size=(2, n))
    x3 = x1 + x2 + 1e-6 * rng.normal(size=n)
    return np.column_stack([x1, x2, x3])


# --------------------------------------------------------------------------------------
# orthogonal design
# --------------------------------------------------------------------------------------
def test_orthogonal_hadamard_design() -> None:
    h = scipy.linalg.hadamard(8).astype(float)
    x = h[:, 1:]  # columns 2..8 sum to zero: orthogonal to each other and to the intercept
    y = x @ np.arange(1.0, 8.0) + 2.5
    r = diagnose(x, feature_names=_names(7), intercept=True, y=y)

    assert set(r) >= EXPECTED_KEYS
    assert r["param_names"] == _names(7) + ["intercept"]
    assert r["n"] == 8 and r["n_params"] == 8 and r["rank"] == 8
    assert r["identifiable"] is True and r["null_space"] == []
    assert r["verdict_class"] == "identifiable"
    assert r["verdict"].startswith("identifiable: rank 8 = 8 parameters")
    assert r["vif_method"] == "statsmodels"
    for v in r["vif"].values():
        assert v == pytest.approx(1.0, abs=1e-12)
    assert r["condition_scaled"] == pytest.approx(1.0, abs=1e-12)
    assert r["condition_raw"] == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(r["singular_values"], np.full(8, math.sqrt(8)), rtol=1e-13)
    np.testing.assert_allclose(r["singular_values_scaled"], np.ones(8), rtol=1e-13)
    assert r["bkw"]["flagged"] == []
    sol = r["min_norm_solution"]
    np.testing.assert_allclose([sol[nm] for nm in r["param_names"]], list(range(1, 8)) + [2.5], atol=1e-12)
    assert r["residual_mse"] == pytest.approx(0.0, abs=1e-24)
    assert r["solution_set"].startswith("unique")
    _assert_strict_json(r)


# --------------------------------------------------------------------------------------
# exact dependency: seed 001
# --------------------------------------------------------------------------------------
def test_exact_dependency_seed001(seed001: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = seed001
    r = diagnose(x, feature_names=["x1", "x2"], intercept=True, y=y)

    assert r["n_params"] == 3 and r["rank"] == 2
    assert r["identifiable"] is False and r["underdetermined"] is False
    assert r["verdict_class"] == "not identifiable"
    assert "rank 2 < 3 parameters" in r["verdict"]
    assert "0.577*x1 - 0.577*x2 + 0.577*intercept = 0" in r["verdict"]
    assert r["condition_raw"] is None or r["condition_raw"] > 1e12
    assert r["rank_tol"] == pytest.approx(r["singular_values"][0] * 5 * np.finfo(float).eps)

    # x2 = x1 + 1  <=>  1*x1 - 1*x2 + 1*intercept = 0  ->  null space span{(1, -1, 1)/sqrt(3)}
    assert len(r["null_space"]) == 1
    v = np.array(r["null_space"][0])
    expected = np.array([1.0, -1.0, 1.0]) / math.sqrt(3.0)
    assert abs(float(v @ expected)) == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(v, expected, atol=1e-12)  # sign rule: first of the tied maxima > 0

    # Min-norm solution, by hand.  y = 2*x1 + 1 exactly, and the model is
    #   w1*x1 + w2*x2 + c = w1*x1 + w2*(x1 + 1) + c = (w1 + w2)*x1 + (w2 + c),
    # so the exact-fit solution set is {w1 + w2 = 2, w2 + c = 1}:
    #   (w1, w2, c) = (2 - t, t, 1 - t) = (2, 0, 1) + t*(-1, 1, -1),  t real
    # (the direction is the null vector (1, -1, 1) up to sign).  Minimise
    #   (2 - t)^2 + t^2 + (1 - t)^2  ->  d/dt: -2(2 - t) + 2t - 2(1 - t) = 6t - 6 = 0  ->  t = 1,
    # giving (w1, w2, c) = (1, 1, 0), which is orthogonal to (1, -1, 1) as a min-norm
    # solution must be; residual 0.
    sol = r["min_norm_solution"]
    np.testing.assert_allclose([sol["x1"], sol["x2"], sol["intercept"]], [1.0, 1.0, 0.0], atol=1e-12)
    assert r["residual_mse"] == pytest.approx(0.0, abs=1e-24)
    assert "min_norm + span(null_space)" in r["solution_set"]

    # VIF: x1 and x2 are exact linear functions of each other plus a constant -> infinite
    assert r["vif"] == {"x1": None, "x2": None}
    assert r["vif_none_reason"] == {"x1": "infinite", "x2": "infinite"}
    # BKW: the zero component carries all of every parameter's variance
    flagged = r["bkw"]["flagged"]
    assert any(set(f["params"]) == {"x1", "x2", "intercept"} for f in flagged)
    np.testing.assert_allclose(_proportions(r).sum(axis=0), 1.0, atol=1e-12)
    _assert_strict_json(r)


def test_exact_dependency_without_intercept_is_identifiable_but_vif_infinite(
    seed001: tuple[np.ndarray, np.ndarray],
) -> None:
    x, y = seed001
    r = diagnose(x, feature_names=["x1", "x2"], intercept=False, y=y)
    assert r["rank"] == 2 and r["identifiable"] is True
    # statsmodels convention: VIF always with a constant -> x2 = x1 + 1 is exact there
    assert r["vif"] == {"x1": None, "x2": None}
    assert r["verdict_class"] == "near-collinear"
    assert "infinite" in r["verdict"] and "constant" in r["verdict"]
    sol = r["min_norm_solution"]
    ref, *_ = np.linalg.lstsq(x, y, rcond=None)
    np.testing.assert_allclose([sol["x1"], sol["x2"]], ref, atol=1e-10)


# --------------------------------------------------------------------------------------
# near-collinear
# --------------------------------------------------------------------------------------
def test_near_collinear(near_collinear: np.ndarray) -> None:
    r = diagnose(near_collinear, feature_names=["x1", "x2", "x3"], intercept=True)
    assert r["rank"] == 4 and r["identifiable"] is True
    assert r["verdict_class"] == "near-collinear"
    assert all(v is not None and v > 10 for v in r["vif"].values())
    assert r["condition_scaled"] > 30
    flagged = r["bkw"]["flagged"]
    assert any({"x1", "x2", "x3"} <= set(f["params"]) for f in flagged)
    worst = max(flagged, key=lambda f: f["condition_index"])
    assert worst["condition_index"] == pytest.approx(r["condition_scaled"])
    assert "scaled condition number" in r["verdict"] and "VIF > 10" in r["verdict"]
    assert r["min_norm_solution"] is None and r["residual_mse"] is None and r["solution_set"] is None
    _assert_strict_json(r)


# --------------------------------------------------------------------------------------
# constant column
# --------------------------------------------------------------------------------------
def test_constant_column_reported_with_intercept() -> None:
    rng = np.random.default_rng(7)
    x = np.column_stack([rng.normal(size=30), rng.normal(size=30), np.full(30, 5.0)])
    r = diagnose(x, feature_names=["a", "b", "c"], intercept=True)
    assert r["constant_columns"] == ["c"]
    assert r["rank"] == 3 and r["verdict_class"] == "not identifiable"
    # 1*c - 5*intercept = 0, normalised; largest-|.| entry (intercept) positive
    np.testing.assert_allclose(r["null_space"][0], np.array([0, 0, -1.0, 5.0]) / math.sqrt(26.0), atol=1e-12)
    assert "c duplicate the intercept" in r["verdict"]
    assert r["vif"]["c"] is None and r["vif_none_reason"] == {"c": "constant"}
    assert r["vif"]["a"] == pytest.approx(r["vif"]["a"]) and 1.0 <= r["vif"]["a"] < 2.0
    _assert_strict_json(r)


def test_constant_column_reported_without_intercept() -> None:
    rng = np.random.default_rng(8)
    x = np.column_stack([rng.normal(size=40), np.ones(40), rng.normal(size=40)])
    r = diagnose(x, feature_names=["a", "ones", "b"], intercept=False)
    assert r["constant_columns"] == ["ones"]  # reported, not dropped
    assert r["n_params"] == 3 and r["rank"] == 3
    assert r["verdict_class"] == "identifiable"  # the undefined VIF of a constant does not count
    assert r["vif"]["ones"] is None and r["vif_none_reason"]["ones"] == "constant"
    assert "VIF undefined" in r["verdict"]


# --------------------------------------------------------------------------------------
# underdetermined
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("intercept, null_dim", [(False, 3), (True, 4)])
def test_underdetermined_5x8(intercept: bool, null_dim: int) -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(5, 8))
    y = rng.normal(size=5)
    r = diagnose(x, feature_names=_names(8), intercept=intercept, y=y)
    d = _design(x, intercept)

    assert r["rank"] == 5 == np.linalg.matrix_rank(d)
    assert r["underdetermined"] is True and r["identifiable"] is False
    assert r["verdict_class"] == "not identifiable" and "underdetermined" in r["verdict"]
    assert len(r["singular_values"]) == 5
    assert r["condition_raw"] is None
    null = np.array(r["null_space"])
    assert null.shape == (null_dim, d.shape[1])
    np.testing.assert_allclose(null @ null.T, np.eye(null_dim), atol=1e-12)
    np.testing.assert_allclose(d @ null.T, 0.0, atol=1e-12)
    for v in null:  # sign rule
        assert v[np.argmax(np.abs(v))] > 0
    # VIF infinite for every feature, without running regressions
    assert r["vif_method"] == "correlation"
    assert all(v is None for v in r["vif"].values())
    # min-norm solution = LAPACK lstsq (gelsd) minimum-norm solution; fits exactly
    ref, *_ = np.linalg.lstsq(d, y, rcond=None)
    np.testing.assert_allclose([r["min_norm_solution"][nm] for nm in r["param_names"]], ref, atol=1e-10)
    assert r["residual_mse"] == pytest.approx(0.0, abs=1e-20)
    np.testing.assert_allclose(_proportions(r).sum(axis=0), 1.0, atol=1e-12)
    assert len(r["bkw"]["zero_components"]) == null_dim
    _assert_strict_json(r)


def test_underdetermined_200x300_is_fast_and_all_vif_none() -> None:
    rng = np.random.default_rng(11)
    x = rng.normal(size=(200, 300))
    r = diagnose(x, feature_names=_names(300), intercept=True)
    assert r["rank"] == 200 and len(r["null_space"]) == 101
    assert r["vif_method"] == "correlation"
    assert all(v is None for v in r["vif"].values())


# --------------------------------------------------------------------------------------
# BKW
# --------------------------------------------------------------------------------------
def _textbook_bkw(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Straight from Belsley, Kuh & Welsch (1980), for a full-rank design."""
    ds = d / np.linalg.norm(d, axis=0)
    _, s, vt = np.linalg.svd(ds, full_matrices=False)
    phi = vt.T**2 / s**2  # (params, components)
    return s[0] / s, (phi / phi.sum(axis=1, keepdims=True)).T


@pytest.mark.parametrize("intercept", [True, False])
def test_bkw_matches_textbook_and_columns_sum_to_one(intercept: bool) -> None:
    rng = np.random.default_rng(3)
    base = rng.normal(size=(60, 4))
    x = base @ np.array([[1, 0.9, 0, 0], [0, 0.3, 0, 0], [0, 0, 1, 0.5], [0, 0, 0, 1.0]]) + 3.0
    r = diagnose(x, feature_names=_names(4), intercept=intercept)
    eta, pi = _textbook_bkw(_design(x, intercept))
    np.testing.assert_allclose(r["bkw"]["condition_indices"], eta, rtol=1e-9)
    np.testing.assert_allclose(_proportions(r), pi, rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(_proportions(r).sum(axis=0), 1.0, atol=1e-12)
    assert r["condition_scaled"] == pytest.approx(eta[-1], rel=1e-9)
    assert r["bkw"]["param_names"] == r["param_names"]


def test_bkw_proportions_sum_to_one_near_collinear(near_collinear: np.ndarray) -> None:
    r = diagnose(near_collinear, feature_names=["x1", "x2", "x3"], intercept=True)
    pi = _proportions(r)
    assert pi.shape == (4, 4)
    np.testing.assert_allclose(pi.sum(axis=0), 1.0, atol=1e-12)
    assert np.all(pi >= 0)


def test_bkw_zero_component_limit() -> None:
    s = np.array([2.0, 1.0, 0.0])
    v = np.linalg.qr(np.random.default_rng(0).normal(size=(3, 3)))[0]
    eta, pi, zero = bkw_decomposition(s, v, zero_tol=1e-12)
    assert eta[-1] == math.inf and zero.tolist() == [False, False, True]
    np.testing.assert_allclose(pi[2], 1.0)  # every parameter involved in the exact dependency
    np.testing.assert_allclose(pi.sum(axis=0), 1.0)


# --------------------------------------------------------------------------------------
# VIF
# --------------------------------------------------------------------------------------
def _correlated(n: int, p: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, p))
    mix = np.eye(p) + 0.4 * rng.normal(size=(p, p)) / math.sqrt(p)
    return z @ mix + rng.normal(size=p) * 10.0  # non-zero means: centring matters


def test_vif_large_p_path_agrees_with_statsmodels() -> None:
    x = _correlated(400, 60, seed=21)
    sm, m1, _ = vif_values(x, method="statsmodels")
    co, m2, _ = vif_values(x, method="correlation")
    assert (m1, m2) == ("statsmodels", "correlation")
    assert np.all(np.isfinite(sm)) and np.all(sm > 1.0)
    np.testing.assert_allclose(co, sm, rtol=1e-9)
    # diagnose switches to the correlation path above 50 features
    r = diagnose(x, feature_names=_names(60), intercept=True)
    assert r["vif_method"] == "correlation"
    np.testing.assert_allclose([r["vif"][nm] for nm in _names(60)], sm, rtol=1e-9)


def test_vif_paths_agree_small_and_match_definition() -> None:
    x = _correlated(80, 5, seed=4)
    sm, _, _ = vif_values(x, method="statsmodels")
    co, _, _ = vif_values(x, method="correlation")
    np.testing.assert_allclose(co, sm, rtol=1e-10)
    # definition: 1 / (1 - R_j^2), regression of x_j on the others and a constant
    j = 2
    others = np.column_stack([np.delete(x, j, axis=1), np.ones(80)])
    coef, *_ = np.linalg.lstsq(others, x[:, j], rcond=None)
    resid = x[:, j] - others @ coef
    r2 = 1.0 - resid @ resid / np.sum((x[:, j] - x[:, j].mean()) ** 2)
    assert sm[j] == pytest.approx(1.0 / (1.0 - r2), rel=1e-10)
    # without an intercept in the model the VIFs are the same (constant always added)
    r = diagnose(x, feature_names=_names(5), intercept=False)
    np.testing.assert_allclose([r["vif"][nm] for nm in _names(5)], sm, rtol=1e-10)
    assert "constant" in r["vif_note"]


def test_vif_exact_collinearity_infinite_under_both_methods() -> None:
    rng = np.random.default_rng(9)
    x = rng.normal(size=(50, 4))
    x[:, 3] = x[:, 0] - 2.0 * x[:, 1] + 4.0
    for method in ("statsmodels", "correlation"):
        v, _, _ = vif_values(x, method=method)  # type: ignore[arg-type]
        assert np.isinf(v[[0, 1, 3]]).all() and np.isfinite(v[2])


# --------------------------------------------------------------------------------------
# misc
# --------------------------------------------------------------------------------------
def test_raw_quantities_match_numpy(near_collinear: np.ndarray) -> None:
    d = _design(near_collinear, True)
    r = diagnose(near_collinear, feature_names=["x1", "x2", "x3"], intercept=True)
    s = np.linalg.svd(d, compute_uv=False)
    np.testing.assert_allclose(r["singular_values"], s, rtol=1e-8)
    assert r["rank"] == np.linalg.matrix_rank(d)
    assert r["condition_raw"] == pytest.approx(s[0] / s[-1], rel=1e-6)


def test_rank_rtol_controls_tolerance(near_collinear: np.ndarray) -> None:
    r = diagnose(near_collinear, feature_names=["x1", "x2", "x3"], intercept=True, rank_rtol=1e-3)
    d = _design(near_collinear, True)
    pow2 = 2.0 ** np.round(np.log2(np.linalg.norm(d, axis=0)))  # the one rank rule's exact column scales
    assert r["rank_tol"] == pytest.approx(1e-3 * np.linalg.svd(d / pow2, compute_uv=False)[0], rel=1e-12)
    assert r["rank"] == 3 and r["verdict_class"] == "not identifiable"
    dep = np.array(r["null_space"][0])
    np.testing.assert_allclose(np.abs(dep[:3]), 1 / math.sqrt(3), atol=1e-4)  # x1 + x2 - x3 ~ 0


def test_null_space_description() -> None:
    names = ["a", "b", "c", "intercept"]
    assert null_space_description([0.5, -0.5, 1e-12, 0.7071], names) == "0.5*a - 0.5*b + 0.707*intercept = 0"
    assert null_space_description(np.array([-1.0, 0.0, 2.0, 0.0]), names) == "-1*a + 2*c = 0"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"X": np.ones((3, 2)), "feature_names": ["a"], "intercept": True},
        {"X": np.ones((3, 2)), "feature_names": ["a", "a"], "intercept": True},
        {"X": np.ones((3, 1)), "feature_names": ["intercept"], "intercept": True},
        {"X": np.array([[1.0], [np.nan]]), "feature_names": ["a"], "intercept": False},
        {"X": np.ones((3, 1)), "feature_names": ["a"], "intercept": True, "y": np.ones(2)},
    ],
)
def test_validation(kwargs: dict) -> None:
    X = kwargs.pop("X")
    with pytest.raises(ValueError):
        diagnose(X, **kwargs)


@pytest.mark.parametrize("factor", [1e200, 1e300, 1e-200])
def test_rank_and_verdict_do_not_change_when_a_column_is_rescaled(factor: float) -> None:
    rng = np.random.default_rng(11)
    x = rng.normal(size=(60, 2))
    y = x @ np.array([1.0, -2.0]) + 0.5 + 0.01 * rng.normal(size=60)
    base = diagnose(x, y=y, feature_names=["a", "b"], intercept=True)
    scaled = x.copy()
    scaled[:, 0] *= factor
    r = diagnose(scaled, y=y, feature_names=["a", "b"], intercept=True)
    assert (r["rank"], r["verdict_class"]) == (base["rank"], base["verdict_class"]) == (3, "identifiable")
    assert r["min_norm_solution"]["a"] * factor == pytest.approx(base["min_norm_solution"]["a"], rel=1e-9)
    assert r["min_norm_solution"]["b"] == pytest.approx(base["min_norm_solution"]["b"], rel=1e-9)


def test_a_copied_feature_and_a_feature_equal_to_the_target_are_said_in_the_verdict() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(40, 2))
    x = np.column_stack([x, x[:, 0]])
    y = rng.normal(size=40)
    r = diagnose(x, y=y, feature_names=["x1", "x2", "x1_again"], intercept=True)
    assert (
        r["duplicate_columns"] == [["x1", "x1_again"]] and "x1_again is an exact copy of x1" in r["verdict"]
    )
    leak = diagnose(np.column_stack([x[:, :2], y]), y=y, feature_names=["x1", "x2", "y_copy"], intercept=True)
    assert (
        leak["columns_equal_to_target"] == ["y_copy"]
        and "y_copy is identical to the target" in leak["verdict"]
    )
