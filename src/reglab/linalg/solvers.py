"""Closed-form linear least squares and logistic-regression MLE, fitted by several solvers side by side.

The point of this module is *honest comparison*: every solver reports what it returned, how long it
took and, whenever it can be known, how many of its digits are correct.  All arithmetic is float64
through LAPACK (numpy / scipy), except

* the ``"refined"`` least-squares solver, which computes residuals in extended (double-double, ~106-bit)
  precision during iterative refinement and, for small designs, computes the *exact* least-squares
  solution of the float64 data in rational arithmetic (every float64 is an exact dyadic rational, so the
  stored problem has an exact answer);
* the ``"pinv"`` solver, which forms the pseudo-inverse on purpose (it is one of the compared methods).

Conventions used throughout
---------------------------
``X`` is ``(n, p)`` float without an intercept column, ``y`` is ``(n,)``.  When ``intercept=True`` a
column of ones is appended LAST, so the ``m = p + 1`` parameters are ordered ``features..., intercept``
(see :class:`reglab.linalg.lsq.design.Design`, which validates every input once).

Rank tolerance
--------------
The numerical rank of a design ``D`` (``n x m``) is computed from the singular values of ``D S^-1``
where ``S = diag(s_j)`` and ``s_j`` is the power of two nearest to the 2-norm of column ``j`` (so the
scaling is exact and changing the units of a column changes nothing).  A singular value counts as
zero when it is ``<= max(n, m) * eps * sigma_max`` (``eps = 2**-52``), the LAPACK / numpy default.
The same relative tolerance decides when a Householder ``R`` diagonal is numerically zero.

The solvers are registered in :data:`SOLVERS` (each with its declared contract); the exact rational
arithmetic is :mod:`reglab.linalg.lsq.exact`, the double-double residuals :mod:`reglab.linalg.lsq.dd`,
the rank rule :mod:`reglab.linalg.lsq.rank` and correct digits :func:`reglab.linalg.lsq.digits.lre`.

Nothing here imports snakemake or TensorFlow; statsmodels and scikit-learn are imported lazily.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import partial
from typing import Any

import numpy as np
import scipy.linalg as sla

from reglab.core.io import json_float
from reglab.linalg import comparison
from reglab.linalg.comparison import SolverFailure, SolverOut, import_libraries, join, run
from reglab.linalg.lapack import svd
from reglab.linalg.lsq import dd, inference
from reglab.linalg.lsq import exact as rational
from reglab.linalg.lsq import rank as rank_rule
from reglab.linalg.lsq.design import Design, param_names
from reglab.linalg.lsq.digits import lre
from reglab.linalg.lsq.exact import EXACT_MAX_BITS, EXACT_MAX_PARAMS

__all__ = [
    "EXACT_MAX_BITS",
    "EXACT_MAX_CELLS",
    "EXACT_MAX_PARAMS",
    "LSQ_SOLVERS",
    "numerical_rank",
    "exact_least_squares",
    "least_squares_all",
]

EPS: float = float(np.finfo(np.float64).eps)
#: Names of the least-squares solvers, in report order.
LSQ_SOLVERS: tuple[str, ...] = ("lstsq", "qr", "cholesky", "pinv", "sklearn", "statsmodels", "refined")
#: The exact rational solution is attempted only when ``n * m <= EXACT_MAX_CELLS`` (and within the
#: limits :data:`reglab.linalg.lsq.exact.EXACT_MAX_PARAMS` and ``EXACT_MAX_BITS``).
EXACT_MAX_CELLS: int = 5000
#: Cholesky of X'X is declared numerically not positive definite when a pivot satisfies
#: ``L_kk**2 <= CHOL_PIVOT_FACTOR * m * eps * (X'X)_kk`` -- the pivot is then rounding noise.
CHOL_PIVOT_FACTOR: float = 10.0
_REFINE_MAX_STEPS: int = 20
_DIGITS_CAP: float = 16.0
_F64_HALF_ULP: float = 2.0**-53


# ----------------------------------------------------------------------------------------------
# numerical rank
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _RankInfo:
    rank: int
    tol: float  # absolute tolerance on singular values of the scaled design
    scales: np.ndarray  # (m,) powers of two, D_scaled = D / scales
    sv: np.ndarray  # singular values of the scaled design, descending
    U: np.ndarray  # (n, k) left singular vectors of the scaled design
    Vt: np.ndarray  # (k, m) right singular vectors of the scaled design

    @property
    def cond(self) -> float | None:
        """2-norm condition number of the column-scaled design (None when numerically rank deficient)."""
        if self.rank < self.scales.size or self.sv[-1] == 0.0:
            return None
        return float(self.sv[0] / self.sv[-1])


def _rank_info(D: np.ndarray) -> _RankInfo:
    """The one rank rule (:mod:`reglab.linalg.lsq.rank`) on the SVD of the scaled design, whose vectors
    the minimum-norm path and the inference reuse."""
    n, m = D.shape
    scales = rank_rule.pow2_scales(D)
    U, sv, Vt = svd(D / scales)
    decided = rank_rule.decide(sv, n, m)
    return _RankInfo(rank=decided.rank, tol=decided.tol, scales=scales, sv=sv, U=U, Vt=Vt)


def numerical_rank(D: np.ndarray) -> tuple[int, float | None]:
    """Numerical rank of a design ``D`` (n, m) and the 2-norm condition number of its column-scaled form.

    Columns are scaled by powers of two to unit 2-norm (exactly); singular values ``<= max(n, m) * eps *
    sigma_max`` count as zero.  The condition number is None when the design is numerically rank deficient.
    """
    info = _rank_info(np.asarray(D, dtype=np.float64))
    return info.rank, info.cond


def exact_least_squares(X: np.ndarray, y: np.ndarray, *, intercept: bool) -> tuple[list[Fraction], int]:
    """Exact minimum-norm least-squares coefficients (as ``Fraction``) of the float64 data and the exact rank.

    Shapes: ``X`` (n, p), ``y`` (n,) -> list of ``p + intercept`` Fractions in design order.  No size limit is
    applied here (cost grows like m^3 on integers of ~m * bits bits); see :func:`least_squares_all`.
    """
    d = Design.of(X, y, intercept=intercept)
    ex = rational.lstsq(d.matrix(), d.y)
    return ex.w, ex.rank


# ----------------------------------------------------------------------------------------------
# refined (recommended) numerical solution: iterative refinement with double-double residuals
# ----------------------------------------------------------------------------------------------
# Residuals are computed with error-free transformations (Dekker's TwoProduct, Knuth's TwoSum), i.e. in
# double-double (~106-bit) arithmetic, and the iterates are kept as unevaluated float64 pairs (hi + lo).
# This is more precise than np.longdouble (a 64-bit mantissa on x86-64, which leaves a noise floor of
# ~cond * 5e-20 in the solution) and portable (np.longdouble IS float64 on Windows and ARM macOS).


def _pow2_scale(v: np.ndarray) -> float:
    """A power of two close to max |v| (1.0 for a zero vector): dividing by it is exact."""
    a = float(np.max(np.abs(v), initial=0.0))
    return 1.0 if a == 0.0 else math.ldexp(1.0, math.frexp(a)[1])


def _estimate_digits(w: np.ndarray, dw: np.ndarray | None, floor: float = 0.0) -> float:
    """Digits estimate from the last refinement correction: min_i -log10((|dw_i| + floor) / |w_i| + 2^-53).

    ``2^-53`` is the final rounding to float64; ``floor`` is an absolute error the refinement cannot see (the
    rank-deficient path's row-space error).  Zero components are measured relative to max |w|."""
    w = np.asarray(w, dtype=np.float64)
    scale = float(np.max(np.abs(w))) if w.size else 0.0
    if scale == 0.0:
        return _DIGITS_CAP if dw is None or not np.any(dw) else 0.0
    d = (np.zeros_like(w) if dw is None else np.abs(np.asarray(dw, dtype=np.float64))) + floor
    denom = np.where(w != 0, np.abs(w), scale)
    rel = float(np.max(d / denom)) + _F64_HALF_ULP
    return float(min(_DIGITS_CAP, max(0.0, -math.log10(rel))))


def _converged(d: np.ndarray, x: np.ndarray, prev: float) -> tuple[bool, float]:
    """Componentwise relative correction size max_i |d_i| / |x_i| (zero x_i measured against max |x|); stop
    when it is below float64 resolution or did not shrink by at least half (stagnation / no contraction)."""
    xa = np.abs(x)
    xmax = float(np.max(xa, initial=0.0))
    if xmax == 0.0:
        size = float(np.max(np.abs(d), initial=0.0))
    else:
        size = float(np.max(np.abs(d) / np.where(xa > 0, xa, xmax)))
    return (size <= 2.0**-60 or size > 0.5 * prev), size


def _refine_full_rank(
    D: np.ndarray, y: np.ndarray, scales: np.ndarray
) -> tuple[np.ndarray, int, np.ndarray | None]:
    """Householder QR of the exactly column-scaled design, then Bjorck's iterative refinement of the augmented
    system ``[I Ds; Ds' 0][r; z] = [y; 0]`` (both residuals in double-double, iterates as float64 pairs).

    Returns (w (m,), number of refinement steps, last correction in w-coordinates or None)."""
    ys = _pow2_scale(y)
    Ds, yy = D / scales, y / ys  # exact: powers of two
    Q, R = sla.qr(Ds, mode="economic")
    z_hi = sla.solve_triangular(R, Q.T @ yy)
    z_lo = np.zeros_like(z_hi)
    r_hi = dd.residual(Ds, z_hi, z_lo, yy)
    r_lo = np.zeros_like(r_hi)
    last: np.ndarray | None = None
    prev = math.inf
    steps = 0
    for _ in range(_REFINE_MAX_STEPS):
        f = dd.residual(Ds, z_hi, z_lo, yy, -r_hi) - r_lo  # y - r - Ds z
        g = -dd.rmatvec(Ds, r_hi, r_lo)  # 0 - Ds' r
        h = sla.solve_triangular(R, g, trans="T")
        qf = Q.T @ f
        dz = sla.solve_triangular(R, qf - h)
        dr = Q @ h + (f - Q @ qf)
        z_hi, z_lo = dd.add(z_hi, z_lo, dz)
        r_hi, r_lo = dd.add(r_hi, r_lo, dr)
        steps += 1
        last = dz
        stop, prev = _converged(dz, z_hi, prev)
        if stop:
            break
    w = (z_hi + z_lo) / scales * ys
    return w, steps, (None if last is None else last / scales * ys)


def _refine_min_norm(
    D: np.ndarray, y: np.ndarray, info: _RankInfo
) -> tuple[np.ndarray, int, np.ndarray | None]:
    """Minimum-norm (over the ORIGINAL parameters) solution of the rank-``r`` truncation of ``D``.

    With the scaled SVD ``D S^-1 ~ U_r Sig_r V_r'`` the truncated design is ``D_r = U_r Sig_r V_r' S``; its
    row space is spanned by ``B = S V_r`` (m, r) = ``Qb Rb``, and its minimum-norm solution is
    ``w = Qb Rb^-T Sig_r^-1 U_r' y``.  That linear map is then applied to residuals ``y - D w`` computed in
    double-double (iterative refinement).  Returns (w, steps, last correction or None)."""
    r = info.rank
    m = D.shape[1]
    if r == 0:
        return np.zeros(m), 0, None
    Ur = info.U[:, :r]
    sr = info.sv[:r]
    B = info.scales[:, None] * info.Vt[:r].T
    Qb, Rb = sla.qr(B, mode="economic")

    def apply(v: np.ndarray) -> np.ndarray:
        return Qb @ sla.solve_triangular(Rb, (Ur.T @ v) / sr, trans="T")

    sc = info.scales
    Ds = D / sc
    ys = _pow2_scale(y)
    yy = y / ys
    w_hi = apply(yy)
    w_lo = np.zeros_like(w_hi)
    last: np.ndarray | None = None
    prev = math.inf
    steps = 0
    for _ in range(_REFINE_MAX_STEPS):
        dw = apply(dd.residual(Ds, w_hi * sc, w_lo * sc, yy))  # D w = Ds (sc * w), scaling exact
        w_hi, w_lo = dd.add(w_hi, w_lo, dw)
        steps += 1
        last = dw
        stop, prev = _converged(dw, w_hi, prev)
        if stop:
            break
    return (w_hi + w_lo) * ys, steps, (None if last is None else last * ys)


# ----------------------------------------------------------------------------------------------
# the compared least-squares solvers; each returns (w (m,), extra keys, message)
# ----------------------------------------------------------------------------------------------


def _ill_cond_note(info: _RankInfo) -> str:
    c = info.cond
    if c is not None and c >= 1e8 and info.rank == info.scales.size:
        return (
            f"ill-conditioned design (cond of column-scaled design ~ {c:.1e}; "
            f"expect ~{math.log10(c):.0f} digits lost)"
        )
    return ""


def _deficient_note(rank: int, m: int, how: str, min_norm: bool = True) -> str:
    note = f"design is rank deficient ({how} rank {rank} of {m} parameters)"
    return note + "; minimum-norm solution returned" if min_norm else note


def _solve_lstsq(p: _Problem) -> SolverOut:
    D, y, info = p.D, p.y, p.info
    n, m = D.shape
    w, _, rank, _ = sla.lstsq(D, y, cond=max(n, m) * EPS, lapack_driver="gelsd")
    msg = _deficient_note(int(rank), m, "gelsd") if rank < m else _ill_cond_note(info)
    return np.asarray(w, dtype=np.float64), {"lapack_rank": int(rank)}, msg


def _solve_qr(p: _Problem) -> SolverOut:
    D, y, info = p.D, p.y, p.info
    n, m = D.shape
    if n < m:
        raise SolverFailure(f"QR needs n >= m: design has n = {n} rows but m = {m} parameters (rank <= {n})")
    Q, R = sla.qr(D, mode="economic")  # Householder (LAPACK geqrf), no pivoting
    diag = np.abs(np.diag(R))
    colnorm = rank_rule.column_norms(D)
    rel = np.divide(
        diag, colnorm, out=np.zeros_like(diag), where=colnorm > 0
    )  # = R diag of the scaled design
    tol = max(n, m) * EPS * float(np.max(rel, initial=0.0))
    bad = np.flatnonzero(rel <= tol)
    if bad.size:
        kk = int(bad[0])
        raise SolverFailure(
            f"design is rank deficient: R[{kk},{kk}]={R[kk, kk]:.3g} (|R[{kk},{kk}]|/||column {kk}|| = "
            f"{rel[kk]:.3g} <= tol {tol:.3g}); numerical rank is {info.rank} of {m} parameters (SVD)"
        )
    if info.rank < m:
        raise SolverFailure(
            f"design is numerically rank deficient (SVD rank {info.rank} of {m} parameters) although no R "
            "diagonal is below tol; QR without pivoting would return an arbitrary solution"
        )
    w = sla.solve_triangular(R, Q.T @ y)
    return w, {}, _ill_cond_note(info)


def _solve_cholesky(p: _Problem) -> SolverOut:
    D, y, info = p.D, p.y, p.info
    m = D.shape[1]
    zero = np.flatnonzero(~np.any(D != 0, axis=0))
    if zero.size:
        raise SolverFailure(f"X'X is singular: column {int(zero[0])} of the design is all zeros")
    with np.errstate(over="ignore", under="ignore"):
        G = D.T @ D
        b = D.T @ y
    gdiag = np.diag(G).copy()
    if not (np.all(np.isfinite(G)) and np.all(np.isfinite(b))) or np.any(gdiag == 0):
        raise SolverFailure(
            "X'X cannot be formed in float64: squaring the columns overflows or underflows "
            "(column 2-norms range from "
            f"{float(np.min(rank_rule.column_norms(D))):.3g} to "
            f"{float(np.max(rank_rule.column_norms(D))):.3g})"
        )
    try:
        c, lower = sla.cho_factor(G, lower=False, check_finite=False)
    except np.linalg.LinAlgError as e:
        raise SolverFailure(f"X'X is not positive definite numerically (LAPACK potrf: {e})") from None
    ratio = np.diag(c) ** 2 / gdiag
    tol = CHOL_PIVOT_FACTOR * m * EPS
    kk = int(np.argmin(ratio))
    if ratio[kk] <= tol:
        raise SolverFailure(
            f"X'X is not positive definite numerically: Cholesky pivot {kk} has "
            f"L[{kk},{kk}]^2/(X'X)[{kk},{kk}] = {ratio[kk]:.3g} <= {tol:.3g} (rounding noise); numerical "
            f"rank of the design is {info.rank} of {m}"
        )
    w = sla.cho_solve((c, lower), b, check_finite=False)
    note = ""
    if info.cond is not None and info.cond >= 1e4:
        note = (
            f"normal equations square the condition number (cond(X'X) ~ {info.cond**2:.1e}); "
            f"expect ~{min(16.0, 2 * math.log10(info.cond)):.0f} digits lost"
        )
    return w, {"min_pivot_ratio": float(ratio[kk])}, note


_DEFAULT_PINV_RCOND = 1e-15  # numpy.linalg.pinv's and statsmodels' pinv_extended's default cutoff


def _pinv_cutoff_note(D: np.ndarray, info: _RankInfo, who: str) -> str:
    """Explain when a fixed ``rcond = 1e-15`` cutoff keeps more singular values than the numerical rank."""
    if info.rank >= D.shape[1]:
        return ""
    sv = sla.svdvals(D)
    kept = int(np.sum(sv > _DEFAULT_PINV_RCOND * sv[0]))
    if kept <= info.rank:
        return ""
    return (
        f"{who}'s default cutoff rcond=1e-15 keeps {kept} singular values (smallest kept sigma/sigma_max = "
        f"{sv[kept - 1] / sv[0]:.2g}, rounding noise) although the numerical rank is {info.rank}: this is "
        f"NOT the minimum-norm solution of the rank-{info.rank} problem"
    )


def _solve_pinv(p: _Problem) -> SolverOut:
    D, y, info = p.D, p.y, p.info
    m = D.shape[1]
    w = (
        np.linalg.pinv(D) @ y
    )  # deliberate explicit pseudo-inverse with numpy's defaults: this IS the compared method
    cutoff = _pinv_cutoff_note(D, info, "numpy.linalg.pinv")
    msg = _deficient_note(info.rank, m, "SVD", not cutoff) if info.rank < m else _ill_cond_note(info)
    return w, {}, join(msg, cutoff)


def _solve_sklearn(p: _Problem) -> SolverOut:
    X, y, intercept, info = p.X, p.y, p.intercept, p.info
    from sklearn.linear_model import LinearRegression

    model = LinearRegression(fit_intercept=intercept).fit(X, y)
    coef = np.asarray(model.coef_, dtype=np.float64).ravel()
    w = np.concatenate([coef, [float(model.intercept_)]]) if intercept else coef
    m = w.size
    msg = _ill_cond_note(info)
    if info.rank < m:
        msg = (
            f"design is rank deficient (SVD rank {info.rank} of {m}); sklearn centres X, so this is a "
            f"least-squares solution but not necessarily the minimum-norm one over (coef, intercept)"
            if intercept
            else _deficient_note(info.rank, m, "SVD")
        )
    return w, {}, msg


def _solve_statsmodels(p: _Problem) -> SolverOut:
    D, y, info = p.D, p.y, p.info
    import statsmodels.api as sm

    res = sm.OLS(y, D).fit(method="pinv")
    w = np.asarray(res.params, dtype=np.float64)
    with np.errstate(all="ignore"):
        bse = np.asarray(res.bse, dtype=np.float64)
        r2 = float(res.rsquared)
    kind = "centered" if getattr(res.model, "k_constant", 0) else "uncentered"
    extra = {"_bse": bse, "r2": json_float(r2), "r2_kind": kind}
    m = D.shape[1]
    msg = _ill_cond_note(info)
    cutoff = _pinv_cutoff_note(D, info, "statsmodels")
    if info.rank < m:
        msg = join(
            _deficient_note(info.rank, m, "SVD", not cutoff),
            "standard errors of non-estimable parameters are meaningless",
        )
    return w, extra, join(msg, cutoff)


# ----------------------------------------------------------------------------------------------
# running, timing and formatting
# ----------------------------------------------------------------------------------------------


@dataclass
class _ExactReference:
    """What the ``refined`` solver learnt about the exact rational solution: ``exact`` when it is used as the
    reference (its rank agrees with the numerical rank), ``mismatch`` when it was computed but its rank
    disagrees, and ``note`` why there is none (empty when there is one)."""

    exact: rational.Exact | None = None
    mismatch: rational.Exact | None = None
    note: str = ""


@dataclass(frozen=True)
class _Problem:
    """One least-squares problem as every registered solver receives it: ``X`` (n, p), the design ``D``
    (n, m, the ones column last), ``y``, the rank decision ``info``, the exact path's ``exact_limit`` and
    the ``ref`` the recommended solver fills."""

    X: np.ndarray
    D: np.ndarray
    y: np.ndarray
    intercept: bool
    info: _RankInfo
    exact_limit: int
    ref: _ExactReference


def _refine_numerically(D: np.ndarray, y: np.ndarray, info: _RankInfo) -> tuple[np.ndarray, dict[str, Any]]:
    """Step 1 of ``refined``: the refined float64 solution and its ``refinement_steps``, ``estimated_digits``
    and ``method``."""
    m = D.shape[1]
    if info.rank == m:
        w_num, steps, last = _refine_full_rank(D, y, info.scales)
        how = (
            "Householder QR of the column-scaled design + augmented-system refinement "
            "(double-double residuals)"
        )
    else:
        w_num, steps, last = _refine_min_norm(D, y, info)
        how = (
            f"minimum-norm solution of the SVD-truncated design (rank {info.rank}, tol {info.tol:.3g}) "
            f"+ refinement (double-double residuals)"
        )
    if not np.all(np.isfinite(w_num)):
        raise FloatingPointError("non-finite refined solution")
    floor = 0.0
    if 0 < info.rank < m:  # row-space error of the truncated SVD, invisible to refinement: ~m eps kappa_r |w|
        floor = m * EPS * float(info.sv[0] / info.sv[info.rank - 1]) * float(np.max(np.abs(w_num)))
    return w_num, {
        "refinement_steps": int(steps),
        "estimated_digits": _estimate_digits(w_num, last, floor),
        "method": how,
    }


def _exact_reference(
    D: np.ndarray, y: np.ndarray, info: _RankInfo, exact_limit: int, ref: _ExactReference
) -> np.ndarray | None:
    """Step 2 of ``refined``: fill ``ref`` with the exact rational solution (when the design is small enough);
    returns it rounded to float64 when it is used as the reference."""
    skip = rational.skip_reason(D, y, exact_limit)
    if skip is not None:
        ref.note = skip
        return None
    try:
        ref.exact = rational.lstsq(D, y)
        w_exact = np.array([float(v) for v in ref.exact.w])  # OverflowError if beyond float64
    except Exception as e:  # noqa: BLE001 - the exact path is a bonus, never fatal
        ref.exact = None
        ref.note = f"exact rational solution unavailable ({type(e).__name__}: {e})"
        return None
    if ref.exact.rank != info.rank:
        # The float64 data are exactly of rank exact.rank but numerically of rank info.rank: the exact
        # solution is then decided by rounding errors in the data (typically huge), so it is not a meaningful
        # reference.  Keep the numerical minimum-norm answer of the rank-info.rank problem instead.
        ref.note = (
            f"exact rank {ref.exact.rank} differs from numerical rank {info.rank} (tol {info.tol:.3g}): the "
            "exact least-squares solution of the stored data (max |w| = "
            f"{float(np.max(np.abs(w_exact))):.3g}) is decided by rounding errors in the data and is not "
            "used as a reference"
        )
        ref.mismatch, ref.exact = ref.exact, None
        return None
    return w_exact


def _solve_refined(p: _Problem) -> SolverOut:
    """The recommended solver (see :func:`least_squares_all`); records the exact reference in ``p.ref``."""
    D, y, info, exact_limit, ref = p.D, p.y, p.info, p.exact_limit, p.ref
    m = D.shape[1]
    msgs: list[str] = []
    extra: dict[str, Any] = {}
    w_num: np.ndarray | None = None
    try:
        w_num, found = _refine_numerically(D, y, info)
        extra.update(found)
    except Exception as e:  # noqa: BLE001 - reported; the exact path may still answer
        w_num = None
        msgs.append(f"numerical refinement failed ({type(e).__name__}: {e})")
    if info.rank < m:
        msgs.append(_deficient_note(info.rank, m, "SVD"))
    w_exact = _exact_reference(D, y, info, exact_limit, ref)
    if ref.exact is None:
        msgs.append(ref.note)
    else:
        extra["method"] = "exact rational minimum-norm least-squares solution, correctly rounded to float64"
        extra["numeric_correct_digits"] = None if w_num is None else lre(w_num, ref.exact.w)
        return w_exact, extra, join(*msgs)
    if w_num is None:
        raise SolverFailure(join(*msgs))
    return w_num, extra, join(*msgs)


@dataclass(frozen=True)
class Solver:
    """One registered least-squares solver: its ``name`` (the artifact's key), what it promises
    (``contract``: how it solves, what it claims, when it fails) and its ``solve`` function."""

    name: str
    contract: str
    solve: Callable[[_Problem], SolverOut]


#: The compared least-squares solvers, in report order. Only ``refined`` claims digits (measured
#: against the exact rational solution where there is one, else its refinement estimate); every other
#: entry is measured against that exact reference (``correct_digits``) and claims nothing a priori.
SOLVERS: tuple[Solver, ...] = (
    Solver(
        "lstsq", "scipy gelsd (SVD): minimum norm over all parameters at rcond max(n, m) eps", _solve_lstsq
    ),
    Solver("qr", "Householder QR without pivoting; fails on a numerically zero R diagonal", _solve_qr),
    Solver(
        "cholesky",
        "normal equations (squares the condition); fails when X'X is not numerically PD",
        _solve_cholesky,
    ),
    Solver("pinv", "explicit pseudo-inverse with numpy's default cutoff rcond 1e-15", _solve_pinv),
    Solver("sklearn", "LinearRegression: centres X, then lstsq", _solve_sklearn),
    Solver("statsmodels", "OLS(method='pinv'), with its standard errors and R^2", _solve_statsmodels),
    Solver(
        "refined",
        "recommended: QR / truncated SVD of the scaled design + double-double refinement; "
        "the exact rational solution when the design is small; claims its digits",
        _solve_refined,
    ),
)
assert tuple(s.name for s in SOLVERS) == LSQ_SOLVERS


def _lsq_entries(
    raw: dict[str, tuple[np.ndarray | None, dict[str, Any], str, bool, float]],
    D: np.ndarray,
    y: np.ndarray,
    features: list[str],
    intercept: bool,
    exact: rational.Exact | None,
) -> dict[str, dict]:
    """The report entry of every least-squares solver that ran, in :data:`LSQ_SOLVERS` order."""
    names = param_names(features, intercept)
    solvers: dict[str, dict[str, Any]] = {}
    for name in (s for s in LSQ_SOLVERS if s in raw):
        w, extra, msg, ok, seconds = raw[name]
        entry = comparison.entry(w, D, y, features, intercept, msg, ok, seconds)
        if name == "statsmodels":
            bse = extra.pop("_bse", None)
            entry["se"] = (
                None if bse is None else {nm: json_float(b) for nm, b in zip(names, bse, strict=True)}
            )
            entry.setdefault("r2", extra.pop("r2", None))
            entry.setdefault("r2_kind", extra.pop("r2_kind", None))
        for key, val in extra.items():
            entry[key] = val
        entry["correct_digits"] = lre(w, exact.w) if (exact is not None and ok and w is not None) else None
        solvers[name] = entry
    return solvers


def _agreement_digits(a: Sequence[float], b: Sequence[float]) -> float:
    """Correct digits of ``a`` against ``b`` (:func:`reglab.linalg.lsq.digits.lre`, ``b`` taken as exact)."""
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return 0.0
    return lre(np.asarray(a, dtype=float), [Fraction(float(v)) for v in b])


def _inference(
    D: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    info: _RankInfo,
    intercept: bool,
    names: list[str],
    coef_digits: float | None,
) -> dict[str, Any]:
    """Standard errors, R² and residual sd of the recommended answer at the accuracy of its coefficients:
    the residual in double-double, then :func:`reglab.linalg.lsq.inference.summary` on the Householder R of
    the column-scaled design (no normal equations, so the condition number enters once, not squared), with
    the digits each keeps."""
    n, m = D.shape
    r = dd.residual(D, w, np.zeros_like(w), y)
    rss = math.fsum(r * r)
    tss = math.fsum((y - math.fsum(y) / n) ** 2) if intercept else math.fsum(y * y)
    full = info.rank == m
    # the uncentred design [X, 1]: the intercept is one of its columns, so no centring term
    factor = inference.triangular(sla.qr(D / info.scales, mode="r")[0][:m]) if full else None
    fit = inference.summary(
        factor, rss=rss, tss=tss, n=n, n_params=info.rank, scales=info.scales, centred=False
    )
    r2, sigma2, dof = fit.r2, fit.sigma2, fit.dof
    # RSS is stationary at the least-squares solution: an error dw in w changes it by |D dw|², second order
    # (|D dw|, estimated with dw = w * 10^-digits in alternating signs: the size of a coefficient error
    # of that many digits, seen through the design)
    d_w = 15.9 if coef_digits is None else min(15.9, float(coef_digits))
    signs = np.where(np.arange(m) % 2 == 0, 1.0, -1.0)
    dev = float(np.linalg.norm(D @ (w * signs * 10.0**-d_w))) ** 2
    rel_rss = max(EPS, dev / rss) if rss > 0 else math.inf
    rss_digits = float(np.clip(-math.log10(rel_rss), 0.0, 15.9)) if np.isfinite(rel_rss) else 0.0
    out: dict[str, Any] = {
        "r2": json_float(r2),
        "r2_kind": "centred" if intercept else "uncentred",
        "residual_sd": json_float(math.sqrt(sigma2)) if dof > 0 else None,
        "residual_sd_digits": rss_digits if dof > 0 else None,
        "r2_digits": (
            float(np.clip(rss_digits + math.log10(max(r2, EPS) / max(1.0 - r2, EPS)), 0.0, 15.9))
            if np.isfinite(r2) and r2 < 1.0
            else (15.9 if r2 == 1.0 else None)
        ),
        "dof": int(dof),
    }
    if full and dof > 0:
        out["se"] = {nm: json_float(float(v)) for nm, v in zip(names, fit.se, strict=True)}
        kappa = float(info.sv[0] / info.sv[-1])
        # diag((DᵀD)⁻¹) from the SVD: relative error ~ 2 κ eps (the smallest singular values' relative error)
        out["se_digits"] = float(
            np.clip(min(15.9 - math.log10(2.0 * max(kappa, 1.0)), rss_digits), 0.0, 15.9)
        )
    else:
        out["se"], out["se_digits"] = None, None  # not identifiable: no finite standard error
    return out


def _check_statsmodels(solvers: dict[str, dict[str, Any]], names: list[str]) -> None:
    """How many digits statsmodels' standard errors and R² share with the accurate ones of ``refined``;
    a message on statsmodels' entry where they keep fewer than 3."""
    sm, ref = solvers["statsmodels"], solvers["refined"]
    if sm["status"] != "ok" or ref["status"] != "ok":
        return
    agree: dict[str, float | None] = {"se_digits": None, "r2_digits": None}
    if sm.get("se") and ref.get("se") and all(sm["se"].get(n) is not None for n in names):
        agree["se_digits"] = _agreement_digits([sm["se"][n] for n in names], [ref["se"][n] for n in names])
    if sm.get("r2") is not None and ref.get("r2") is not None:
        agree["r2_digits"] = _agreement_digits([sm["r2"]], [ref["r2"]])
    sm["agreement_with_refined"] = agree
    weak = [k.replace("_digits", "") for k, v in agree.items() if v is not None and v < 3]
    if weak:
        sm["message"] = join(
            sm["message"],
            f"statsmodels' {' and '.join(weak)} cannot be trusted here: they share "
            + ", ".join(f"{agree[k + '_digits']:.1f} digits ({k})" for k in weak)
            + " with the accurate values of the refined entry",
        )


def _flag_excess_mse(solvers: dict[str, dict[str, Any]], ref_mse: float | None, y: np.ndarray) -> None:
    """Set each entry's ``train_mse_excess`` over the least-squares minimum ``ref_mse``; say so in its message
    when the excess shows it is not a least-squares solution.  Only an EXCESS is suspicious."""
    floor = max(EPS * float(np.mean(y * y)), np.finfo(np.float64).tiny)
    for entry in solvers.values():
        if entry["status"] != "ok" or ref_mse is None:
            entry["train_mse_excess"] = None
            continue
        excess = (entry["train_mse"] - ref_mse) / max(ref_mse, floor)
        entry["train_mse_excess"] = float(excess)
        if excess > 1e-6:
            entry["message"] = join(
                entry["message"],
                f"training MSE {entry['train_mse']:.6g} exceeds the least-squares minimum {ref_mse:.6g}: "
                f"not a least-squares solution to working accuracy",
            )


def _recommendation(
    solvers: dict[str, dict[str, Any]], ref: _ExactReference
) -> tuple[str, float | None, str]:
    """The recommended solver, its correct digits and how they were obtained."""
    recommended = "refined"
    if solvers["refined"]["status"] != "ok":  # should not happen; fall back honestly
        ok = [s for s in ("lstsq", "pinv", "qr") if solvers.get(s, {}).get("status") == "ok"]
        recommended = ok[0] if ok else "refined"
    rec = solvers[recommended]
    if ref.exact is not None and rec["status"] == "ok":
        return (
            recommended,
            rec["correct_digits"],
            "measured against the exact rational least-squares solution",
        )
    if recommended == "refined" and rec["status"] == "ok" and "estimated_digits" in rec:
        method = "estimated from the size of the last iterative-refinement correction (" + ref.note + ")"
        return recommended, rec["estimated_digits"], method
    return recommended, None, "unavailable: the recommended solver failed"


def least_squares_all(
    X: np.ndarray,
    y: np.ndarray,
    *,
    intercept: bool,
    feature_names: Sequence[str],
    exact_limit: int = EXACT_MAX_CELLS,
    solvers: Sequence[str] = LSQ_SOLVERS,
) -> dict:
    """Fit ordinary least squares with every solver in :data:`LSQ_SOLVERS` and report them side by side.

    ``solvers`` (default all) names the ones to run; ``refined`` always runs (the recommended answer and
    the reference the others are measured against). ``solvers=("refined",)`` imports neither statsmodels
    nor scikit-learn: what :func:`reglab.fit` runs.

    Shapes: ``X`` (n, p) float without an intercept column, ``y`` (n,), ``len(feature_names) == p``.  With
    ``intercept=True`` a column of ones is appended last (``m = p + 1`` parameters), else ``m = p``.

    Returns a JSON-serialisable dict::

        {"solvers": {name: {"status": "ok"|"failed", "message": str, "coef": {feature: float} | None,
                            "intercept": float | None, "train_mse": float | None, "seconds": float,
                            "correct_digits": float | None, ...}},
         "recommended": "refined", "correct_digits": float | None, "correct_digits_method": str,
         "rank": int, "n_params": int, "rank_tol": float, "condition_pow2_scaled": float | None,
         "exact_available": bool, "exact_rank": int | None, "exact_train_mse": float | None}

    Solvers: ``lstsq`` (scipy gelsd, minimum norm over all m parameters), ``qr`` (Householder, fails on a
    numerically zero R diagonal), ``cholesky`` (normal equations, fails when X'X is numerically not positive
    definite), ``pinv`` (explicit pseudo-inverse), ``sklearn`` (LinearRegression; centres X), ``statsmodels``
    (OLS, pinv method; extra keys ``se``, ``r2``, ``r2_kind``) and ``refined`` (recommended).

    ``refined`` (the recommended answer):

    1. Columns are scaled to unit 2-norm by exact powers of two.  Full numerical rank (see the module
       docstring for the rank tolerance ``max(n, m) * eps * sigma_max``) -> Householder QR and Bjorck's
       iterative refinement of the augmented system ``[I D; D' 0][r; w] = [y; 0]``; numerically rank deficient
       -> the minimum-norm solution (over the original parameters, intercept included) of the SVD-truncated
       design, refined with the same minimum-norm map.  Residuals are computed with error-free transformations
       (TwoProduct/TwoSum, i.e. double-double), iterates are kept as float64 pairs.  This is more precise than
       ``np.longdouble`` (64-bit mantissa on x86-64, float64 elsewhere) and recovers full float64 accuracy
       whenever ``cond * eps < 1/2``.  Refinement stops when the componentwise correction is below 2^-60 or
       shrinks by less than half (at most 20 steps).
    2. When ``n*m <= exact_limit`` (and ``m <= EXACT_MAX_PARAMS``, and entries fit ``EXACT_MAX_BITS`` bits
       after exact integer scaling) the EXACT minimum-norm least-squares solution of the float64 data is
       computed in rational arithmetic (fraction-free integer elimination).  If its rank equals the numerical
       rank, ``refined`` returns it correctly rounded to float64 and every ok solver gets ``correct_digits`` =
       min over parameters of -log10(relative error vs the exact solution), in [0, 16] (a parameter whose
       exact value is 0 is measured relative to the largest |parameter|); ``exact_available`` is then True.
       If the exact rank differs (columns collinear only up to rounding, e.g. ``x3 = x1 + x2`` computed in
       floats), the exact solution is decided by rounding errors in the data, so it is NOT used:
       ``exact_rank`` reports it and the numerical minimum-norm answer is kept.
    3. Otherwise the top-level ``correct_digits`` is the refinement estimate (``refined.estimated_digits``)
       ``min_i -log10((|dw_i| + floor) / |w_i| + 2^-53)``, where ``dw`` is the last refinement correction (it
       bounds the remaining error while refinement contracts by <= 1/2 per step, and is the noise floor when
       it stagnates), ``2^-53`` is the final rounding to float64, and
       ``floor = m * eps * (sigma_1/sigma_r) * max|w|`` in the rank-deficient case only (error of the computed
       row space, which refinement cannot see); zero components are measured against max |w|.
       ``refined.refinement_steps`` counts the steps and ``refined.numeric_correct_digits`` measures step 1
       against the exact answer when there is one.

    ``exact_train_mse`` is the exact minimal mean squared residual (whenever the exact solution was computed).

    Raises ValueError for bad input (shapes, non-finite values, n < 2, names); individual solvers never raise.
    """
    design = Design.of(X, y, features=feature_names, intercept=intercept)
    Xf, yf, features = design.X, design.y, list(design.features)
    chosen = [s for s in SOLVERS if s.name in set(solvers) | {"refined"}]
    unknown = sorted(set(solvers) - set(LSQ_SOLVERS))
    if unknown:
        raise ValueError(f"unknown solver(s) {unknown}; expected some of {list(LSQ_SOLVERS)}")
    if {"sklearn", "statsmodels"} & set(solvers):
        import_libraries()  # first-call import time must not be charged to a solver's "seconds"
    D = design.matrix()
    n, m = D.shape
    info = _rank_info(D)
    ref = _ExactReference()
    problem = _Problem(Xf, D, yf, intercept, info, exact_limit, ref)
    raw = {s.name: run(partial(s.solve, problem)) for s in chosen}
    exact = ref.exact
    entries = _lsq_entries(raw, D, yf, features, intercept, exact)
    w_ref = raw["refined"][0]
    if entries["refined"]["status"] == "ok" and w_ref is not None:
        digits_w = entries["refined"]["correct_digits"] or entries["refined"].get("estimated_digits")
        entries["refined"].update(_inference(D, yf, w_ref, info, intercept, design.param_names, digits_w))
        if "statsmodels" in entries:
            _check_statsmodels(entries, design.param_names)
    # Is each answer a least-squares solution at all?  Compare its training MSE with the minimum: the exact
    # one when the exact reference is used, else the recommended solver's.
    _flag_excess_mse(
        entries, float(exact.rss / n) if exact is not None else entries["refined"]["train_mse"], yf
    )
    recommended, digits, method = _recommendation(entries, ref)
    computed = exact if exact is not None else ref.mismatch
    return {
        "solvers": entries,
        "recommended": recommended,
        "correct_digits": None if digits is None else float(digits),
        "correct_digits_method": method,
        "rank": int(info.rank),
        "n_params": int(m),
        "rank_tol": float(info.tol),
        "condition_pow2_scaled": info.cond,
        "exact_available": exact is not None,
        "exact_rank": None if computed is None else int(computed.rank),
        "exact_train_mse": None if computed is None else float(computed.rss / n),
    }
