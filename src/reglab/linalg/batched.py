"""Least squares on many small datasets at once (float64, LAPACK through numpy's stacked routines).

``X`` is (m, n, d) with the ones column last, ``y`` is (m, n). Per-dataset OLS is the floor of the
seed-000 loss: no coefficient vector can have a lower in-sample MSE on the rows it was fitted to.
"""

from __future__ import annotations

import numpy as np


def ols(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-dataset least-squares coefficients (m, d), by Householder QR of each design (no normal
    equations). Needs n >= d and full column rank in every dataset."""
    Q, R = np.linalg.qr(X)  # stacked: Q (m, n, d), R (m, d, d)
    qty = np.einsum("mnd,mn->md", Q, y)
    return np.linalg.solve(R, qty[..., None])[..., 0]


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


def normalize(X: np.ndarray, y: np.ndarray, eps: float = 1e-12) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Per-dataset standardization of the features (without the ones column) and of y.

    Returns the standardized features (m, n, d-1), the standardized y (m, n) and the statistics
    needed by :func:`unnormalize`."""
    x = X[..., :-1]
    mx, sx = x.mean(axis=1), x.std(axis=1)
    my, sy = y.mean(axis=1), y.std(axis=1)
    sx, sy = np.maximum(sx, eps), np.maximum(sy, eps)
    return (x - mx[:, None, :]) / sx[:, None, :], (y - my[:, None]) / sy[:, None], {"mx": mx, "sx": sx, "my": my, "sy": sy}


def unnormalize(beta_std: np.ndarray, stats: dict[str, np.ndarray]) -> np.ndarray:
    """Coefficients in raw units from standardized ones: ``beta_std`` (m, d) holds the slopes and, last,
    the intercept in standardized units (0 for least squares)."""
    slopes = beta_std[:, :-1] * stats["sy"][:, None] / stats["sx"]
    intercept = stats["my"] + stats["sy"] * beta_std[:, -1] - np.sum(slopes * stats["mx"], axis=1)
    return np.concatenate([slopes, intercept[:, None]], axis=1)
