"""Tests for reglab.linalg.reference_solvers against independent references: numpy lstsq, scipy's LSQR,
literal loops written here, scikit-learn's own ``fit``, and counting arguments for sampling without
replacement."""

from __future__ import annotations

import json
import math
import warnings
from collections import Counter
from itertools import combinations

import numpy as np
import pytest
from scipy.sparse.linalg import lsqr

from reglab.linalg.lsq.design import design_matrix
from reglab.linalg.reference_solvers import (
    WEIGHTS_MAX_P,
    SolverTrace,
    article_gd,
    article_sgd,
    conjugate_gradient,
    gradient_descent,
    keras_lr_to_sklearn_eta0,
    lbfgs,
    log_steps,
    one_over_L,
    sgd_numpy,
    sklearn_sgd,
)

# ------------------------------------------------------------------------------------------------ fixtures


def lstsq(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.linalg.lstsq(A, b, rcond=None)[0]


def mse(A: np.ndarray, b: np.ndarray, w: np.ndarray) -> float:
    return float(np.mean((A @ w - b) ** 2))


@pytest.fixture(scope="module")
def problem() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Well-conditioned 40 x 4 design (3 standard-normal features + intercept), noisy target."""
    rng = np.random.default_rng(21)
    X = rng.standard_normal((40, 3))
    y = X @ np.array([1.5, -0.7, 0.3]) + 2.0 + 0.2 * rng.standard_normal(40)
    return X, y, design_matrix(X, True)


def check_trace(tr: SolverTrace, A: np.ndarray, b: np.ndarray) -> None:
    """Structural invariants shared by all solvers, with losses recomputed here from the logged weights."""
    k = tr.steps.size
    assert tr.losses.shape == (k,) and tr.seconds.shape == (k,)
    assert np.all(np.diff(tr.steps) > 0) and tr.steps[0] >= 1
    assert np.all(np.diff(tr.seconds) >= 0)
    if A.shape[1] <= WEIGHTS_MAX_P:
        assert tr.weights is not None and tr.weights.shape == (k, A.shape[1])
        recomputed = np.array([mse(A, b, w) for w in tr.weights])
        np.testing.assert_allclose(tr.losses, recomputed, rtol=1e-12)
    json.dumps(tr.as_dict())


# ------------------------------------------------------------------------------------------------ logging


def test_log_steps() -> None:
    np.testing.assert_array_equal(log_steps(7), np.arange(1, 8))
    pts = log_steps(100_000, 2000)
    assert pts[0] == 1 and pts[-1] == 100_000 and pts.size <= 2000 and np.all(np.diff(pts) > 0)
    assert pts.size > 1000  # log spacing keeps most of the budget
    np.testing.assert_array_equal(log_steps(50, 1), [50])
    assert log_steps(0).size == 0
    with pytest.raises(ValueError, match="max_logged"):
        log_steps(10, 0)


# ------------------------------------------------------------------------------------------------ full batch


def test_one_over_L(problem) -> None:
    _, _, A = problem
    lam_max = np.linalg.eigvalsh(2 * A.T @ A / A.shape[0])[-1]
    assert one_over_L(A) == pytest.approx(1 / lam_max, rel=1e-12)


def test_gradient_descent_reaches_lstsq_and_matches_literal_loop(problem) -> None:
    _, y, A = problem
    w0 = np.zeros(4)
    eta = one_over_L(A)
    tr = gradient_descent(A, y, w0, eta, 3000)
    check_trace(tr, A, y)
    assert tr.steps.size == 2000 and tr.steps[-1] == 3000  # log-spaced beyond max_logged
    np.testing.assert_allclose(tr.w_final, lstsq(A, y), rtol=1e-10)
    assert np.all(np.diff(tr.losses) <= 1e-12 * tr.losses[0])  # eta <= 2/L: monotone
    # literal loop, 25 steps, every step logged
    w = w0.copy()
    for _ in range(25):
        w = w - eta * (2 / 40) * A.T @ (A @ w - y)
    short = gradient_descent(A, y, w0, eta, 25)
    np.testing.assert_array_equal(short.steps, np.arange(1, 26))
    np.testing.assert_allclose(short.w_final, w, rtol=1e-13)
    gram = gradient_descent(A, y, w0, eta, 25, form="gram")
    np.testing.assert_allclose(gram.w_final, w, rtol=1e-11)


def test_gradient_descent_divergence_stops(problem) -> None:
    _, y, A = problem
    tr = gradient_descent(A, y, np.zeros(4), 2.5 * one_over_L(A), 100_000)
    assert tr.extra["diverged"] and tr.extra["diverged_step"] == tr.steps[-1] < 100_000
    assert not np.isfinite(tr.w_final).all()


def test_gradient_descent_many_parameters_no_weights() -> None:
    rng = np.random.default_rng(3)
    A = rng.standard_normal((80, WEIGHTS_MAX_P + 10)) / 10
    b = rng.standard_normal(80)
    tr = gradient_descent(A, b, np.zeros(A.shape[1]), one_over_L(A), 30)
    assert tr.weights is None and tr.losses.size == 30
    assert tr.losses[-1] == pytest.approx(mse(A, b, tr.w_final), rel=1e-12)


def test_conjugate_gradient_matches_lsqr_and_converges(problem) -> None:
    _, y, A = problem
    tr = conjugate_gradient(A, y, 10)
    check_trace(tr, A, y)
    # CGLS and LSQR produce the same Krylov iterates in exact arithmetic
    for k in range(1, 5):
        x_k = lsqr(A, y, atol=0, btol=0, conlim=0, iter_lim=k)[0]
        np.testing.assert_allclose(tr.weights[k - 1], x_k, rtol=1e-8)
    # p = 4 parameters: solved after 4 iterations up to rounding
    np.testing.assert_allclose(tr.weights[3], lstsq(A, y), rtol=1e-10)
    np.testing.assert_allclose(tr.w_final, lstsq(A, y), rtol=1e-10)


def test_conjugate_gradient_underdetermined_gives_min_norm() -> None:
    rng = np.random.default_rng(4)
    A = rng.standard_normal((5, 8))
    b = rng.standard_normal(5)
    tr = conjugate_gradient(A, b, 40)
    np.testing.assert_allclose(tr.w_final, lstsq(A, b), rtol=1e-8, atol=1e-10)


def test_lbfgs_reaches_lstsq(problem) -> None:
    _, y, A = problem
    tr = lbfgs(A, y, np.zeros(4), 200)
    check_trace(tr, A, y)
    assert tr.steps[-1] == tr.extra["nit"]
    np.testing.assert_allclose(tr.w_final, lstsq(A, y), rtol=1e-7)
    assert tr.losses[-1] == pytest.approx(mse(A, y, lstsq(A, y)), rel=1e-12)


# ------------------------------------------------------------------------------------------------ SGD


def test_sgd_numpy_equals_literal_keras_loop() -> None:
    rng0 = np.random.default_rng(8)
    A = rng0.standard_normal((10, 3))
    b = rng0.standard_normal(10)
    w0 = rng0.standard_normal(3)
    eta, bs, epochs = 0.05, 4, 6  # 10 rows -> batches of 4, 4, 2 (last partial batch kept)
    tr = sgd_numpy(A, b, w0, eta, bs, epochs, np.random.default_rng(99), averaging=True)
    check_trace(tr, A, b)
    assert tr.extra["steps_per_epoch"] == 3
    g = np.random.default_rng(99)
    w = w0.copy()
    iterates, per_epoch = [], []
    for _ in range(epochs):
        perm = g.permutation(10)
        for start in range(0, 10, bs):
            idx = perm[start : start + bs]
            w = w - eta * (2 / len(idx)) * A[idx].T @ (A[idx] @ w - b[idx])
            iterates.append(w.copy())
        per_epoch.append(w.copy())
    np.testing.assert_allclose(tr.weights, np.array(per_epoch), rtol=1e-13)
    its = np.array(iterates)  # 18 iterates
    np.testing.assert_allclose(tr.extra["w_polyak"], its.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(tr.extra["w_tail"], its[9:].mean(axis=0), rtol=1e-12)
    assert tr.extra["loss_tail"] == pytest.approx(mse(A, b, its[9:].mean(axis=0)), rel=1e-12)
    np.testing.assert_allclose(tr.extra["losses_polyak"][-1], tr.extra["loss_polyak"], rtol=1e-12)
    plain = sgd_numpy(A, b, w0, eta, bs, epochs, np.random.default_rng(99), averaging=False)
    np.testing.assert_array_equal(plain.w_final, tr.w_final)
    assert "w_polyak" not in plain.extra


def test_sgd_numpy_interpolation_reaches_solution() -> None:
    """Consistent data (b = A w*): every per-sample gradient vanishes at w*, so constant-step SGD
    converges."""
    rng = np.random.default_rng(9)
    A = design_matrix(rng.standard_normal((30, 2)), True)
    w_star = np.array([0.5, -1.0, 2.0])
    tr = sgd_numpy(A, A @ w_star, np.zeros(3), 0.05, 5, 300, np.random.default_rng(1))
    np.testing.assert_allclose(tr.w_final, w_star, rtol=1e-8)


def test_sgd_numpy_tail_average_beats_last_iterate(problem) -> None:
    """Noisy data and a fixed step: the iterates do not converge but fluctuate around w* with a spread of
    order sqrt(eta); averaging the second half of many weakly correlated iterates cancels most of that noise,
    so the tail average lands much closer to w* than the last iterate (asserted for one fixed seed)."""
    X, y, A = problem
    y_noisy = y + 1.0 * np.random.default_rng(5).standard_normal(y.size)
    w_star = lstsq(A, y_noisy)
    tr = sgd_numpy(A, y_noisy, np.zeros(4), 0.05, 1, 200, np.random.default_rng(2024))
    err_last = np.linalg.norm(tr.w_final - w_star)
    err_tail = np.linalg.norm(tr.extra["w_tail"] - w_star)
    assert err_tail < 0.5 * err_last
    assert tr.extra["loss_tail"] < tr.losses[-1]


def test_sklearn_sgd_first_epoch_is_sklearn_fit_and_order(problem) -> None:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import SGDRegressor

    X, y, A = problem
    tr = sklearn_sgd(X, y, intercept=True, eta0=0.01, epochs=1, rng_seed=7, average=False)
    est = SGDRegressor(
        loss="squared_error",
        penalty=None,
        learning_rate="constant",
        eta0=0.01,
        average=False,
        max_iter=1,
        tol=None,
        shuffle=True,
        random_state=7,
        fit_intercept=True,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter=1 may warn
        est.fit(X, y)
    np.testing.assert_allclose(tr.w_final, np.r_[est.coef_, est.intercept_], rtol=1e-14)


def test_sklearn_sgd_converges_and_averages(problem) -> None:
    """The last iterate hovers within O(sqrt(eta0) * noise) of w*.  sklearn averages from the very first
    update, so the average carries the start-up transient with weight ~ (transient length) / (number of
    updates): a bias shrinking like 1/epochs (here ~0.05 after 100 epochs, ~0.02 after 300)."""
    X, y, A = problem
    w_star = lstsq(A, y)
    tr = sklearn_sgd(X, y, intercept=True, eta0=0.01, epochs=300, rng_seed=3, average=True)
    check_trace(tr, A, y)
    assert tr.w_final.shape == (4,)
    assert np.abs(tr.extra["w_last_iterate"] - w_star).max() < 0.01
    err_300 = np.abs(tr.w_final - w_star).max()
    assert err_300 < 0.03
    short = sklearn_sgd(X, y, intercept=True, eta0=0.01, epochs=100, rng_seed=3, average=True)
    assert np.abs(short.w_final - w_star).max() > 2 * err_300  # ~1/epochs bias of from-the-start averaging
    no_icpt = sklearn_sgd(X, y - 2.0, intercept=False, eta0=0.002, epochs=5, rng_seed=3)
    assert no_icpt.w_final.shape == (3,)


def test_sklearn_eta0_conversion_is_keras_batch_one_step() -> None:
    """sklearn's squared_error is (1/2)(p - y)^2: one unshuffled epoch with eta0 = 2 lr equals a literal Keras
    batch-size-1 SGD epoch on the MSE with learning rate lr."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import SGDRegressor

    rng = np.random.default_rng(10)
    X = rng.standard_normal((12, 2))
    y = rng.standard_normal(12)
    lr = 0.03
    est = SGDRegressor(
        loss="squared_error",
        penalty=None,
        learning_rate="constant",
        eta0=keras_lr_to_sklearn_eta0(lr),
        max_iter=1,
        tol=None,
        shuffle=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter=1 may warn
        est.fit(X, y)
    A = design_matrix(X, True)
    w = np.zeros(3)
    for i in range(12):
        w = w - lr * 2 * (A[i] @ w - y[i]) * A[i]
    np.testing.assert_allclose(np.r_[est.coef_, est.intercept_], w, rtol=1e-12)


# ------------------------------------------------------------------------------------------------ the article


def test_article_gd_equals_literal_loop_and_converges(problem) -> None:
    _, y, A = problem
    w0 = np.array([0.1, -0.2, 0.3, 0.0])
    eta = 0.2 / np.linalg.norm(A, 2) ** 2  # stable for the sum loss: eta < 1 / s_max^2
    tr = article_gd(A, y, w0, eta, 60)
    check_trace(tr, A, y)
    X = A.T  # the article's (d, n) layout: features as rows, ones row last
    w = w0.copy()
    for _ in range(60):
        w = w - eta * (2 * X @ X.T @ w - 2 * X @ y)
    np.testing.assert_allclose(tr.w_final, w, rtol=1e-12)
    long = article_gd(A, y, w0, eta, 5000)
    np.testing.assert_allclose(long.w_final, lstsq(A, y), rtol=1e-10)


def test_article_sgd_full_batch_is_article_gd(problem) -> None:
    _, y, A = problem
    n = A.shape[0]
    eta = 0.2 / np.linalg.norm(A, 2) ** 2
    sgd = article_sgd(A, y, np.zeros(4), eta, n, 40, np.random.default_rng(0))
    gd = article_gd(A, y, np.zeros(4), eta, 40)
    np.testing.assert_allclose(sgd.w_final, gd.w_final, rtol=1e-12)
    np.testing.assert_allclose(sgd.losses, gd.losses, rtol=1e-12)


@pytest.mark.parametrize(
    "n,k,sampler",
    [(20, 2, "floyd"), (15, 3, "fisher-yates"), (20, 18, "fisher-yates"), (10, 4, "argpartition")],
)
def test_article_sgd_batches_without_replacement_uniform(n: int, k: int, sampler: str) -> None:
    rng0 = np.random.default_rng(30)
    A = rng0.standard_normal((n, 2))
    b = rng0.standard_normal(n)
    T = 12_000
    eta = 0.01
    tr = article_sgd(A, b, np.zeros(2), eta, k, T, np.random.default_rng(31), record_batches=True)
    assert tr.extra["sampler"] == sampler
    B = tr.extra["batches"]
    assert B.shape == (T, k)
    assert B.min() >= 0 and B.max() < n
    assert all(len(set(row)) == k for row in B.tolist())  # no repeats within a step
    subsets = list(combinations(range(n), k))
    counts = Counter(tuple(sorted(row)) for row in B.tolist())
    assert set(counts) == set(subsets)
    expected = T / len(subsets)
    sd = math.sqrt(expected * (1 - 1 / len(subsets)))
    assert max(abs(c - expected) for c in counts.values()) < 5 * sd  # uniform over k-subsets
    # the trajectory is the article's update on those batches (literal loop)
    w = np.zeros(2)
    its = []
    for row in B:
        Xb = A[row].T
        w = w - eta * (2 * Xb @ Xb.T @ w - 2 * Xb @ b[row])
        its.append(w)
    np.testing.assert_allclose(tr.w_final, w, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(tr.extra["w_polyak"], np.mean(its, axis=0), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(tr.extra["w_tail"], np.mean(its[T // 2 :], axis=0), rtol=1e-9, atol=1e-12)


def test_article_sgd_deterministic_and_validates(problem) -> None:
    _, y, A = problem
    a = article_sgd(A, y, np.zeros(4), 1e-3, 10, 500, np.random.default_rng(5))
    b = article_sgd(A, y, np.zeros(4), 1e-3, 10, 500, np.random.default_rng(5))
    np.testing.assert_array_equal(a.w_final, b.w_final)
    check_trace(a, A, y)
    with pytest.raises(ValueError, match="exceeds"):
        article_sgd(A, y, np.zeros(4), 1e-3, 41, 5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="Generator"):
        article_sgd(A, y, np.zeros(4), 1e-3, 10, 5, 123)
    with pytest.raises(ValueError, match="eta"):
        article_gd(A, y, np.zeros(4), -1.0, 5)
    with pytest.raises(ValueError, match="w0"):
        sgd_numpy(A, y, np.zeros(3), 0.1, 4, 2, np.random.default_rng(0))
