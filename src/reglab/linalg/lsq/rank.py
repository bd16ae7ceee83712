"""The one rank rule of reglab's least squares, applied to whatever factor a path has.

Rule: scale the columns of the design ``D`` (``[X, 1]``, or ``X`` without an intercept) by the power of
two nearest each column's 2-norm (exact, so a change of units changes nothing); a singular value of the
scaled design counts when it exceeds ``max(n, m) * eps * sigma_1`` (LAPACK's and numpy's default).

The scaled singular values come from any factor of ``D``: the design itself (:func:`of_design`), or an
``R`` with ``D = Q R`` -- Householder QR, the Cholesky factor of ``D^T D``, a merged TSQR ``R``
(:func:`of_triangular`); ``R``'s column norms equal ``D``'s, so the scaling is the same. A Gram-only
pass sees singular values only down to about ``sqrt(eps) * sigma_1``: :func:`gram_floor` says where it
cannot decide, and the streaming solve then takes its second pass and decides on ``R``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla

__all__ = [
    "EPS",
    "Rank",
    "column_norms",
    "decide",
    "gram_floor",
    "of_design",
    "of_triangular",
    "pow2_scales",
    "pow2_of",
]

EPS: float = float(np.finfo(np.float64).eps)


def column_norms(D: np.ndarray) -> np.ndarray:
    """(m,) column 2-norms without overflow or underflow (each column pre-scaled by its max |entry|)."""
    amax = np.max(np.abs(D), axis=0) if D.shape[0] else np.zeros(D.shape[1])
    norms = np.zeros(D.shape[1])
    nz = amax > 0
    if nz.any():
        norms[nz] = amax[nz] * np.linalg.norm(D[:, nz] / amax[nz], axis=0)
    return norms


def pow2_of(norms: np.ndarray) -> np.ndarray:
    """The powers of two nearest ``norms`` (1.0 for a zero norm); dividing by them is exact."""
    norms = np.asarray(norms, dtype=np.float64)
    s = np.ones(norms.shape)
    nz = norms > 0
    if nz.any():
        s[nz] = np.ldexp(1.0, np.round(np.log2(norms[nz])).astype(int))
    return s


def pow2_scales(D: np.ndarray) -> np.ndarray:
    """(m,) the rule's column scales of ``D``: powers of two nearest its column norms."""
    return pow2_of(column_norms(D))


@dataclass(frozen=True)
class Rank:
    """A rank decision: ``rank`` of ``m`` columns, the absolute ``tol`` on the scaled singular values
    ``sv`` (descending), and ``cond`` (``sv[0] / sv[-1]`` of the scaled design; None when deficient)."""

    rank: int
    m: int
    tol: float
    sv: np.ndarray

    @property
    def full(self) -> bool:
        return self.rank == self.m

    @property
    def cond(self) -> float | None:
        if not self.full or self.sv.size == 0 or self.sv[-1] == 0.0:
            return None
        return float(self.sv[0] / self.sv[-1])


def decide(sv: np.ndarray, n: int, m: int, rtol: float | None = None) -> Rank:
    """Apply the rule to the singular values ``sv`` (descending) of a scaled ``n x m`` design.

    ``rtol`` overrides the relative tolerance ``max(n, m) * eps`` (the diagnostics' ``rank_rtol``).

    >>> decide(np.array([2.0, 1.0, 1e-17]), 10, 3).rank
    2
    """
    sv = np.asarray(sv, dtype=np.float64)
    rel = max(n, m) * EPS if rtol is None else float(rtol)
    if not math.isfinite(rel) or rel < 0:
        raise ValueError(f"rtol (the relative rank tolerance) must be finite and >= 0; got {rtol!r}")
    tol = rel * (float(sv[0]) if sv.size else 0.0)
    rank = int(np.sum(sv > tol)) if sv.size and sv[0] > 0 else 0
    return Rank(rank=rank, m=m, tol=tol, sv=sv)


def of_design(D: np.ndarray, rtol: float | None = None) -> Rank:
    """The rule on the design ``D`` (n, m) itself (SVD of its scaled form)."""
    Ds = D / pow2_scales(D)
    return decide(sla.svdvals(Ds, check_finite=False) if Ds.size else np.zeros(0), *D.shape, rtol=rtol)


def of_triangular(R: np.ndarray, n: int, rtol: float | None = None) -> Rank:
    """The rule on an ``R`` factor (m, m) of an ``n x m`` design (``D = Q R``, any orthonormal ``Q``)."""
    Rs = R / pow2_scales(R)
    return decide(sla.svdvals(Rs, check_finite=False) if Rs.size else np.zeros(0), n, R.shape[1], rtol=rtol)


def gram_floor(lmax: float, n: int, m: int, rtol: float | None = None) -> float:
    """The eigenvalue below which a scaled Gram (``m x m``, from ``n`` rows, largest eigenvalue ``lmax``)
    cannot see a direction: its eigenvalues carry absolute error ~ ``m * eps * lmax``, so the rule's
    ``(max(n, m) * eps)**2`` (``rtol**2``) is floored at ``100 * m * eps``: singular values below about
    ``sqrt(eps)`` of the largest are invisible, and a Gram with an eigenvalue there cannot decide."""
    rel = max(n, m) * EPS if rtol is None else float(rtol)
    return lmax * max(rel**2, 100.0 * max(m, 1) * EPS)
