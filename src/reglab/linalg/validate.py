"""Input checks shared by :mod:`reglab.linalg.theory` and :mod:`reglab.linalg.reference_solvers`:
a finite float64 design ``A`` (n, p) (by the one design check, :mod:`reglab.linalg.lsq.design`), vectors
of a given length, and a positive step size."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from reglab.linalg.lsq.design import as_matrix

__all__ = ["check_A", "check_vec", "check_Abw", "check_eta"]


def check_A(A: Any) -> np.ndarray:
    """``A`` as a C-contiguous float64 (n, p) array with n, p >= 1 and finite entries (the design check
    of :func:`reglab.linalg.lsq.design.as_matrix`); ValueError otherwise."""
    Aa = as_matrix(A, "A")
    if Aa.shape[1] < 1:
        raise ValueError(f"A must have at least one row and one column; got shape {Aa.shape}")
    return Aa


def check_vec(v: Any, length: int, name: str, what: str = "") -> np.ndarray:
    """``v`` as a new finite float64 vector of shape (length,); ValueError naming ``name`` otherwise."""
    va = np.asarray(v, dtype=np.float64)
    if va.ndim != 1 or va.shape[0] != length:
        detail = f" ({what})" if what else ""
        raise ValueError(f"{name} must be a 1-D array of length {length}{detail}; got shape {va.shape}")
    if not np.isfinite(va).all():
        raise ValueError(f"{name} must be finite; found {int((~np.isfinite(va)).sum())} non-finite value(s)")
    return np.array(va, dtype=np.float64)


def check_Abw(A: Any, b: Any, w0: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A design (n, p), a target (n,) and a start (p,), each checked as above."""
    Aa = check_A(A)
    n, p = Aa.shape
    return (
        Aa,
        check_vec(b, n, "b", "one target per row of A"),
        check_vec(w0, p, "w0", "one weight per column of A"),
    )


def check_eta(eta: Any, name: str = "eta") -> float:
    """A finite step size > 0 as a float; ValueError naming ``name`` otherwise."""
    try:
        e = float(eta)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number; got {eta!r}") from None
    if not math.isfinite(e) or e <= 0.0:
        raise ValueError(f"{name} (step size) must be finite and > 0; got {eta!r}")
    return e
