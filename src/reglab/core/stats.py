"""Small statistics shared by every stage: median of what is present, MSE, binary cross-entropy,
and the positions kept when a long curve is thinned."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
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
    return np.unique(
        np.concatenate([np.geomspace(1, n, half).astype(int) - 1, np.linspace(0, n - 1, half).astype(int)])
    )


#: A loss this many times the zero model's (mean y² for MSE) has diverged, whatever happens next.
DIVERGENCE_FACTOR = 1e4
#: ... and so has a loss that grew this many epochs in a row to above the zero model's.
DIVERGENCE_GROWTH_EPOCHS = 5


def divergence(
    losses: Sequence[float],
    baseline: float,
    *,
    stopped_at: int | None = None,
    factor: float = DIVERGENCE_FACTOR,
    growth_epochs: int = DIVERGENCE_GROWTH_EPOCHS,
) -> tuple[int | None, int | None]:
    """``(diverged_epoch, nonfinite_epoch)`` of a per-epoch loss curve (epochs 1-based; None when not).

    One definition for every stage, from the loss itself: a run has diverged at the first epoch whose
    loss is non-finite or above ``factor`` × ``baseline`` (the loss of the zero model: mean y² for
    MSE), or at the first epoch of a run of ``growth_epochs`` consecutive increases that ends above
    ``baseline``. ``nonfinite_epoch`` is where the loss became NaN or inf, if it did (float32
    overflows long after the run has diverged). ``stopped_at``: the epoch a trainer stopped at because
    a loss or a weight became non-finite (it counts as non-finite there)."""
    x = np.asarray(losses, dtype=np.float64)
    bad = ~np.isfinite(x)
    nonfinite = int(np.argmax(bad)) + 1 if bad.any() else None
    if stopped_at is not None:
        nonfinite = stopped_at if nonfinite is None else min(nonfinite, stopped_at)
    candidates = [] if nonfinite is None else [nonfinite]
    base = abs(float(baseline)) if np.isfinite(baseline) and baseline != 0 else 1.0
    with np.errstate(invalid="ignore"):
        huge = np.flatnonzero(np.isfinite(x) & (x > factor * base))
    if huge.size:
        candidates.append(int(huge[0]) + 1)
    run = 0
    for i in range(1, len(x)):
        if not (np.isfinite(x[i]) and np.isfinite(x[i - 1])):
            break
        run = run + 1 if x[i] > x[i - 1] else 0
        if run >= growth_epochs and x[i] > base:
            candidates.append(i - run + 2)  # the epoch whose loss first rose: index i - run + 1, 1-based
            break
    return (min(candidates) if candidates else None), nonfinite
