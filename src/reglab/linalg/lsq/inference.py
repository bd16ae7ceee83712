"""Inference from a triangular factor: the one place reglab turns an R into standard errors and VIFs.

Every path that fits by least squares ends with an upper-triangular ``R`` whose Gram ``RᵀR`` is the
Gram of its (column-scaled) design: the Householder R of the refined answer, the Cholesky factor of the
streamed solve's scaled Gram, the merged TSQR R of its second pass, the R of the diagnostics' centred,
unit-norm features.  From it, with no normal matrix formed and no explicit inverse of a Gram:

* ``diag((RᵀR)⁻¹)`` -- the squared row norms of ``R⁻¹`` (a triangular solve), which times the residual
  variance gives the variances of the coefficients;
* the VIFs of a *centred* design -- ``diag((RᵀR)⁻¹) · diag(RᵀR)`` (the correlation matrix's inverse
  diagonal, whatever the columns' scales);
* the intercept's variance term ``‖R⁻ᵀ m‖²`` for the centred model ``y = a + (X − m)β``;
* the 2-norm condition number of the factor (that of its design).

:func:`triangular` computes them once; :func:`summary` adds the residual variance, R² (which kind) and
the standard errors in the data's units.

>>> r = np.array([[2.0, 1.0], [0.0, 1.0]])
>>> f = triangular(r)
>>> f.inverse_diagonal.tolist(), f.vif.tolist(), f.condition > 1
([0.5, 1.0], [2.0, 2.0], True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla

__all__ = ["Factor", "Summary", "summary", "triangular"]


@dataclass(frozen=True)
class Factor:
    """What an upper-triangular factor ``R`` (k, k) of a design's Gram says about the fit.

    ``inverse_diagonal`` (k,) is ``diag((RᵀR)⁻¹)``; ``vif`` (k,) is ``inverse_diagonal · diag(RᵀR)`` (the
    VIFs when the design is centred; ``inf`` when ``R`` is singular); ``intercept_term`` is
    ``‖R⁻ᵀ m‖²`` for the ``mean`` given (nan without one); ``condition`` is ``σ₁/σ_k`` of ``R``."""

    inverse_diagonal: np.ndarray
    vif: np.ndarray
    intercept_term: float
    condition: float


def triangular(
    r: np.ndarray, *, mean: np.ndarray | None = None, gram_diagonal: np.ndarray | None = None
) -> Factor:
    """:class:`Factor` of the nonsingular upper-triangular ``r`` (k, k).

    ``mean`` (k,), optional: the centring of a centred design in ``r``'s column units, for the intercept's
    variance term.  ``gram_diagonal`` (k,), optional: ``diag(RᵀR)`` when the caller holds the Gram itself
    (the streamed solve's scaled Gram), else the squared column norms of ``r``."""
    r = np.asarray(r, dtype=np.float64)
    k = r.shape[0]
    if r.ndim != 2 or r.shape[1] != k:
        raise ValueError(f"the factor must be square (k, k); got shape {r.shape}")
    if k == 0:
        return Factor(np.zeros(0), np.zeros(0), math.nan if mean is None else 0.0, 1.0)
    sv = sla.svdvals(r, check_finite=False)
    condition = float(sv[0] / sv[-1]) if sv[-1] > 0 else math.inf
    if not sv[-1] > 0:
        return Factor(np.full(k, math.inf), np.full(k, math.inf), math.inf, condition)
    rinv = sla.solve_triangular(r, np.eye(k), check_finite=False)
    inverse_diagonal = np.sum(rinv**2, axis=1)
    gdiag = np.sum(r**2, axis=0) if gram_diagonal is None else np.asarray(gram_diagonal, dtype=np.float64)
    term = math.nan
    if mean is not None:
        z = sla.solve_triangular(r, np.asarray(mean, dtype=np.float64), trans="T", check_finite=False)
        term = float(z @ z)
    return Factor(inverse_diagonal, inverse_diagonal * gdiag, term, condition)


@dataclass(frozen=True)
class Summary:
    """A fit's inference: ``se`` (k,) in the data's units (nan where not identifiable), ``se_intercept``
    (nan without an intercept), ``sigma2`` and ``residual_sd`` (nan when ``dof <= 0``), ``dof``, ``r2``
    with ``r2_kind`` (``centred`` or ``uncentred``) and the factor's ``vif`` and ``condition``."""

    se: np.ndarray
    se_intercept: float
    sigma2: float
    residual_sd: float
    dof: int
    r2: float
    r2_kind: str
    vif: np.ndarray
    condition: float


def summary(
    factor: Factor | None,
    *,
    rss: float,
    tss: float,
    n: int,
    n_params: int,
    scales: np.ndarray | None = None,
    centred: bool,
) -> Summary:
    """Standard errors, residual variance and R² of a least-squares fit whose design ``D / scales`` has the
    Gram ``RᵀR`` of ``factor`` (None when the coefficients are not identifiable: no finite standard error).

    ``rss`` is the residual sum of squares, ``tss`` the total one (about the mean when ``centred``, i.e.
    with an intercept), ``n`` the rows and ``n_params`` the parameters the fit spends (``dof = n −
    n_params``).  For a centred design the intercept's variance is ``σ²(1/n + ‖R⁻ᵀ m‖²)``.

    >>> s = summary(triangular(np.array([[2.0]]), mean=np.array([0.0])), rss=8.0, tss=16.0, n=10,
    ...             n_params=2, centred=True)
    >>> s.dof, s.sigma2, s.se.tolist(), s.se_intercept, s.r2, s.r2_kind
    (8, 1.0, [0.5], 0.31622776601683794, 0.5, 'centred')
    """
    dof = int(n - n_params)
    sigma2 = rss / dof if dof > 0 else math.nan
    r2 = 1.0 - rss / tss if tss > 0 else math.nan
    if factor is None:
        k = 0 if scales is None else len(scales)
        se, vif, cond, se_icpt = np.full(k, math.nan), np.full(k, math.inf), math.inf, math.nan
    else:
        d = np.ones_like(factor.inverse_diagonal) if scales is None else np.asarray(scales, dtype=np.float64)
        se = np.sqrt(sigma2 * factor.inverse_diagonal) / d
        vif, cond = factor.vif, factor.condition
        se_icpt = math.nan
        if centred and math.isfinite(factor.intercept_term):
            se_icpt = float(math.sqrt(sigma2 * (1.0 / n + factor.intercept_term)))
    return Summary(
        se=se,
        se_intercept=se_icpt,
        sigma2=sigma2,
        residual_sd=math.sqrt(sigma2) if dof > 0 else math.nan,
        dof=dof,
        r2=r2,
        r2_kind="centred" if centred else "uncentred",
        vif=vif,
        condition=cond,
    )
