"""Least squares on many small datasets at once (float64, LAPACK through numpy's stacked routines).

``X`` is (m, n, d) with the ones column last, ``y`` is (m, n). Per-dataset OLS is the floor of the
seed-000 loss: no coefficient vector can have a lower in-sample MSE on the rows it was fitted to.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from reglab.linalg.lsq import rank as rank_rule
from reglab.linalg.lsq.digits import METRIC, apriori, componentwise


def _scaled_sv(R: np.ndarray) -> np.ndarray:
    """(m, d) singular values (descending) of each R factor with the rule's power-of-two column scales (a
    column's norm is the same in the design and in its R)."""
    return np.linalg.svd(R / rank_rule.pow2_of(np.linalg.norm(R, axis=1))[:, None, :], compute_uv=False)


def ranks(R: np.ndarray, n: int) -> np.ndarray:
    """(m,) each dataset's rank by the one rule (:mod:`reglab.linalg.lsq.rank`) from its R factor (m, d, d)
    of an ``n x d`` design: singular values of the scaled R above ``max(n, d) * eps * sigma_1``."""
    sv = _scaled_sv(R)
    tol = max(n, R.shape[-1]) * rank_rule.EPS * sv[:, :1]
    return np.where(sv[:, 0] > 0, np.sum(sv > tol, axis=1), 0)


