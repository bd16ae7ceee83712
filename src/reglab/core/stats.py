"""Small statistics shared by every stage: median of what is present, MSE, binary cross-entropy."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np


def median(values: Iterable[Any]) -> float | None:
    """Median of the finite values present (None and NaN are skipped); None when there are none."""
    vals = [float(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return float(np.median(vals)) if vals else None


def mse(residual: np.ndarray) -> float:
    """Mean squared residual, in float64."""
    r = np.asarray(residual, dtype=np.float64)
    return float(np.mean(r * r))
