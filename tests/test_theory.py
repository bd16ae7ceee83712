"""Tests for reglab.linalg.theory against references built independently of the code under test.

References: designs with prescribed singular values (A = U diag(s) V' from random orthogonal factors), a
float64 gradient-descent loop written here, numpy's lstsq / matrix_rank, exact rational arithmetic and
hand-computable averages.  No expected number is copied from the module's own output.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pytest

from reglab.linalg.theory import (
    Spectrum,
    float_floor,
    gd_loss_curve,
    hessian_spectrum,
    implicit_bias_limit,
    polyak_average,
    predicted_gd_steps,
    relative_coef_error,
)

# ------------------------------------------------------------------------------------------------ helpers


def orthogonal(rng: np.random.Generator, m: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((m, m)))
    return q * np.sign(np.diag(r))


def design_with_singular_values(rng: np.random.Generator, n: int, p: int, s: list[float]) -> np.ndarray:
    """A (n, p) = U diag(s) V' with U, V random orthogonal and len(s) == min(n, p)."""
    S = np.zeros((n, p))
    S[np.arange(len(s)), np.arange(len(s))] = s
    return orthogonal(rng, n) @ S @ orthogonal(rng, p).T


def simulate_gd(
    A: np.ndarray, b: np.ndarray, w0: np.ndarray, eta: float, steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """Literal float64 GD on mean((A w - b)^2): returns losses (steps + 1,) for k = 0..steps and iterates."""
    n = A.shape[0]
    w = w0.astype(np.float64).copy()
    losses = [np.mean((A @ w - b) ** 2)]
    ws = [w.copy()]
    for _ in range(steps):
        w = w - eta * (2.0 / n) * (A.T @ (A @ w - b))
        losses.append(np.mean((A @ w - b) ** 2))
        ws.append(w.copy())
    return np.array(losses), np.array(ws)


@pytest.fixture(scope="module")
def full_rank_problem() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """30 x 3, singular values 6, 3, 1 (condition number of H = 36), inconsistent (L* > 0)."""
    rng = np.random.default_rng(11)
    A = design_with_singular_values(rng, 30, 3, [6.0, 3.0, 1.0])
    b = A @ np.array([1.0, -2.0, 0.5]) + 0.3 * rng.standard_normal(30)
    return A, b, rng.standard_normal(3)


@pytest.fixture(scope="module")
def underdetermined_problem() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """5 x 8, singular values 3 .. 1, consistent (L* = 0), null space of dimension 3."""
    rng = np.random.default_rng(12)
    A = design_with_singular_values(rng, 5, 8, [3.0, 2.5, 2.0, 1.5, 1.0])
    return A, rng.standard_normal(5), rng.standard_normal(8)


# ------------------------------------------------------------------------------------------------ spectrum


def test_spectrum_known_singular_values() -> None:
    rng = np.random.default_rng(0)
    n, s = 9, np.array([5.0, 2.0, 0.5, 0.25])
    A = design_with_singular_values(rng, n, 4, list(s))
    sp = hessian_spectrum(A)
    assert isinstance(sp, Spectrum)
    np.testing.assert_allclose(sp.eigenvalues, 2 * s**2 / n, rtol=1e-12)
    assert sp.rank == 4
    assert sp.lambda_max == pytest.approx(2 * 25 / n, rel=1e-12)
    assert sp.lambda_min_nonzero == pytest.approx(2 * 0.0625 / n, rel=1e-12)
    assert sp.condition_number == pytest.approx((5.0 / 0.25) ** 2, rel=1e-11)
    assert sp.stability_limit == pytest.approx(2.0 / (2 * 25 / n), rel=1e-12)
    assert np.all(np.diff(sp.eigenvalues) <= 0)
    d = sp.as_dict()
    assert json.loads(json.dumps(d))["rank"] == 4
    assert len(d["eigenvalues"]) == 4


def test_spectrum_rank_deficient_counts_rank() -> None:
    rng = np.random.default_rng(1)
    n = 8
    A = design_with_singular_values(rng, n, 5, [4.0, 1.0, 0.0, 0.0, 0.0])  # rounding leaves ~1e-16 "zeros"
    sp = hessian_spectrum(A)
    assert sp.rank == 2 == np.linalg.matrix_rank(A)
    assert sp.lambda_min_nonzero == pytest.approx(2 * 1.0 / n, rel=1e-12)
    assert np.all(sp.eigenvalues[2:] <= sp.tol)
    # exactly collinear columns (third = first + second, all small integers)
    B = np.array([[1.0, 2.0, 3.0], [0.0, 1.0, 1.0], [2.0, 0.0, 2.0], [1.0, 1.0, 2.0]])
    assert hessian_spectrum(B).rank == 2
    # a huge rtol declares everything but the top singular value zero
    assert hessian_spectrum(A, rtol=0.5).rank == 1


def test_spectrum_wide_design_pads_exact_zeros() -> None:
    rng = np.random.default_rng(2)
    A = design_with_singular_values(rng, 3, 5, [3.0, 2.0, 1.0])
    sp = hessian_spectrum(A)
    assert sp.eigenvalues.shape == (5,)
    np.testing.assert_allclose(sp.eigenvalues[:3], 2 * np.array([9.0, 4.0, 1.0]) / 3, rtol=1e-12)
    assert np.all(sp.eigenvalues[3:] == 0.0)
    assert sp.rank == 3


def test_spectrum_zero_design_is_json_safe() -> None:
    sp = hessian_spectrum(np.zeros((4, 2)))
    assert sp.rank == 0 and sp.lambda_max == 0.0 and math.isinf(sp.stability_limit)
    d = json.loads(json.dumps(sp.as_dict()))
    assert d["stability_limit"] is None and d["condition_number"] is None


def test_spectrum_validation() -> None:
    with pytest.raises(ValueError, match="2-D"):
        hessian_spectrum(np.ones(3))
    with pytest.raises(ValueError, match="finite"):
        hessian_spectrum(np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match="rtol"):
        hessian_spectrum(np.eye(2), rtol=-1.0)


# ------------------------------------------------------------------------------------------------ loss curve


@pytest.mark.parametrize(
    "factor", [1.0, 1.9, 0.3]
)  # eta = factor / lambda_max; 1.9 makes the top mode oscillate
@pytest.mark.parametrize("problem", ["full_rank_problem", "underdetermined_problem"])
def test_gd_loss_curve_matches_simulation(
    problem: str, factor: float, request: pytest.FixtureRequest
) -> None:
    A, b, w0 = request.getfixturevalue(problem)
    eta = factor / (2 * np.linalg.norm(A, 2) ** 2 / A.shape[0])
    sim, _ = simulate_gd(A, b, w0, eta, 400)
    ks = np.arange(401)
    pred = gd_loss_curve(A, b, w0, eta, ks)
    assert pred.shape == (401,)
    # compare while the simulated loss is well above its float64 rounding floor (the consistent problem decays
    # to 0)
    ok = sim > 1e-12 * sim[0]
    assert ok.sum() > 50
    np.testing.assert_allclose(pred[ok], sim[ok], rtol=1e-9)
    assert pred[0] == pytest.approx(np.mean((A @ w0 - b) ** 2), rel=1e-13)
    # shape preserved for 2-D step arrays
    assert gd_loss_curve(A, b, w0, eta, ks[:6].reshape(2, 3)).shape == (2, 3)


def test_gd_loss_curve_unstable_step_grows_like_simulation(full_rank_problem) -> None:
    A, b, w0 = full_rank_problem
    eta = 2.2 / (2 * np.linalg.norm(A, 2) ** 2 / A.shape[0])  # |1 - eta lambda_max| = 1.2
    sim, _ = simulate_gd(A, b, w0, eta, 60)
    pred = gd_loss_curve(A, b, w0, eta, np.arange(61))
    np.testing.assert_allclose(pred, sim, rtol=1e-9)
    assert pred[-1] > 100 * pred[0]


def test_gd_loss_curve_limit_is_least_squares_minimum(full_rank_problem) -> None:
    A, b, w0 = full_rank_problem
    w_ls = np.linalg.lstsq(A, b, rcond=None)[0]
    L_star = np.mean((A @ w_ls - b) ** 2)
    eta = 1.0 / (2 * np.linalg.norm(A, 2) ** 2 / A.shape[0])
    assert gd_loss_curve(A, b, w0, eta, np.array([10**8]))[0] == pytest.approx(L_star, rel=1e-12)


# -------------------------------------------------------------------------------------------- predicted steps


def first_below(values: np.ndarray, tol: float) -> int | None:
    hits = np.flatnonzero(values <= tol)
    return int(hits[0]) if hits.size else None


def assert_step_matches(pred: int | None, values: np.ndarray, tol: float) -> None:
    sim = first_below(values, tol)
    assert pred is not None and sim is not None
    if pred != sim:  # allowed only at a boundary tie: the simulated value is within rounding of tol
        assert abs(pred - sim) == 1
        k = min(pred, sim)
        assert values[k] == pytest.approx(tol, rel=1e-9) or values[k + 1] == pytest.approx(tol, rel=1e-9)


@pytest.mark.parametrize("problem", ["full_rank_problem", "underdetermined_problem"])
def test_predicted_steps_match_simulation(problem: str, request: pytest.FixtureRequest) -> None:
    A, b, w0 = request.getfixturevalue(problem)
    n = A.shape[0]
    eta = 1.0 / (2 * np.linalg.norm(A, 2) ** 2 / n)
    steps = 600
    sim, ws = simulate_gd(A, b, w0, eta, steps)
    w_ls = np.linalg.lstsq(A, b, rcond=None)[0]
    L_star = np.mean((A @ w_ls - b) ** 2)
    excess = np.mean(((ws - w_ls) @ A.T) ** 2, axis=1)  # (1/n)||A (w_k - w*)||^2, no cancellation
    for frac in [0.9, 0.5, 1e-2, 1e-4, 1e-6, 1e-8]:
        tol_loss = L_star + frac * (sim[0] - L_star)
        assert_step_matches(predicted_gd_steps(A, b, w0, eta, tol_loss), sim, tol_loss)
        tol_ex = frac * excess[0]
        assert_step_matches(predicted_gd_steps(A, b, w0, eta, tol_ex, kind="excess_loss"), excess, tol_ex)
    # already below tol at the start, and a tol that is never reached
    assert predicted_gd_steps(A, b, w0, eta, 2 * sim[0]) == 0
    if L_star > 0:
        assert predicted_gd_steps(A, b, w0, eta, 0.5 * L_star) is None
    # the search range is respected
    tol = L_star + 1e-6 * (sim[0] - L_star)
    k = first_below(sim, tol)
    assert predicted_gd_steps(A, b, w0, eta, tol, max_steps=k - 2) is None


def test_predicted_steps_unstable_step(full_rank_problem) -> None:
    """eta > 2/lambda_max: GD diverges.  The answer is the first simulated step at or below tol -- None when
    the loss never gets there before blowing up (once the simulated loss exceeds its start and keeps growing,
    the convex loss sequence cannot come back)."""
    A, b, w0 = full_rank_problem
    lam_max = 2 * np.linalg.norm(A, 2) ** 2 / A.shape[0]
    L0 = np.mean((A @ w0 - b) ** 2)
    nones = 0
    for factor in [2.05, 3.0]:
        sim, _ = simulate_gd(A, b, w0, factor / lam_max, 300)
        assert sim[-1] > 10 * L0 and sim[-1] > sim[-2]
        for tol in [0.5 * L0, 1e-3 * L0]:
            pred = predicted_gd_steps(A, b, w0, factor / lam_max, tol)
            if first_below(sim, tol) is None:
                assert pred is None
                nones += 1
            else:
                assert_step_matches(pred, sim, tol)
    assert nones >= 2  # the reference really exercises the "never" branch


def test_predicted_steps_unstable_but_dips_first() -> None:
    """With an unstable step whose growing mode starts tiny, the loss first falls, then blows up: the answer
    is the first simulated step below tol (the loss is convex in k), not None."""
    A = np.diag([1.0, 10.0])  # n = 2, lambda = 1, 100
    b = np.zeros(2)
    w0 = np.array([1.0, 1e-14])
    eta = 2.1 / 100.0  # factor for the top mode: 1 - 2.1 = -1.1
    sim, _ = simulate_gd(A, b, w0, eta, 400)
    kmin = int(np.argmin(sim))
    assert 0 < kmin < 400 and sim[-1] > sim[0]
    tol = 1e-3 * sim[0]
    assert sim[kmin] < tol
    assert_step_matches(predicted_gd_steps(A, b, w0, eta, tol), sim, tol)
    assert predicted_gd_steps(A, b, w0, eta, 0.1 * sim[kmin]) is None


def test_predicted_steps_validation(full_rank_problem) -> None:
    A, b, w0 = full_rank_problem
    with pytest.raises(ValueError, match="kind"):
        predicted_gd_steps(A, b, w0, 0.1, 1.0, kind="grad")
    with pytest.raises(ValueError, match="eta"):
        predicted_gd_steps(A, b, w0, 0.0, 1.0)
    with pytest.raises(ValueError, match="tol"):
        predicted_gd_steps(A, b, w0, 0.1, -1.0)
    with pytest.raises(ValueError, match="b must"):
        predicted_gd_steps(A, b[:-1], w0, 0.1, 1.0)
    with pytest.raises(ValueError, match="steps"):
        gd_loss_curve(A, b, w0, 0.1, np.array([-1]))


# ---------------------------------------------------------------------------------------------- implicit bias


def test_implicit_bias_limit_is_where_gd_goes(underdetermined_problem) -> None:
    A, b, w0 = underdetermined_problem
    eta = 1.0 / (2 * np.linalg.norm(A, 2) ** 2 / A.shape[0])
    _, ws = simulate_gd(A, b, w0, eta, 800)  # slowest mode factor 1 - 1/9 -> error 1e-41 of the start
    limit = implicit_bias_limit(A, b, w0)
    np.testing.assert_allclose(ws[-1], limit, atol=1e-8, rtol=0)
    np.testing.assert_allclose(A @ limit, b, atol=1e-12)  # consistent system: the limit interpolates
    # GD never moves in the null space: the limit keeps w0's null-space part
    _, _, Vt = np.linalg.svd(A)
    null = Vt[5:]
    np.testing.assert_allclose(null @ limit, null @ w0, atol=1e-12)


def test_implicit_bias_limit_from_zero_is_lstsq(underdetermined_problem, full_rank_problem) -> None:
    for A, b, _ in (underdetermined_problem, full_rank_problem):
        np.testing.assert_allclose(
            implicit_bias_limit(A, b, np.zeros(A.shape[1])),
            np.linalg.lstsq(A, b, rcond=None)[0],
            rtol=1e-12,
            atol=1e-14,
        )


# ------------------------------------------------------------------------------------------------ float floor


def test_float_floor_float32_consistent_problem() -> None:
    rng = np.random.default_rng(5)
    A = design_with_singular_values(rng, 40, 3, [8.0, 4.0, 2.0])
    w_true = np.array([1.0 / 3.0, -2.0 / 7.0, 5.0 / 11.0])  # not representable in float32
    b = A @ w_true
    w_exact = np.linalg.lstsq(A, b, rcond=None)[0]
    out = float_floor(A, b, w_exact, "float32")
    # independent value: L(w_r) = L(w*) + (1/n)||A (w_r - w*)||^2 at a least-squares solution w*
    w_r = np.array([float(np.float32(v)) for v in w_exact])
    expected = np.mean((A @ w_exact - b) ** 2) + np.mean((A @ (w_r - w_exact)) ** 2)
    assert out["loss_exact_rounded"] == pytest.approx(expected, rel=1e-6)
    assert out["loss_exact_rounded"] > 0
    # storing the weights in float32 costs ~1e-15 of loss; the float64 solution's own loss is ~1e-31
    assert out["loss_exact_rounded"] > 1e8 * max(out["loss_exact"], 1e-300)
    assert out["loss_exact"] < 1e-25
    # float32 evaluation: rounding of a residual of size |b| ~ 1 at eps32 ~ 1e-7 -> loss ~ 1e-15 .. 1e-12
    assert 1e-18 < out["loss_evaluated_in_dtype"] < 1e-10
    assert out["dtype"] == "float32" and out["eps"] == float(np.finfo(np.float32).eps)
    # in float64 nothing changes when the solution is stored
    out64 = float_floor(A, b, w_exact, "float64")
    assert out64["loss_exact_rounded"] == out64["loss_exact"]


def test_float_floor_dtype_evaluation_exact_case() -> None:
    """Small integers and dyadic weights: every float32 operation is exact, so the float32-evaluated loss must
    equal the rational value."""
    A = np.array([[1.0, 2.0], [3.0, -1.0], [0.0, 4.0], [-2.0, 1.0]])
    b = np.array([1.0, 0.0, 2.0, 3.0])
    w = np.array([0.5, 0.25])
    exact = (
        sum(
            (Fraction(a0) * Fraction(w[0]) + Fraction(a1) * Fraction(w[1]) - Fraction(bb)) ** 2
            for (a0, a1), bb in zip(A, b)
        )
        / 4
    )
    out = float_floor(A, b, w, "float32")
    assert out["loss_evaluated_in_dtype"] == float(exact)
    assert out["loss_exact"] == float(exact) == out["loss_exact_rounded"]


def test_float_floor_dtype_evaluation_sequential_reference() -> None:
    """Against a float32 evaluation written here with scalar np.float32 arithmetic (sequential sums: agrees to
    float32 rounding, the summation order being different)."""
    rng = np.random.default_rng(6)
    A = rng.standard_normal((25, 3))
    b = rng.standard_normal(25)
    w = rng.standard_normal(3)
    f = np.float32
    A32, b32, w32 = A.astype(f), b.astype(f), w.astype(f)
    total = f(0)
    for i in range(25):
        pred = f(0)
        for j in range(3):
            pred = f(pred + f(A32[i, j] * w32[j]))
        r = f(pred - b32[i])
        total = f(total + f(r * r))
    ref = float(f(total / f(25)))
    assert float_floor(A, b, w, "float32")["loss_evaluated_in_dtype"] == pytest.approx(ref, rel=25 * 2e-7 * 4)


def test_float_floor_validation() -> None:
    with pytest.raises(ValueError, match="floating"):
        float_floor(np.eye(2), np.ones(2), np.ones(2), "int32")
    with pytest.raises(ValueError, match="w_exact"):
        float_floor(np.eye(2), np.ones(2), np.ones(3))


# ---------------------------------------------------------------------------------------------- small helpers


def test_relative_coef_error() -> None:
    assert relative_coef_error(np.array([3.3, 4.4]), np.array([3.0, 4.0])) == pytest.approx(0.1, rel=1e-12)
    assert relative_coef_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    with pytest.raises(ValueError, match="zero reference"):
        relative_coef_error(np.ones(2), np.zeros(2))
    with pytest.raises(ValueError, match="same length"):
        relative_coef_error(np.ones(2), np.ones(3))


def test_polyak_average() -> None:
    it = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, 40.0], [5.0, 50.0]])
    np.testing.assert_array_equal(polyak_average(it), [3.0, 30.0])
    np.testing.assert_array_equal(
        polyak_average(it, tail=True), [4.0, 40.0]
    )  # rows 3, 4, 5 (T // 2 = 2 onward)
    np.testing.assert_array_equal(polyak_average(it[:1], tail=True), [1.0, 10.0])
    with pytest.raises(ValueError, match="T, p"):
        polyak_average(np.ones(3))