def ols(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-dataset least-squares coefficients (m, d), by Householder QR of each design (no normal
    equations). A dataset the rank rule finds deficient (or with n < d) gets its minimum-norm solution
    (LAPACK gelsd at the rule's tolerance) instead of a triangular solve on a singular R."""
    m, n, d = X.shape
    if n < d:
        return np.stack([_min_norm(X[i], y[i]) for i in range(m)]) if m else np.zeros((0, d))
    Q, R = np.linalg.qr(X)  # stacked: Q (m, n, d), R (m, d, d)
    qty = np.einsum("mnd,mn->md", Q, y)
    full = ranks(R, n) == d
    beta = np.empty((m, d))
    if full.any():
        beta[full] = np.linalg.solve(R[full], qty[full][..., None])[..., 0]
    for i in np.flatnonzero(~full):
        beta[i] = _min_norm(X[i], y[i])
    return beta


def claimed_digits(X: np.ndarray, y: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """(m,) the digits each dataset's :func:`ols` claims a priori, componentwise as they are measured
    (:func:`reglab.linalg.lsq.digits.apriori` of a backward-stable QR solve -- the scaled design's
    condition and the residual's angle -- made componentwise); 0 where deficient."""
    m, n, d = X.shape
    if n < d:
        return np.zeros(m)
    R = np.linalg.qr(X, mode="r")
    sv = _scaled_sv(R)
    fit = predictions(X, beta)
    r = y - fit
    out = np.zeros(m)
    for i in np.flatnonzero(ranks(R, n) == d):
        fit_norm = float(np.linalg.norm(fit[i]))
        tan = float(np.linalg.norm(r[i])) / fit_norm if fit_norm > 0 else 0.0
        # the bound holds normwise for the scaled coefficients (column norm x coefficient), so a component
        # that is small in those units loses the difference
        scaled = beta[i] * np.linalg.norm(R[i], axis=0)
        out[i] = componentwise(apriori(float(sv[i, 0] / sv[i, -1]), tan, normal=False), scaled)
    return out


def fit_summary(X: np.ndarray, y: np.ndarray, beta: np.ndarray) -> dict[str, Any]:
    """The per-dataset fits of :func:`ols` in the result vocabulary (:mod:`reglab.linalg.lsq.result`),
    summarised over the ``m`` datasets: ``n_params``, the least ``rank`` and how many datasets are
    deficient, ``dof``, the median ``residual_sd``, the least and the median ``claimed_digits`` (nothing
    measures them against an exact answer here, so ``correct_digits`` is None) with
    ``correct_digits_metric``.

    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(size=(3, 20, 1)), np.ones((3, 20, 1))], axis=2)
    >>> y = 2.0 * X[..., 0] + rng.normal(size=(3, 20))
    >>> s = fit_summary(X, y, ols(X, y))
    >>> s["n_params"], s["rank"], s["rank_deficient_datasets"], s["dof"], s["claimed_digits_min"] > 13
    (2, 2, 0, 18, True)
    """
    m, n, d = X.shape
    rank = ranks(np.linalg.qr(X, mode="r"), n) if n >= d else np.full(m, min(n, d))
    rss = np.sum((y - predictions(X, beta)) ** 2, axis=1)
    dof = n - rank
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = np.where(dof > 0, np.sqrt(rss / np.maximum(dof, 1)), np.nan)
    digits = claimed_digits(X, y, beta)
    return {
        "datasets": int(m),
        "n_params": int(d),
        "rank": int(rank.min()) if m else d,
        "rank_deficient_datasets": int(np.sum(rank < d)),
        "dof": int(n - d),
        "residual_sd_median": float(np.nanmedian(sd)) if m and np.isfinite(sd).any() else None,
        "claimed_digits_min": float(digits.min()) if m else None,
        "claimed_digits_median": float(np.median(digits)) if m else None,
        "correct_digits": None,
        "correct_digits_metric": METRIC,
    }


def _min_norm(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.linalg.lstsq(A, b, rcond=max(A.shape) * rank_rule.EPS)[0]


def predictions(X: np.ndarray, beta: np.ndarray) -> np.ndarray:
    return np.einsum("mnd,md->mn", X, beta)


def mse(X: np.ndarray, y: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """In-sample mean squared error of each dataset (m,)."""
    r = y - predictions(X, beta)
    return np.mean(r * r, axis=1)


def floor(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The per-dataset OLS in-sample MSE (m,)."""
    return mse(X, y, ols(X, y))


def intercept_only(y: np.ndarray, d: int) -> np.ndarray:
    """beta = (0, ..., 0, mean y): predicting each dataset's mean."""
    beta = np.zeros((y.shape[0], d))
    beta[:, -1] = y.mean(axis=1)
    return beta


def gradient_steps(X: np.ndarray, y: np.ndarray, steps: int, beta0: np.ndarray | None = None) -> np.ndarray:
    """``steps`` plain gradient-descent steps on each dataset's MSE from ``beta0`` (default 0), at the
    step size 1/λmax of that dataset's Hessian (2/n) XᵀX — the largest step that is safe for every
    direction without knowing the spectrum beyond its top."""
    m, n, d = X.shape
    H = 2.0 / n * np.einsum("mni,mnj->mij", X, X)
    lam = np.linalg.eigvalsh(H)[:, -1]
    beta = np.zeros((m, d)) if beta0 is None else np.array(beta0, dtype=np.float64)
    for _ in range(steps):
        grad = 2.0 / n * np.einsum("mnd,mn->md", X, predictions(X, beta) - y)
        beta = beta - grad / lam[:, None]
    return beta


def normalize(
    X: np.ndarray, y: np.ndarray, eps: float = 1e-12
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Per-dataset standardization of the features (without the ones column) and of y.

    Returns the standardized features (m, n, d-1), the standardized y (m, n) and the statistics
    needed by :func:`unnormalize`."""
    x = X[..., :-1]
    mx, sx = x.mean(axis=1), x.std(axis=1)
    my, sy = y.mean(axis=1), y.std(axis=1)
    sx, sy = np.maximum(sx, eps), np.maximum(sy, eps)
    return (
        (x - mx[:, None, :]) / sx[:, None, :],
        (y - my[:, None]) / sy[:, None],
        {"mx": mx, "sx": sx, "my": my, "sy": sy},
    )


def unnormalize(beta_std: np.ndarray, stats: dict[str, np.ndarray]) -> np.ndarray:
    """Coefficients in raw units from standardized ones: ``beta_std`` (m, d) holds the slopes and, last,
    the intercept in standardized units (0 for least squares)."""
    slopes = beta_std[:, :-1] * stats["sy"][:, None] / stats["sx"]
    intercept = stats["my"] + stats["sy"] * beta_std[:, -1] - np.sum(slopes * stats["mx"], axis=1)
    return np.concatenate([slopes, intercept[:, None]], axis=1)
