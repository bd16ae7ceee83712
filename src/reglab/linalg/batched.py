"""Least squares on many small datasets at once (float64, LAPACK through numpy's stacked routines).

``X`` is (m, n, d) with the ones column last, ``y`` is (m, n). Per-dataset OLS is the floor of the
seed-000 loss: no coefficient vector can have a lower in-sample MSE on the rows it was fitted to.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from reglab.linalg.lsq import inference
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


# --------------------------------------------------------------------------- a learned inverse, refined


@dataclass(frozen=True)
class Refinement:
    """What :func:`refine` did: ``betas`` -- β after each pass (pass 0 is the start), each (m, d);
    ``steps`` (passes, m) -- the size of each pass's correction of the standardized slopes;
    ``contraction`` (m,) -- ``steps[1] / steps[0]``, the contraction per pass estimated from the first two
    passes (nan with fewer than two, or where the first already did nothing)."""

    betas: list[np.ndarray]
    steps: np.ndarray
    contraction: np.ndarray


#: passes whose correction is below this share of the standardized slopes have converged (float64 rounding)
CONVERGED = 1e-13


def standardized(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each dataset's standardized features ``z`` (m, n, k), their means and SDs (m, k) and their Gram
    ``G = zᵀz/n`` (m, k, k) -- the correlation matrix of the features (k = d − 1, ones column left out)."""
    x = X[..., :-1]
    mx, sx = x.mean(axis=1), np.maximum(x.std(axis=1), 1e-300)
    z = (x - mx[:, None, :]) / sx[:, None, :]
    return z, mx, sx, np.einsum("mni,mnj->mij", z, z) / X.shape[1]


Inverse = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (G, u) -> approximately G⁻¹u, row by row


def _step(G: np.ndarray, r: np.ndarray, inverse: Inverse) -> np.ndarray:
    """``ρ · inverse(G, r/ρ)`` per row, ``ρ = |r|`` (0 where ``r = 0``): a learned inverse applied at unit
    norm, the scale it was trained at, and scaled back."""
    rho = np.linalg.norm(r, axis=1)
    safe = np.where(rho > 0, rho, 1.0)
    return np.where((rho > 0)[:, None], rho[:, None] * inverse(G, r / safe[:, None]), 0.0)


def refine(
    X: np.ndarray,
    y: np.ndarray,
    beta0: np.ndarray,
    inverse: Callable[[np.ndarray, np.ndarray], np.ndarray],
    passes: int,
) -> Refinement:
    """Iterative refinement of least squares with a learned (approximate) inverse of the standardized Gram.

    ``inverse(G, u)`` (m, k) approximates ``G⁻¹u`` for the Gram ``G`` of :func:`standardized` and unit
    vectors ``u`` (m, k); it must return 0 for ``u = 0``. Each pass, in float64: the residual
    ``e = y − Xβ``, its standardized moments ``r = mean(z·e)`` (those of the normal equations: 0 exactly at
    the OLS fit), ``ρ = |r|``, and then ``Δ = ρ · inverse(G, r/ρ)`` for the standardized slopes (the slopes
    change by ``Δ/sx``, the intercept makes the residual's mean 0). Whatever ``inverse`` is, OLS is a fixed
    point; if it is accurate to a relative ε < 1 each pass multiplies the slopes' error by about ε, so a
    map learned to 1e-2 in float32 reaches float64 least squares in a few passes. Where it does not
    contract (``contraction ≥ 1``), the passes do not converge and say so."""
    z, mx, sx, G = standardized(X)
    beta = np.array(beta0, dtype=np.float64)
    betas, steps = [beta.copy()], []
    for _ in range(passes):
        e = y - predictions(X, beta)
        r = np.einsum("mnk,mn->mk", z, e) / X.shape[1]
        delta = _step(G, r, inverse)
        slopes = delta / sx
        beta = beta.copy()
        beta[:, :-1] += slopes
        beta[:, -1] += e.mean(axis=1) - np.sum(slopes * mx, axis=1)
        betas.append(beta.copy())
        steps.append(np.linalg.norm(delta, axis=1))
    step = np.array(steps).reshape(passes, len(X))
    contraction = np.full(len(X), np.nan)
    if passes >= 2:
        b_std = np.linalg.norm(beta[:, :-1] * sx, axis=1)
        live = step[0] > CONVERGED * np.maximum(b_std, 1e-300)
        contraction[live] = step[1, live] / step[0, live]
    return Refinement(betas, step, contraction)


def standard_errors(X: np.ndarray, y: np.ndarray, beta: np.ndarray, inverse_gram: np.ndarray | None = None):
    """(m, d) standard errors of each dataset's fit ``beta`` (slopes, then the intercept), from the one
    inference core (:mod:`reglab.linalg.lsq.inference`) with ``σ² = RSS/(n − d)``.

    Without ``inverse_gram`` they are OLS's: the R factor of each centred design. With it -- ``V`` (m, k, k),
    an approximation of the inverse of the standardized Gram of :func:`standardized` (a learned one) --
    ``(X_cᵀX_c)⁻¹ = diag(1/sx) V diag(1/sx) / n`` stands in for the factor's: the standard errors an
    encoder's own inverse implies. nan where a dataset has no residual degrees of freedom or is deficient."""
    m, n, d = X.shape
    _, mx, sx, _ = standardized(X)
    xc = X[..., :-1] - mx[:, None, :]
    e = y - predictions(X, beta)
    rss = np.sum(e * e, axis=1)
    tss = np.sum((y - y.mean(axis=1, keepdims=True)) ** 2, axis=1)
    R = np.linalg.qr(xc, mode="r") if inverse_gram is None else None
    out = np.full((m, d), np.nan)
    for i in range(m):
        if inverse_gram is None:
            factor = inference.triangular(R[i], mean=mx[i])
            if not np.all(np.isfinite(factor.inverse_diagonal)):
                continue
        else:
            V = np.asarray(inverse_gram[i], dtype=np.float64)
            w = mx[i] / sx[i]
            factor = inference.Factor(
                inverse_diagonal=np.diag(V) / (n * sx[i] ** 2),
                vif=np.diag(V).copy(),
                intercept_term=float(w @ V @ w) / n,
                condition=math.nan,
            )
        s = inference.summary(factor, rss=float(rss[i]), tss=float(tss[i]), n=n, n_params=d, centred=True)
        out[i, :-1], out[i, -1] = s.se, s.se_intercept
    return out


def refine_inverse(
    G: np.ndarray, inverse: Callable[[np.ndarray, np.ndarray], np.ndarray], passes: int
) -> np.ndarray:
    """(m, k, k) a learned inverse of each Gram ``G`` (m, k, k) -- ``inverse`` on the unit vectors -- and
    ``passes`` passes of it on its own residual, column by column as :func:`refine` does for β:
    ``V ← V + ρ·inverse(G, (I − G V)/ρ)``. The standard errors an encoder implies come from this ``V``."""
    m, k, _ = G.shape
    eye = np.broadcast_to(np.eye(k), (m, k, k))
    V = np.zeros((m, k, k))
    for _ in range(passes + 1):
        resid = eye - G @ V
        for j in range(k):
            V[:, :, j] += _step(G, resid[:, :, j], inverse)
    return V
