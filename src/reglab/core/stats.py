"""Small statistics shared by every stage: median of what is present, MSE, binary cross-entropy,
and the positions kept when a long curve is thinned."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np


def median(values: Iterable[Any], *, empty: float | None = None) -> float | None:
    """Median of the values present (None and NaN are skipped; infinities count); ``empty`` when none is."""
    vals = [float(v) for v in values if v is not None]
    vals = [v for v in vals if not math.isnan(v)]
    return float(np.median(vals)) if vals else empty


def mse(residual: np.ndarray, axis: int | None = None) -> Any:
    """Mean squared residual ``mean(r * r)`` in float64: a float, or an array of them along ``axis``."""
    r = np.asarray(residual, dtype=np.float64)
    if axis is None:
        return float(np.mean(r * r))
    return np.mean(r * r, axis=axis)


def bce(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean binary cross-entropy of ``sigmoid(logits)`` against 0/1 ``labels``, in float64, computed stably
    as ``mean(log(1 + exp(eta)) - y * eta)``."""
    eta = np.asarray(logits, dtype=np.float64)
    return float(np.mean(np.logaddexp(0.0, eta) - np.asarray(labels, dtype=np.float64) * eta))


def thin_positions(n: int, cap: int) -> np.ndarray:
    """Sorted distinct positions in ``range(n)`` to keep of a curve of ``n`` points, at most ``cap`` (>= 2).

    All of them when ``n <= cap``; otherwise the union of ``cap // 2`` log-spaced positions (they keep the
    fast early part of a training curve) and ``cap // 2`` evenly spaced ones (they keep the long tail).
    The first and last positions are always kept.
    """
    if cap < 2:
        raise ValueError(f"cap must be >= 2, got {cap}")
    if n <= cap:
        return np.arange(n)
    half = cap // 2
    return np.unique(np.concatenate([np.geomspace(1, n, half).astype(int) - 1,
                                     np.linspace(0, n - 1, half).astype(int)]))
