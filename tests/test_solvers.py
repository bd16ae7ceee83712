"""Tests for reglab.linalg.solvers against answers constructed independently of the code under test.

Every least-squares reference is exact: either ``y = X @ beta`` with integer / dyadic data (so ``y`` is
computed exactly and ``beta`` is THE least-squares solution), or a residual constructed orthogonal to the
design, or a minimum-norm solution derived by hand.  Logistic references are the score equations and the
geometry of the data.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pytest
import scipy.linalg

from reglab.linalg.logistic import logistic_all
from reglab.linalg.lsq.design import design_matrix, param_names
from reglab.linalg.solvers import LSQ_SOLVERS, least_squares_all, numerical_rank

OK_SOLVERS_FULL_RANK = LSQ_SOLVERS  # every solver must succeed on a full-rank design


# ------------------------------------------------------------------------------------------------ helpers


def names(p: int) -> list[str]:
    return [f"x{j}" for j in range(p)]


def exact_y(D: np.ndarray, beta: list[float]) -> np.ndarray:
    """y = D @ beta computed in rational arithmetic; asserts every entry is exactly representable in
    float64."""
    out = []
    for row in D:
        v = sum((Fraction(float(a)) * Fraction(b) for a, b in zip(row, beta, strict=True)), Fraction(0))
        f = float(v)
        assert Fraction(f) == v, "test construction error: y is not exactly representable"
        out.append(f)
    return np.array(out)


def params_of(entry: dict, features: list[str], intercept: bool) -> np.ndarray:
    w = [entry["coef"][f] for f in features]
    if intercept:
        w.append(entry["intercept"])
    return np.array(w, dtype=np.float64)


def digits(est: np.ndarray, truth: np.ndarray) -> float:
    """Componentwise correct digits, min over parameters (truth nonzero), capped at 17 for exact equality."""
    rel = np.max(np.abs(est - truth) / np.abs(truth))
    return 17.0 if rel == 0 else float(-np.log10(rel))


def assert_plain_json(obj: object) -> None:
    """Only dict/list/str/float/int/bool/None, no numpy scalars, no NaN/inf; json.dumps must accept it
    strictly."""
    json.dumps(obj, allow_nan=False)

    def walk(o: object) -> None:
        assert type(o) in (dict, list, str, float, int, bool, type(None)), (
            f"non-plain type {type(o)!r}: {o!r}"
        )
        if isinstance(o, dict):
            for k, v in o.items():
                assert type(k) is str
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)

    walk(obj)


# ------------------------------------------------------------------------------------------------ helpers API


def test_design_matrix_and_param_names() -> None:
    X = np.array([[1.0, 2.0], [3.0, 4.0]])
    D = design_matrix(X, True)
    assert D.shape == (2, 3) and D.dtype == np.float64
    np.testing.assert_array_equal(D, [[1, 2, 1], [3, 4, 1]])
    np.testing.assert_array_equal(design_matrix(X, False), X)
    assert design_matrix(X, False) is not X
    assert param_names(["a", "b"], True) == ["a", "b", "intercept"]
    assert param_names(["a", "b"], False) == ["a", "b"]


def test_numerical_rank_helper() -> None:
    t = np.arange(1.0, 6.0)
    assert numerical_rank(np.column_stack([t, t + 1, np.ones(5)]))[0] == 2
    rank, cond = numerical_rank(np.column_stack([t, np.ones(5)]))
    assert rank == 2 and cond is not None and 1.0 <= cond < 10.0
    # column units do not matter (columns are equilibrated before the rank decision)
    assert numerical_rank(np.column_stack([t * 1e-200, np.ones(5) * 1e200]))[0] == 2


# ------------------------------------------------------------------------------------------- well conditioned


def test_well_conditioned_with_orthogonal_residual() -> None:
    # Columns of the Hadamard matrix H8 are orthogonal.  Features live in span(h1, h2, h3), the intercept is
    # h0, and the residual e lives in span(h4, h6, h7), so e is orthogonal to the design and beta is EXACTLY
    # the least-squares solution, RSS = ||e||^2 = 8 * (1 + 0.25 + 1) = 18, MSE = 18 / 8 = 2.25.
    H = scipy.linalg.hadamard(8).astype(float)
    h = [H[:, k] for k in range(8)]
    X = np.column_stack([3 * h[1] + h[2], h[2] - 2 * h[3], h[1] + h[3]])
    beta = [1.5, -2.0, 0.25, 4.0]
    e = h[4] - 0.5 * h[6] + h[7]
    y = exact_y(design_matrix(X, True), beta) + e  # small dyadics: the sum is exact
    feats = ["f1", "f2", "f3"]
    res = least_squares_all(X, y, intercept=True, feature_names=feats)
    assert_plain_json(res)
    assert set(res["solvers"]) == set(LSQ_SOLVERS)
    assert res["recommended"] == "refined"
    assert res["rank"] == 4 and res["n_params"] == 4 and res["exact_available"] is True
    assert res["exact_train_mse"] == 2.25
    for name in OK_SOLVERS_FULL_RANK:
        entry = res["solvers"][name]
        assert entry["status"] == "ok", (name, entry["message"])
        np.testing.assert_allclose(params_of(entry, feats, True), beta, rtol=1e-12, atol=1e-12, err_msg=name)
        assert entry["train_mse"] == pytest.approx(2.25, rel=1e-12)
        assert entry["seconds"] >= 0.0
        assert entry["correct_digits"] >= 12.0, name
    refined = res["solvers"]["refined"]
    np.testing.assert_array_equal(params_of(refined, feats, True), beta)  # exact
    assert refined["correct_digits"] == 16.0 and res["correct_digits"] == 16.0

    # statsmodels extras: sigma^2 = RSS / (n - m) = 18 / 4 = 4.5.  h0 is orthogonal to the features, so
    # var(intercept) = 4.5 / ||h0||^2 = 4.5 / 8 -> bse = 0.75.  Features: F = [h1 h2 h3] C, F'F = 8 C'C.
    sm = res["solvers"]["statsmodels"]
    C = np.array([[3.0, 0.0, 1.0], [1.0, 1.0, 0.0], [0.0, -2.0, 1.0]])
    bse_feat = np.sqrt(np.diag(4.5 / 8 * np.linalg.inv(C.T @ C)))
    assert sm["se"]["intercept"] == pytest.approx(0.75, rel=1e-12)
    np.testing.assert_allclose([sm["se"][f] for f in feats], bse_feat, rtol=1e-10)
    # TSS = ||4.75 h1 - 0.5 h2 + 4.25 h3||^2 + ||e||^2 = 8 * 40.875 + 18 = 345 -> R^2 = 1 - 18/345
    assert sm["r2"] == pytest.approx(1 - 18 / 345, rel=1e-12)
    assert sm["r2_kind"] == "centered"


def test_well_conditioned_large_uses_refinement_estimate() -> None:
    # n * m > 5000: no exact rational solution, the recommended answer's digits are estimated.
    rng = np.random.default_rng(11)
    X = rng.integers(-100, 101, size=(2000, 4)).astype(float)
    beta = [0.5, -1.25, 3.0, 0.125]
    y = exact_y(X, beta)  # zero residual: beta is the exact least-squares solution
    res = least_squares_all(X, y, intercept=False, feature_names=names(4))
    assert_plain_json(res)
    assert res["exact_available"] is False and res["exact_rank"] is None
    assert "estimated" in res["correct_digits_method"]
    assert res["correct_digits"] >= 15.0
    for name in LSQ_SOLVERS:
        entry = res["solvers"][name]
        assert entry["status"] == "ok" and entry["correct_digits"] is None
        assert entry["intercept"] is None
        np.testing.assert_allclose(params_of(entry, names(4), False), beta, rtol=1e-11)
    assert digits(params_of(res["solvers"]["refined"], names(4), False), np.array(beta)) >= 15.0
    sm = res["solvers"]["statsmodels"]
    assert sm["r2_kind"] == "uncentered" and sm["r2"] == pytest.approx(1.0)


def test_intercept_only_model() -> None:
    y = np.array([1.0, 2.0, 4.0, 5.0])  # mean 3 is exact
    res = least_squares_all(np.empty((4, 0)), y, intercept=True, feature_names=[])
    assert_plain_json(res)
    for name in ("lstsq", "qr", "cholesky", "pinv", "statsmodels", "refined"):
        entry = res["solvers"][name]
        assert entry["status"] == "ok" and entry["coef"] == {}
        assert entry["intercept"] == pytest.approx(3.0, rel=1e-15)
        assert entry["train_mse"] == pytest.approx(2.5, rel=1e-14)  # (4 + 1 + 1 + 4) / 4
    # scikit-learn refuses zero features; that must be reported, not raised
    sk = res["solvers"]["sklearn"]
    assert sk["status"] in ("ok", "failed")
    if sk["status"] == "failed":
        assert sk["message"] and sk["coef"] is None and sk["train_mse"] is None


# --------------------------------------------------------------------------------------------- rank deficient


def test_rank_deficient_minimum_norm_by_hand() -> None:
    # x1 = t, x2 = t + 1 (t = 1..5), intercept b, y = 2t + 1.  The model is (w1 + w2) t + (w2 + b), so every
    # exact fit has w1 + w2 = 2 and w2 + b = 1: (w1, w2, b) = (2, 0, 1) + s (-1, 1, -1).  The norm
    # (2-s)^2 + s^2 + (1-s)^2 has derivative -2(2-s) + 2s - 2(1-s) = 6s - 6 = 0 at s = 1, so the minimum-norm
    # solution is (w1, w2, b) = (1, 1, 0), with zero residual.  (Check: (1,1,0) . (-1,1,-1) = 0.)
    X = np.array([[1, 2], [2, 3], [3, 4], [4, 5], [5, 6]], dtype=float)
    y = np.array([3, 5, 7, 9, 11], dtype=float)
    res = least_squares_all(X, y, intercept=True, feature_names=["w1", "w2"])
    assert_plain_json(res)
    assert res["rank"] == 2 and res["n_params"] == 3 and res["exact_rank"] == 2
    assert res["condition_pow2_scaled"] is None
    min_norm = np.array([1.0, 1.0, 0.0])
    for name in ("lstsq", "pinv", "statsmodels", "refined"):
        entry = res["solvers"][name]
        assert entry["status"] == "ok", (name, entry["message"])
        np.testing.assert_allclose(params_of(entry, ["w1", "w2"], True), min_norm, atol=1e-13, err_msg=name)
        assert entry["train_mse"] == pytest.approx(0.0, abs=1e-20)
        assert "rank deficient" in entry["message"]
        assert entry["correct_digits"] >= 13.0
    np.testing.assert_array_equal(params_of(res["solvers"]["refined"], ["w1", "w2"], True), min_norm)
    assert res["correct_digits"] == 16.0
    for name in ("qr", "cholesky"):
        entry = res["solvers"][name]
        assert entry["status"] == "failed"
        assert entry["coef"] is None and entry["intercept"] is None and entry["train_mse"] is None
        assert entry["correct_digits"] is None
    assert "rank deficient" in res["solvers"]["qr"]["message"]
    assert "R[2,2]" in res["solvers"]["qr"]["message"] and "rank is 2 of 3" in res["solvers"]["qr"]["message"]
    assert "positive definite" in res["solvers"]["cholesky"]["message"]
    # sklearn centres X: any least-squares solution is acceptable, but it must fit exactly
    sk = res["solvers"]["sklearn"]
    assert sk["status"] == "ok" and sk["train_mse"] == pytest.approx(0.0, abs=1e-20)
    w = params_of(sk, ["w1", "w2"], True)
    assert w[0] + w[1] == pytest.approx(2.0) and w[1] + w[2] == pytest.approx(1.0)


def test_rank_deficient_duplicate_column_with_residual() -> None:
    # Both columns are a = (1, 2, 3).  Regressing y on a alone: c = a'y / a'a = (1 + 4 + 6) / 14 = 11/14;
    # the minimum-norm split over two identical columns is w1 = w2 = c / 2 = 11/28.
    # RSS = y'y - (a'y)^2 / a'a = 9 - 121/14 = 5/14, so MSE = 5/42.
    X = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    y = np.array([1.0, 2.0, 2.0])
    res = least_squares_all(X, y, intercept=False, feature_names=["a1", "a2"])
    assert_plain_json(res)
    w_true = float(Fraction(11, 28))
    assert res["rank"] == 1 and res["exact_rank"] == 1
    assert res["exact_train_mse"] == pytest.approx(5 / 42, rel=1e-15)
    for name in (
        "lstsq",
        "pinv",
        "statsmodels",
        "refined",
        "sklearn",
    ):  # no intercept: sklearn is min-norm too
        entry = res["solvers"][name]
        assert entry["status"] == "ok"
        np.testing.assert_allclose(params_of(entry, ["a1", "a2"], False), [w_true, w_true], rtol=1e-14)
        assert entry["train_mse"] == pytest.approx(5 / 42, rel=1e-13)
    assert params_of(res["solvers"]["refined"], ["a1", "a2"], False).tolist() == [w_true, w_true]
    assert res["solvers"]["qr"]["status"] == "failed" and res["solvers"]["cholesky"]["status"] == "failed"


def test_zero_column_fails_qr_and_cholesky_cleanly() -> None:
    X = np.array([[1.0, 0.0], [2.0, 0.0], [4.0, 0.0]])
    y = np.array([2.0, 4.0, 8.0])  # y = 2 x1; min-norm puts 0 on the zero column
    res = least_squares_all(X, y, intercept=False, feature_names=["x", "zero"])
    assert res["solvers"]["cholesky"]["status"] == "failed"
    assert "all zeros" in res["solvers"]["cholesky"]["message"]
    assert res["solvers"]["qr"]["status"] == "failed"
    for name in ("lstsq", "pinv", "refined"):
        np.testing.assert_allclose(
            params_of(res["solvers"][name], ["x", "zero"], False), [2.0, 0.0], atol=1e-15
        )


def test_collinear_only_up_to_rounding_does_not_use_exact_reference() -> None:
    # x3 = fl(x1 + x2): numerically rank 3 of 4, but the stored floats are exactly of full rank.  The exact
    # solution is then decided by the rounding of x3 and must not be used as the reference.
    rng = np.random.default_rng(5)
    X = rng.normal(size=(20, 2))
    X = np.column_stack([X, X[:, 0] + X[:, 1]])
    assert any(Fraction(a) + Fraction(b) != Fraction(c) for a, b, c in X)  # the sums really were rounded
    y = rng.normal(size=20)
    res = least_squares_all(X, y, intercept=True, feature_names=names(3))
    assert_plain_json(res)
    assert res["rank"] == 3 and res["exact_rank"] == 4 and res["exact_available"] is False
    refined = res["solvers"]["refined"]
    assert refined["status"] == "ok" and "exact rank 4 differs from numerical rank 3" in refined["message"]
    # the recommended answer is the minimum-norm solution of the numerically rank-3 problem (as lstsq's)
    np.testing.assert_allclose(
        params_of(refined, names(3), True), params_of(res["solvers"]["lstsq"], names(3), True), rtol=1e-10
    )
    assert all(e["correct_digits"] is None for e in res["solvers"].values())


# -------------------------------------------------------------------------------------------- ill conditioned


def collinear_design(n: int, seed: int, spread: int) -> np.ndarray:
    """Integer design: c2 = c1 + small integer noise (|noise| <= spread), c1 ~ 1e9, plus a small column."""
    rng = np.random.default_rng(seed)
    c1 = rng.integers(10**9, 2 * 10**9, size=n).astype(float)
    c2 = c1 + rng.integers(-spread, spread + 1, size=n)
    c3 = rng.integers(-50, 51, size=n).astype(float)
    return np.column_stack([c1, c2, c3])


def shifted_vandermonde(n: int, degree: int, offset: int) -> np.ndarray:
    t = np.arange(n, dtype=float) + offset
    return np.column_stack([t**k for k in range(1, degree + 1)])


@pytest.mark.parametrize(
    ("X", "beta"),
    [
        (collinear_design(30, seed=7, spread=1), [0.5, -1.25, 3.0, 2.0]),  # cond ~ 6e9
        (
            shifted_vandermonde(20, 5, 50),
            [0.5, -0.25, 0.125, 1.0, -2.0, 7.0],
        ),  # cond ~ 9e6, tiny intercept share
    ],
    ids=["collinear-cond1e10", "vandermonde"],
)
def test_ill_conditioned_exact_recovery(X: np.ndarray, beta: list[float]) -> None:
    p = X.shape[1]
    y = exact_y(design_matrix(X, True), beta)  # integer design, dyadic beta: y exact, beta is THE LS solution
    res = least_squares_all(X, y, intercept=True, feature_names=names(p))
    assert_plain_json(res)
    assert res["rank"] == p + 1 and res["exact_available"] is True
    assert res["condition_pow2_scaled"] > 1e6
    truth = np.array(beta)
    refined = res["solvers"]["refined"]
    assert digits(params_of(refined, names(p), True), truth) >= 12.0
    np.testing.assert_array_equal(params_of(refined, names(p), True), truth)  # in fact exact
    assert res["correct_digits"] >= 15.5
    # the numerical refinement alone (before the exact answer replaces it) also keeps >= 12 digits
    assert refined["numeric_correct_digits"] >= 12.0
    chol = res["solvers"]["cholesky"]
    assert chol["status"] == "failed" or digits(params_of(chol, names(p), True), truth) < 6.0
    for name in ("lstsq", "qr", "pinv", "statsmodels"):  # backward stable, but cond * eps is ~1e-7 or worse
        entry = res["solvers"][name]
        assert entry["status"] == "ok"
        assert entry["correct_digits"] < 12.0
        assert entry["correct_digits"] == pytest.approx(
            digits(params_of(entry, names(p), True), truth), abs=0.01
        )


def test_ill_conditioned_cholesky_succeeds_but_loses_digits() -> None:
    X = collinear_design(30, seed=7, spread=10_000)  # cond ~ 7e5: X'X ~ 5e11, still factorisable
    beta = [0.5, -1.25, 3.0, 2.0]
    y = exact_y(design_matrix(X, True), beta)
    res = least_squares_all(X, y, intercept=True, feature_names=names(3))
    chol = res["solvers"]["cholesky"]
    assert chol["status"] == "ok" and "normal equations" in chol["message"]
    assert chol["correct_digits"] < 6.0
    assert res["solvers"]["refined"]["correct_digits"] == 16.0


def test_ill_conditioned_large_numeric_refinement() -> None:
    # n * m = 12000 > 5000: only the numerical refinement runs; it must still recover beta and its digit
    # estimate must not be optimistic.
    X = collinear_design(3000, seed=3, spread=1)  # cond ~ 4e9
    beta = [0.5, -1.25, 3.0, 2.0]
    y = exact_y(design_matrix(X, True), beta)
    res = least_squares_all(X, y, intercept=True, feature_names=names(3))
    assert res["exact_available"] is False and res["condition_pow2_scaled"] > 1e9
    refined = res["solvers"]["refined"]
    actual = digits(params_of(refined, names(3), True), np.array(beta))
    assert actual >= 12.0
    assert res["correct_digits"] >= 12.0
    assert actual >= res["correct_digits"] - 0.5
    assert refined["refinement_steps"] >= 1
    assert res["solvers"]["cholesky"]["status"] == "failed"


def test_rank_deficient_large_numeric_min_norm() -> None:
    # Dummy-variable trap with n * m > 5000: the three dummies sum to the intercept column (exactly).
    # Constructed so the minimum-norm solution is known: with groups of equal size and y = g-effects,
    # y = 1*d0 + 2*d1 + 3*d2 is fitted exactly by (a0, a1, a2, b) = (1-b, 2-b, 3-b, b); the norm
    # (1-b)^2 + (2-b)^2 + (3-b)^2 + b^2 is minimal at 4b = 6 -> b = 1.5, so (-0.5, 0.5, 1.5, 1.5).
    g = np.tile([0, 1, 2], 700)
    X = np.column_stack([g == 0, g == 1, g == 2]).astype(float)
    y = (g + 1).astype(float)
    res = least_squares_all(X, y, intercept=True, feature_names=["d0", "d1", "d2"])
    assert_plain_json(res)
    assert res["rank"] == 3 and res["n_params"] == 4 and res["exact_available"] is False
    truth = np.array([-0.5, 0.5, 1.5, 1.5])
    feats = ["d0", "d1", "d2"]
    for name in ("lstsq", "refined"):
        np.testing.assert_allclose(params_of(res["solvers"][name], feats, True), truth, rtol=1e-12)
        assert res["solvers"][name]["train_mse"] == pytest.approx(0.0, abs=1e-24)
    actual = digits(params_of(res["solvers"]["refined"], feats, True), truth)
    assert actual >= 13.0 and actual >= res["correct_digits"] - 0.5
    # numpy.linalg.pinv and statsmodels use a fixed cutoff rcond = 1e-15; here the rounding-level singular
    # value (~1.4e-15 * sigma_max with this LAPACK) can survive it.  Whatever happens, the report must be
    # honest: either the minimum-norm answer, or a message saying it is not one / not even a least-squares
    # solution.
    for name in ("pinv", "statsmodels"):
        entry = res["solvers"][name]
        assert entry["status"] == "ok"
        w = params_of(entry, feats, True)
        if not np.allclose(w, truth, rtol=1e-10):
            assert "NOT the minimum-norm solution" in entry["message"]
            if entry["train_mse"] > 1e-20:
                assert "not a least-squares solution" in entry["message"]
                assert entry["train_mse_excess"] > 1e-6


# ------------------------------------------------------------------------------------------------ logistic


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def test_logistic_no_separation_solvers_agree_and_solve_score_equations() -> None:
    rng = np.random.default_rng(0)
    n = 400
    X = rng.normal(size=(n, 2))
    y = (rng.uniform(size=n) < sigmoid(X @ [1.0, -0.5] + 0.3)).astype(float)
    res = logistic_all(X, y, intercept=True, feature_names=["a", "b"])
    assert_plain_json(res)
    assert res["separation"] == "none" and res["mle_exists"] is True
    assert res["separating_direction"] is None
    sm, sk = res["solvers"]["statsmodels_logit"], res["solvers"]["sklearn"]
    assert sm["status"] == "ok" and sk["status"] == "ok"
    w_sm, w_sk = params_of(sm, ["a", "b"], True), params_of(sk, ["a", "b"], True)
    np.testing.assert_allclose(w_sm, w_sk, atol=1e-4)
    # the MLE solves the score equations D'(y - sigmoid(D w)) = 0 (independent check)
    D = np.column_stack([X, np.ones(n)])
    for w in (w_sm, w_sk):
        assert np.max(np.abs(D.T @ (y - sigmoid(D @ w)))) < 1e-5
    # train_bce is the mean binary cross-entropy; log-likelihood = -n * bce
    pr = sigmoid(D @ w_sm)
    bce = float(np.mean(-(y * np.log(pr) + (1 - y) * np.log(1 - pr))))
    assert sm["train_bce"] == pytest.approx(bce, rel=1e-10)
    assert sm["log_likelihood"] == pytest.approx(-n * bce, rel=1e-10)
    assert sk["train_bce"] == pytest.approx(bce, rel=1e-6)
    assert all(v is not None and v > 0 for v in sm["se"].values())


def _check_direction(res: dict, X: np.ndarray, y: np.ndarray, intercept: bool, strict: bool) -> np.ndarray:
    d = res["separating_direction"]
    names_ = param_names([f"x{j}" for j in range(X.shape[1])], intercept)
    v = np.array([d[k] for k in names_])
    margins = (2 * y - 1) * (design_matrix(X, intercept) @ v)
    if strict:
        assert np.all(margins > 0)
    else:
        assert np.all(margins >= -1e-9) and np.any(margins > 1e-6)
    return margins


def test_logistic_complete_separation() -> None:
    X = np.arange(1.0, 7.0)[:, None]
    y = np.array([0, 0, 0, 1, 1, 1], dtype=float)  # x <= 3 -> 0, x >= 4 -> 1
    res = logistic_all(X, y, intercept=True, feature_names=["x0"])
    assert_plain_json(res)
    assert res["separation"] == "complete" and res["mle_exists"] is False
    assert "does not exist" in res["message"] and "diverge" in res["message"]
    _check_direction(res, X, y, True, strict=True)
    for entry in res["solvers"].values():  # both ran, did not raise; wherever they stopped, the loss is ~0
        assert entry["status"] in ("ok", "failed") and isinstance(entry["message"], str)
        if entry["status"] == "ok":
            assert entry["train_bce"] < 1e-3 and entry["coef"]["x0"] > 5.0


def test_logistic_complete_separation_without_intercept() -> None:
    X = np.array([[1.0], [2.0], [-1.0], [-2.0]])
    y = np.array([1, 1, 0, 0], dtype=float)
    res = logistic_all(X, y, intercept=False, feature_names=["x0"])
    assert res["separation"] == "complete" and res["mle_exists"] is False
    _check_direction(res, X, y, False, strict=True)


def test_logistic_quasi_complete_separation() -> None:
    # x = 3 occurs in both classes; x < 3 -> 0 and x > 3 -> 1.  The direction (x - 3) separates with
    # equality exactly at the tied points, and no direction separates strictly.
    X = np.array([1.0, 2.0, 3.0, 3.0, 4.0, 5.0])[:, None]
    y = np.array([0, 0, 0, 1, 1, 1], dtype=float)
    res = logistic_all(X, y, intercept=True, feature_names=["x0"])
    assert_plain_json(res)
    assert res["separation"] == "quasi-complete" and res["mle_exists"] is False
    margins = _check_direction(res, X, y, True, strict=False)
    np.testing.assert_allclose(margins[2:4], 0.0, atol=1e-9)
    assert "does not exist" in res["message"]


def test_logistic_overlap_is_not_separation() -> None:
    X = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])[:, None]
    y = np.array([0, 1, 0, 1, 0, 1], dtype=float)
    res = logistic_all(X, y, intercept=True, feature_names=["x0"])
    assert res["separation"] == "none" and res["mle_exists"] is True


def test_logistic_single_class_reports_failure_without_raising() -> None:
    X = np.array([[1.0], [2.0], [3.0]])
    y = np.zeros(3)
    res = logistic_all(X, y, intercept=True, feature_names=["x0"])
    assert_plain_json(res)
    assert res["separation"] == "complete" and res["mle_exists"] is False
    sk = res["solvers"]["sklearn"]
    assert sk["status"] == "failed" and "class" in sk["message"]
    assert sk["coef"] is None and sk["train_bce"] is None


def test_logistic_rejects_non_binary_y() -> None:
    with pytest.raises(ValueError, match="binary"):
        logistic_all(np.ones((3, 1)), np.array([0.0, 1.0, 2.0]), intercept=True, feature_names=["x"])


# ------------------------------------------------------------------------------------------------ bad input


GOOD_X = np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 5.0], [4.0, 3.0]])
GOOD_Y = np.array([0.0, 1.0, 0.0, 1.0])


@pytest.mark.parametrize("fn", [least_squares_all, logistic_all], ids=["lsq", "logistic"])
@pytest.mark.parametrize(
    ("X", "y", "fnames", "pattern"),
    [
        (GOOD_X, GOOD_Y[:3], ["a", "b"], r"shape mismatch: X has 4 rows .* y has 3 entries"),
        (GOOD_X[:, 0], GOOD_Y, ["a"], r"X must be a 2-D array of shape \(n, p\); got 1-D"),
        (GOOD_X, GOOD_Y[:, None], ["a", "b"], r"y must be a 1-D array of shape \(n,\); got 2-D .*\(4, 1\)"),
        (GOOD_X[:1], GOOD_Y[:1], ["a", "b"], r"n >= 2 .* got n = 1"),
        (
            np.where(GOOD_X == 3.0, np.nan, GOOD_X),
            GOOD_Y,
            ["a", "b"],
            r"X must be finite; .*NaN.*first at index \(2, 0\)",
        ),
        (GOOD_X, np.array([0.0, 1.0, np.inf, 1.0]), ["a", "b"], r"y must be finite; .*inf"),
        (GOOD_X, GOOD_Y, ["a"], r"feature_names has 1 entries but X has p = 2 columns"),
        (GOOD_X, GOOD_Y, ["a", "a"], r"unique; duplicated: \['a'\]"),
        (GOOD_X, GOOD_Y, ["a", "intercept"], r"may not be named 'intercept'"),
        (GOOD_X.astype(str), GOOD_Y, ["a", "b"], r"X must be real numeric"),
    ],
)
def test_bad_input_messages(fn, X, y, fnames, pattern) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match=pattern):
        fn(X, y, intercept=True, feature_names=fnames)


def test_no_parameters_rejected() -> None:
    with pytest.raises(ValueError, match="no parameters"):
        least_squares_all(np.empty((3, 0)), np.ones(3), intercept=False, feature_names=[])


def test_intercept_must_be_bool() -> None:
    with pytest.raises(ValueError, match="intercept must be a bool"):
        least_squares_all(GOOD_X, GOOD_Y, intercept=1, feature_names=["a", "b"])  # type: ignore[arg-type]


def test_correct_digits_are_finite_and_bounded() -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(50, 3))
    y = rng.normal(size=50)
    res = least_squares_all(X, y, intercept=True, feature_names=names(3))
    for entry in res["solvers"].values():
        d = entry["correct_digits"]
        assert d is None or (0.0 <= d <= 16.0 and math.isfinite(d))
    assert 15.0 <= res["correct_digits"] <= 16.0


# ------------------------------------------------------------------ inference of the recommended answer


def _exact_inference(D, y):
    """Standard errors and centred R² of the stored float64 data in rational arithmetic (the reference)."""
    from fractions import Fraction

    n, m = D.shape
    A = [[Fraction(0)] * m for _ in range(m)]
    Df = [[Fraction(float(v)) for v in row] for row in D]
    yf = [Fraction(float(v)) for v in y]
    for i in range(m):
        for j in range(i, m):
            A[i][j] = A[j][i] = sum(Df[k][i] * Df[k][j] for k in range(n))
    b = [sum(Df[k][i] * yf[k] for k in range(n)) for i in range(m)]
    # Gauss-Jordan on [A | b | I]
    M = [A[i] + [b[i]] + [Fraction(int(i == j)) for j in range(m)] for i in range(m)]
    for c in range(m):
        piv = next(r for r in range(c, m) if M[r][c] != 0)
        M[c], M[piv] = M[piv], M[c]
        pv = M[c][c]
        M[c] = [v / pv for v in M[c]]
        for r in range(m):
            if r != c and M[r][c] != 0:
                f = M[r][c]
                M[r] = [a - f * bb for a, bb in zip(M[r], M[c])]
    w = [M[i][m] for i in range(m)]
    res = [yf[k] - sum(Df[k][j] * w[j] for j in range(m)) for k in range(n)]
    rss = sum(r * r for r in res)
    s2 = rss / (n - m)
    ybar = sum(yf) / n
    tss = sum((v - ybar) ** 2 for v in yf)
    return [math.sqrt(float(s2 * M[i][m + 1 + i])) for i in range(m)], float(1 - rss / tss)


def test_refined_inference_keeps_its_digits_where_statsmodels_loses_them():
    rng = np.random.default_rng(0)
    x = np.arange(1, 83, dtype=float)
    X = np.column_stack([x**k for k in range(1, 11)])  # a degree-10 polynomial in one variable, 82 rows
    y = np.sin(x / 10) + 0.01 * rng.normal(size=82)
    names = [f"x{k}" for k in range(1, 11)]
    res = least_squares_all(X, y, intercept=True, feature_names=names)
    ref, sm = res["solvers"]["refined"], res["solvers"]["statsmodels"]
    bse, r2 = _exact_inference(design_matrix(X, True), y)
    allnames = [*names, "intercept"]

    def digits(a, b):
        return min(16.0 if u == v else -math.log10(abs(u - v) / abs(v)) for u, v in zip(a, b))

    got = digits([ref["se"][k] for k in allnames], bse)
    assert got >= 7 and got >= ref["se_digits"] - 0.5  # accurate, and the claim is not an overstatement
    assert digits([ref["r2"]], [r2]) >= min(ref["r2_digits"], 12) and ref["r2_kind"] == "centred"
    assert ref["residual_sd"] > 0 and ref["residual_sd_digits"] > 10
    assert digits([sm["se"][k] for k in allnames], bse) < 2  # statsmodels' have no correct digit here ...
    assert (
        sm["agreement_with_refined"]["se_digits"] < 3 and "cannot be trusted" in sm["message"]
    )  # ... and it says so


def test_inference_without_intercept_is_uncentred():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 2))
    y = X @ np.array([2.0, -1.0]) + 0.1 * rng.normal(size=50)
    ref = least_squares_all(X, y, intercept=False, feature_names=["a", "b"])["solvers"]["refined"]
    import statsmodels.api as smapi

    fit = smapi.OLS(y, X).fit()
    assert ref["r2_kind"] == "uncentred" and ref["r2"] == pytest.approx(fit.rsquared, rel=1e-12)
    assert [ref["se"]["a"], ref["se"]["b"]] == pytest.approx(list(fit.bse), rel=1e-10)
