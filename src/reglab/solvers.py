"""Closed-form linear least squares and logistic-regression MLE, fitted by several solvers side by side.

The point of this module is *honest comparison*: every solver reports what it returned, how long it
took and, whenever it can be known, how many of its digits are correct.  All arithmetic is float64
through LAPACK (numpy / scipy), except

* the ``"refined"`` least-squares solver, which refines in extended precision (``np.longdouble``) and,
  for small designs, computes the *exact* least-squares solution of the float64 data in rational
  arithmetic (every float64 is an exact dyadic rational, so the stored problem has an exact answer);
* the ``"pinv"`` solver, which forms the pseudo-inverse on purpose (it is one of the compared methods).

Conventions used throughout
---------------------------
``X`` is ``(n, p)`` float without an intercept column, ``y`` is ``(n,)``.  When ``intercept=True`` a
column of ones is appended LAST, so the ``m = p + 1`` parameters are ordered ``features..., intercept``
(see :func:`design_matrix` and :func:`param_names`).

Rank tolerance
--------------
The numerical rank of a design ``D`` (``n x m``) is computed from the singular values of ``D S^-1``
where ``S = diag(s_j)`` and ``s_j`` is the power of two nearest to the 2-norm of column ``j`` (so the
scaling is exact and changing the units of a column changes nothing).  A singular value counts as
zero when it is ``<= max(n, m) * eps * sigma_max`` (``eps = 2**-52``), the LAPACK / numpy default.
The same relative tolerance decides when a Householder ``R`` diagonal is numerically zero.

Nothing here imports snakemake or TensorFlow; statsmodels and scikit-learn are imported lazily.
"""

from __future__ import annotations

import math
import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import scipy.linalg as sla
from scipy.optimize import linprog

__all__ = [
    "EXACT_MAX_BITS",
    "EXACT_MAX_CELLS",
    "EXACT_MAX_PARAMS",
    "LSQ_SOLVERS",
    "LOGISTIC_SOLVERS",
    "SEPARATION_TOL",
    "design_matrix",
    "param_names",
    "numerical_rank",
    "exact_least_squares",
    "least_squares_all",
    "logistic_all",
]

EPS: float = float(np.finfo(np.float64).eps)
#: Names of the least-squares solvers, in report order.
LSQ_SOLVERS: tuple[str, ...] = ("lstsq", "qr", "cholesky", "pinv", "sklearn", "statsmodels", "refined")
#: Names of the logistic solvers, in report order.
LOGISTIC_SOLVERS: tuple[str, ...] = ("statsmodels_logit", "sklearn")
#: The exact rational solution is attempted only when ``n * m <= EXACT_MAX_CELLS`` ...
EXACT_MAX_CELLS: int = 5000
#: ... and ``m <= EXACT_MAX_PARAMS`` (the integer elimination is O(m^3) on growing integers) ...
EXACT_MAX_PARAMS: int = 80
#: ... and the bit length of the integer-scaled design entries is at most this (a column whose entries span
#: more than ~10^(EXACT_MAX_BITS*0.3) in magnitude makes the big integers too slow).
EXACT_MAX_BITS: int = 256
#: Separation margin (columns scaled to max |x| = 1, |beta_j| <= 1) below which the LP result counts as zero.
SEPARATION_TOL: float = 1e-7
#: Cholesky of X'X is declared numerically not positive definite when a pivot satisfies
#: ``L_kk**2 <= CHOL_PIVOT_FACTOR * m * eps * (X'X)_kk`` -- the pivot is then rounding noise.
CHOL_PIVOT_FACTOR: float = 10.0
_REFINE_MAX_STEPS: int = 20
_DIGITS_CAP: float = 16.0
_F64_HALF_ULP: float = 2.0**-53


class _SolverFailure(Exception):
    """Raised inside a solver to report a clean, explained failure (status 'failed')."""


# ----------------------------------------------------------------------------------------------
# small public helpers
# ----------------------------------------------------------------------------------------------


def design_matrix(X: np.ndarray, intercept: bool) -> np.ndarray:
    """Return the float64 design: ``X`` (n, p) with a column of ones appended LAST if ``intercept``.

    Shapes: ``X`` (n, p) -> (n, p + 1) when ``intercept`` else (n, p).  Always a new C-contiguous array.
    """
    Xa = np.asarray(X, dtype=np.float64)
    if Xa.ndim != 2:
        raise ValueError(f"X must be a 2-D array of shape (n, p); got {Xa.ndim}-D array of shape {Xa.shape}")
    if intercept:
        return np.ascontiguousarray(np.column_stack([Xa, np.ones(Xa.shape[0])]))
    return np.array(Xa, dtype=np.float64, order="C", copy=True)


def param_names(feature_names: Sequence[str], intercept: bool) -> list[str]:
    """Names of the parameters in design order: ``list(feature_names) + ["intercept"]`` if ``intercept``."""
    names = [str(f) for f in feature_names]
    return names + ["intercept"] if intercept else names


# ----------------------------------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------------------------------


def _validate(
    X: Any, y: Any, intercept: Any, feature_names: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Check inputs, returning float64 ``X`` (n, p), ``y`` (n,) and the feature names as a list."""
    if not isinstance(intercept, (bool, np.bool_)):
        raise ValueError(f"intercept must be a bool; got {type(intercept).__name__} {intercept!r}")
    Xa = np.asarray(X)
    ya = np.asarray(y)
    for name, arr in (("X", Xa), ("y", ya)):
        if arr.dtype.kind not in "biuf":
            raise ValueError(f"{name} must be real numeric (bool/int/float); got dtype {arr.dtype}")
    if Xa.ndim != 2:
        raise ValueError(f"X must be a 2-D array of shape (n, p); got {Xa.ndim}-D array of shape {Xa.shape}")
    if ya.ndim != 1:
        raise ValueError(f"y must be a 1-D array of shape (n,); got {ya.ndim}-D array of shape {ya.shape}")
    n, p = Xa.shape
    if ya.shape[0] != n:
        raise ValueError(f"shape mismatch: X has {n} rows (shape {Xa.shape}) but y has {ya.shape[0]} entries")
    if n < 2:
        raise ValueError(f"need at least n >= 2 observations; got n = {n}")
    if isinstance(feature_names, str):
        raise ValueError("feature_names must be a sequence of strings, not a single string")
    names = list(feature_names)
    if len(names) != p:
        raise ValueError(f"feature_names has {len(names)} entries but X has p = {p} columns")
    if not all(isinstance(f, str) for f in names):
        bad = [type(f).__name__ for f in names if not isinstance(f, str)]
        raise ValueError(f"feature_names must all be str; found {sorted(set(bad))}")
    dup = sorted(k for k, v in Counter(names).items() if v > 1)
    if dup:
        raise ValueError(f"feature_names must be unique; duplicated: {dup}")
    if intercept and "intercept" in names:
        raise ValueError("a feature may not be named 'intercept' when intercept=True (it names the intercept)")
    if p + int(bool(intercept)) == 0:
        raise ValueError("the model has no parameters: X has p = 0 columns and intercept=False")
    Xf = np.asarray(Xa, dtype=np.float64)
    yf = np.asarray(ya, dtype=np.float64)
    for name, arr in (("X", Xf), ("y", yf)):
        bad = ~np.isfinite(arr)
        if bad.any():
            where = np.argwhere(bad)[0]
            kinds = sorted({"NaN" if np.isnan(v) else "inf" for v in arr[bad].ravel()})
            raise ValueError(
                f"{name} must be finite; found {int(bad.sum())} non-finite value(s) ({', '.join(kinds)}), "
                f"first at index {tuple(int(i) for i in where)}"
            )
    return Xf, yf, names


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
        """2-norm condition number of the column-scaled design (None when singular)."""
        if self.sv.size == 0 or self.sv[-1] == 0.0 or self.sv.size < self.scales.size:
            return None
        return float(self.sv[0] / self.sv[-1])


def _pow2_column_scales(D: np.ndarray) -> np.ndarray:
    """(m,) powers of two nearest each column's 2-norm (1.0 for a zero column); dividing by them is exact."""
    amax = np.max(np.abs(D), axis=0) if D.shape[0] else np.zeros(D.shape[1])
    s = np.ones(D.shape[1])
    nz = amax > 0
    if nz.any():
        norms = amax[nz] * np.linalg.norm(D[:, nz] / amax[nz], axis=0)  # overflow-safe 2-norm
        s[nz] = np.ldexp(1.0, np.round(np.log2(norms)).astype(int))
    return s


def _rank_info(D: np.ndarray) -> _RankInfo:
    n, m = D.shape
    scales = _pow2_column_scales(D)
    Ds = D / scales
    try:
        U, sv, Vt = sla.svd(Ds, full_matrices=False, lapack_driver="gesdd")
    except np.linalg.LinAlgError:  # gesdd very rarely fails to converge; gesvd is slower but robust
        U, sv, Vt = sla.svd(Ds, full_matrices=False, lapack_driver="gesvd")
    tol = max(n, m) * EPS * (float(sv[0]) if sv.size else 0.0)
    rank = int(np.sum(sv > tol)) if sv.size and sv[0] > 0 else 0
    return _RankInfo(rank=rank, tol=tol, scales=scales, sv=sv, U=U, Vt=Vt)


def numerical_rank(D: np.ndarray) -> tuple[int, float | None]:
    """Numerical rank of a design ``D`` (n, m) and the 2-norm condition number of its column-scaled form.

    Columns are scaled by powers of two to unit 2-norm (exactly); singular values ``<= max(n, m) * eps *
    sigma_max`` count as zero.  The condition number is None when the scaled design is singular.
    """
    info = _rank_info(np.asarray(D, dtype=np.float64))
    return info.rank, info.cond


# ----------------------------------------------------------------------------------------------
# exact rational least squares
# ----------------------------------------------------------------------------------------------


def _dyadic_ints(v: np.ndarray) -> tuple[list[int], int]:
    """Exact integers ``z`` and exponent ``k`` with ``v == z * 2**-k`` (k may be negative), z as small as possible."""
    ratios = [float(x).as_integer_ratio() for x in v]
    k = max(den.bit_length() - 1 for _, den in ratios)
    z = [num << (k - (den.bit_length() - 1)) for num, den in ratios]
    tz = min(((q & -q).bit_length() - 1 for q in z if q), default=0)  # common trailing zero bits
    if tz:
        z = [q >> tz for q in z]
        k -= tz
    return z, k


def _bareiss_psd(M: list[list[int]], m: int) -> list[int]:
    """Fraction-free (Bareiss) elimination in place on the first ``m`` rows of the augmented integer matrix
    ``M = [G | B]`` with ``G`` (m, m) symmetric positive SEMI-definite.  Diagonal pivots are taken in natural
    order; a zero pivot means the whole row/column of the Schur complement is zero (PSD), so it is skipped.
    Returns the pivot indices (= the first maximal set of linearly independent columns)."""
    prev = 1
    piv: list[int] = []
    ncol = len(M[0]) if M else 0
    for k in range(m):
        rowk = M[k]
        p = rowk[k]
        if p == 0:
            continue
        if p < 0:  # impossible for an exact Gram matrix
            raise ArithmeticError("negative pivot in exact elimination of a Gram matrix")
        piv.append(k)
        for i in range(k + 1, m):
            rowi = M[i]
            f = rowi[k]
            if f:
                for j in range(k + 1, ncol):
                    rowi[j] = (rowi[j] * p - f * rowk[j]) // prev
            else:
                for j in range(k + 1, ncol):
                    rowi[j] = rowi[j] * p // prev
            rowi[k] = 0
        prev = p
    return piv


def _backsub(M: list[list[int]], piv: list[int], col: int) -> tuple[list[int], int]:
    """Fraction-free back substitution after :func:`_bareiss_psd`: returns integers ``t`` and ``det`` with
    ``G[piv][:, piv] @ (t / det) == B[piv, col]`` exactly (``det`` = determinant of that block, > 0)."""
    r = len(piv)
    det = M[piv[-1]][piv[-1]]
    t = [0] * r
    for a in range(r - 1, -1, -1):
        row = M[piv[a]]
        acc = det * row[col]
        for b in range(a + 1, r):
            acc -= row[piv[b]] * t[b]
        q, rem = divmod(acc, row[piv[a]])
        if rem:
            raise ArithmeticError("inexact division in fraction-free back substitution")
        t[a] = q
    return t, det


def _pow2_fraction(num: int, den: int, e: int) -> Fraction:
    return Fraction(num << e, den) if e >= 0 else Fraction(num, den << -e)


@dataclass(frozen=True)
class _Exact:
    w: list[Fraction]  # (m,) exact minimum-norm least-squares solution
    rank: int
    rss: Fraction  # exact residual sum of squares


def _exact_lstsq(D: np.ndarray, y: np.ndarray) -> _Exact:
    """Exact minimum-norm least-squares solution of float64 ``D`` (n, m), ``y`` (n,) in rational arithmetic.

    Each column ``j`` is written exactly as ``Z[:, j] * 2**-k_j`` with integer ``Z`` and ``y = y_int * 2**-k_y``.
    Fraction-free elimination of the integer Gram matrix ``G = Z'Z`` (exact rank, pivot columns ``piv``)
    gives the rank factorisation ``D = F C`` with ``F = D[:, piv]``; then
    ``w = C'(CC')^-1 (F'F)^-1 F'y`` (= ``(D'D)^-1 D'y`` when ``D`` has full column rank).
    """
    n, m = D.shape
    cols = [_dyadic_ints(D[:, j]) for j in range(m)]
    Z = [c[0] for c in cols]
    k = [c[1] for c in cols]
    yi, ky = _dyadic_ints(y)
    G = [[0] * (m + 1) for _ in range(m)]
    for a in range(m):
        za = Z[a]
        for b in range(a, m):
            G[a][b] = G[b][a] = sum(p * q for p, q in zip(za, Z[b], strict=True))
        G[a][m] = sum(p * q for p, q in zip(za, yi, strict=True))
    bvec = [G[a][m] for a in range(m)]  # Z'y_int, kept for the residual sum of squares
    yy = sum(q * q for q in yi)
    M = [row[:] for row in G]
    piv = _bareiss_psd(M, m)
    r = len(piv)
    w: list[Fraction]
    if r == 0:
        w = [Fraction(0)] * m
    else:
        ytil, det = _backsub(M, piv, m)  # det * u, u = LS solution for Z[:, piv] and y_int
        if r == m:
            w = [_pow2_fraction(ytil[j], det, k[j] - ky) for j in range(m)]
        else:
            pivset = set(piv)
            N = [[0] * m for _ in range(r)]  # C_Z = N / det (reduced row echelon rows of Z)
            for a, pa in enumerate(piv):
                N[a][pa] = det
            for j in range(m):
                if j not in pivset:
                    colj, _ = _backsub(M, piv, j)
                    for a in range(r):
                        N[a][j] = colj[a]
            kmax = max(k)
            wt = [1 << (2 * (kmax - kj)) for kj in k]
            H = [[0] * (r + 1) for _ in range(r)]
            for a in range(r):
                Na = N[a]
                for c in range(a, r):
                    H[a][c] = H[c][a] = sum(Na[j] * N[c][j] * wt[j] for j in range(m))
                H[a][r] = ytil[a]
            hpiv = _bareiss_psd(H, r)
            if len(hpiv) != r:
                raise ArithmeticError("C C' is singular in the exact minimum-norm step")
            V, detH = _backsub(H, hpiv, r)
            w = [
                _pow2_fraction(sum(N[a][j] * V[a] for a in range(r)), detH, 2 * kmax - ky - k[j])
                for j in range(m)
            ]
    # RSS = y'y - w'D'y  (valid for any least-squares solution w)
    wdy = sum((wj * _pow2_fraction(bvec[j], 1, -(k[j] + ky)) for j, wj in enumerate(w)), Fraction(0))
    rss = _pow2_fraction(yy, 1, -2 * ky) - wdy
    return _Exact(w=w, rank=r, rss=rss)


def _exact_skip_reason(D: np.ndarray, y: np.ndarray, limit: int) -> str | None:
    n, m = D.shape
    if n * m > limit:
        return f"design too large for the exact rational solution (n*m = {n * m} > {limit})"
    if m > EXACT_MAX_PARAMS:
        return f"too many parameters for the exact rational solution (m = {m} > {EXACT_MAX_PARAMS})"
    bits = 0
    for v in [*(D[:, j] for j in range(m)), y]:
        z, _ = _dyadic_ints(v)
        bits = max(bits, max((abs(q).bit_length() for q in z), default=0))
    if bits > EXACT_MAX_BITS:
        return (
            f"column dynamic range too wide for the exact rational solution "
            f"({bits} bits > {EXACT_MAX_BITS} after exact integer scaling)"
        )
    return None


def exact_least_squares(X: np.ndarray, y: np.ndarray, *, intercept: bool) -> tuple[list[Fraction], int]:
    """Exact minimum-norm least-squares coefficients (as ``Fraction``) of the float64 data and the exact rank.

    Shapes: ``X`` (n, p), ``y`` (n,) -> list of ``p + intercept`` Fractions in design order.  No size limit is
    applied here (cost grows like m^3 on integers of ~m * bits bits); see :func:`least_squares_all`.
    """
    Xf, yf, _ = _validate(X, y, intercept, [f"x{j}" for j in range(np.asarray(X).shape[-1])])
    ex = _exact_lstsq(design_matrix(Xf, intercept), yf)
    return ex.w, ex.rank


def _digits_vs_exact(est: np.ndarray, exact: Sequence[Fraction]) -> float:
    """min over parameters of -log10(relative error), in [0, 16]; computed exactly in rationals.

    A parameter whose exact value is 0 is measured relative to max |exact| instead."""
    scale = max((abs(v) for v in exact), default=Fraction(0))
    if scale == 0:
        return _DIGITS_CAP if all(float(e) == 0.0 for e in est) else 0.0
    worst = Fraction(0)
    for e, x in zip(est, exact, strict=True):
        diff = abs(Fraction(float(e)) - x)
        rel = diff / (abs(x) if x != 0 else scale)
        worst = max(worst, rel)
    if worst == 0:
        return _DIGITS_CAP
    wf = float(worst)
    if wf == 0.0:
        return _DIGITS_CAP
    return float(min(_DIGITS_CAP, max(0.0, -math.log10(wf))))


# ----------------------------------------------------------------------------------------------
# refined (recommended) numerical solution
# ----------------------------------------------------------------------------------------------


def _estimate_digits(w: np.ndarray, dw: np.ndarray | None) -> float:
    """Digits estimate from the last refinement correction: min_i -log10(|dw_i| / |w_i| + 2^-53).

    ``2^-53`` is the final rounding to float64.  Zero components are measured relative to max |w|."""
    w = np.asarray(w, dtype=np.float64)
    scale = float(np.max(np.abs(w))) if w.size else 0.0
    if scale == 0.0:
        return _DIGITS_CAP if dw is None or not np.any(dw) else 0.0
    d = np.zeros_like(w) if dw is None else np.abs(np.asarray(dw, dtype=np.float64))
    denom = np.where(w != 0, np.abs(w), scale)
    rel = float(np.max(d / denom)) + _F64_HALF_ULP
    return float(min(_DIGITS_CAP, max(0.0, -math.log10(rel))))


def _refine_full_rank(D: np.ndarray, y: np.ndarray, scales: np.ndarray) -> tuple[np.ndarray, int, np.ndarray | None]:
    """Householder QR of the exactly column-scaled design, then Bjorck's iterative refinement of the augmented
    system ``[I D; D' 0][r; z] = [y; 0]`` with residuals, solution and residual vector kept in np.longdouble.

    Returns (w (m,), number of refinement steps, last correction in w-coordinates or None)."""
    ld = np.longdouble
    Ds = D / scales  # exact: scales are powers of two
    Q, R = sla.qr(Ds, mode="economic")
    z = sla.solve_triangular(R, Q.T @ y)
    Dl, yl = Ds.astype(ld), y.astype(ld)
    zl = z.astype(ld)
    rl = yl - Dl @ zl
    last: np.ndarray | None = None
    prev_size = math.inf
    steps = 0
    for _ in range(_REFINE_MAX_STEPS):
        f = (yl - rl - Dl @ zl).astype(np.float64)
        g = (-(Dl.T @ rl)).astype(np.float64)
        h = sla.solve_triangular(R, g, trans="T")
        qf = Q.T @ f
        dz = sla.solve_triangular(R, qf - h)
        dr = Q @ h + (f - Q @ qf)
        zl += dz
        rl += dr
        steps += 1
        last = dz
        zmax = float(np.max(np.abs(zl))) if zl.size else 0.0
        size = float(np.max(np.abs(dz))) / zmax if zmax > 0 else float(np.max(np.abs(dz), initial=0.0))
        if size <= 2.0**-64 or size > 0.5 * prev_size:  # converged below float64 resolution / stagnated
            break
        prev_size = size
    w = (zl / scales).astype(np.float64)
    return w, steps, (None if last is None else last / scales)


def _refine_min_norm(D: np.ndarray, y: np.ndarray, info: _RankInfo) -> tuple[np.ndarray, int, np.ndarray | None]:
    """Minimum-norm (over the ORIGINAL parameters) solution of the rank-``r`` truncation of ``D``.

    With the scaled SVD ``D S^-1 ~ U_r Sig_r V_r'`` the truncated design is ``D_r = U_r Sig_r V_r' S``; its row
    space is spanned by ``B = S V_r`` (m, r) = ``Qb Rb``, and its minimum-norm solution is
    ``w = Qb Rb^-T Sig_r^-1 U_r' y``.  That linear map is then applied to residuals ``y - D w`` computed in
    np.longdouble (iterative refinement).  Returns (w, steps, last correction or None)."""
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

    ld = np.longdouble
    Dl, yl = D.astype(ld), y.astype(ld)
    wl = apply(y).astype(ld)
    last: np.ndarray | None = None
    prev_size = math.inf
    steps = 0
    for _ in range(_REFINE_MAX_STEPS):
        dw = apply((yl - Dl @ wl).astype(np.float64))
        wl += dw
        steps += 1
        last = dw
        wmax = float(np.max(np.abs(wl)))
        size = float(np.max(np.abs(dw))) / wmax if wmax > 0 else float(np.max(np.abs(dw)))
        if size <= 2.0**-64 or size > 0.5 * prev_size:
            break
        prev_size = size
    return wl.astype(np.float64), steps, last


# ----------------------------------------------------------------------------------------------
# the compared least-squares solvers; each returns (w (m,), extra keys, message)
# ----------------------------------------------------------------------------------------------

_SolverOut = tuple[np.ndarray, dict[str, Any], str]


def _ill_cond_note(info: _RankInfo) -> str:
    c = info.cond
    if c is not None and c >= 1e8 and info.rank == info.scales.size:
        return f"ill-conditioned design (cond of column-scaled design ~ {c:.1e}; expect ~{math.log10(c):.0f} digits lost)"
    return ""


def _deficient_note(rank: int, m: int, how: str) -> str:
    return f"design is rank deficient ({how} rank {rank} of {m} parameters); minimum-norm solution returned"


def _solve_lstsq(D: np.ndarray, y: np.ndarray, info: _RankInfo) -> _SolverOut:
    n, m = D.shape
    w, _, rank, _ = sla.lstsq(D, y, cond=max(n, m) * EPS, lapack_driver="gelsd")
    msg = _deficient_note(int(rank), m, "gelsd") if rank < m else _ill_cond_note(info)
    return np.asarray(w, dtype=np.float64), {"lapack_rank": int(rank)}, msg


def _solve_qr(D: np.ndarray, y: np.ndarray, info: _RankInfo) -> _SolverOut:
    n, m = D.shape
    if n < m:
        raise _SolverFailure(f"QR needs n >= m: design has n = {n} rows but m = {m} parameters (rank <= {n})")
    Q, R = sla.qr(D, mode="economic")  # Householder (LAPACK geqrf), no pivoting
    diag = np.abs(np.diag(R))
    colnorm = np.linalg.norm(D, axis=0)
    rel = np.divide(diag, colnorm, out=np.zeros_like(diag), where=colnorm > 0)  # = R diag of the scaled design
    tol = max(n, m) * EPS * float(np.max(rel, initial=0.0))
    bad = np.flatnonzero(rel <= tol)
    if bad.size:
        kk = int(bad[0])
        raise _SolverFailure(
            f"design is rank deficient: R[{kk},{kk}]={R[kk, kk]:.3g} (|R[{kk},{kk}]|/||column {kk}|| = {rel[kk]:.3g} "
            f"<= tol {tol:.3g}); numerical rank is {info.rank} of {m} parameters (SVD)"
        )
    if info.rank < m:
        raise _SolverFailure(
            f"design is numerically rank deficient (SVD rank {info.rank} of {m} parameters) although no R diagonal "
            f"is below tol; QR without pivoting would return an arbitrary solution"
        )
    w = sla.solve_triangular(R, Q.T @ y)
    return w, {}, _ill_cond_note(info)


def _solve_cholesky(D: np.ndarray, y: np.ndarray, info: _RankInfo) -> _SolverOut:
    m = D.shape[1]
    G = D.T @ D
    b = D.T @ y
    gdiag = np.diag(G).copy()
    if np.any(gdiag == 0):
        j = int(np.flatnonzero(gdiag == 0)[0])
        raise _SolverFailure(f"X'X is singular: column {j} of the design is all zeros")
    try:
        c, lower = sla.cho_factor(G, lower=False, check_finite=False)
    except np.linalg.LinAlgError as e:
        raise _SolverFailure(f"X'X is not positive definite numerically (LAPACK potrf: {e})") from None
    ratio = np.diag(c) ** 2 / gdiag
    tol = CHOL_PIVOT_FACTOR * m * EPS
    kk = int(np.argmin(ratio))
    if ratio[kk] <= tol:
        raise _SolverFailure(
            f"X'X is not positive definite numerically: Cholesky pivot {kk} has L[{kk},{kk}]^2/(X'X)[{kk},{kk}] = "
            f"{ratio[kk]:.3g} <= {tol:.3g} (rounding noise); numerical rank of the design is {info.rank} of {m}"
        )
    w = sla.cho_solve((c, lower), b, check_finite=False)
    note = ""
    if info.cond is not None and info.cond >= 1e4:
        note = (
            f"normal equations square the condition number (cond(X'X) ~ {info.cond**2:.1e}); "
            f"expect ~{min(16.0, 2 * math.log10(info.cond)):.0f} digits lost"
        )
    return w, {"min_pivot_ratio": float(ratio[kk])}, note


def _solve_pinv(D: np.ndarray, y: np.ndarray, info: _RankInfo) -> _SolverOut:
    m = D.shape[1]
    w = np.linalg.pinv(D) @ y  # deliberate explicit pseudo-inverse: this IS the compared method
    msg = _deficient_note(info.rank, m, "SVD") if info.rank < m else _ill_cond_note(info)
    return w, {}, msg


def _solve_sklearn(X: np.ndarray, y: np.ndarray, intercept: bool, info: _RankInfo) -> _SolverOut:
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


def _solve_statsmodels(D: np.ndarray, y: np.ndarray, info: _RankInfo) -> _SolverOut:
    import statsmodels.api as sm

    res = sm.OLS(y, D).fit(method="pinv")
    w = np.asarray(res.params, dtype=np.float64)
    with np.errstate(all="ignore"):
        bse = np.asarray(res.bse, dtype=np.float64)
        r2 = float(res.rsquared)
    kind = "centered" if getattr(res.model, "k_constant", 0) else "uncentered"
    extra = {"_bse": bse, "r2": r2 if math.isfinite(r2) else None, "r2_kind": kind}
    m = D.shape[1]
    msg = _ill_cond_note(info)
    if info.rank < m:
        msg = _deficient_note(info.rank, m, "SVD") + "; standard errors of non-estimable parameters are meaningless"
    return w, extra, msg


# ----------------------------------------------------------------------------------------------
# running, timing and formatting
# ----------------------------------------------------------------------------------------------


def _import_libraries() -> None:
    """Import statsmodels and scikit-learn (lazily, once) so that import time is not timed as solver time."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import sklearn.linear_model  # noqa: F401
        import statsmodels.api  # noqa: F401


def _warning_text(caught: list[warnings.WarningMessage]) -> str:
    counts = Counter(f"{w.category.__name__}: {str(w.message).strip()}"[:300] for w in caught)
    return "; ".join(f"{t} (x{c})" if c > 1 else t for t, c in counts.items())


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def _run(fn: Callable[[], _SolverOut]) -> tuple[np.ndarray | None, dict[str, Any], str, bool, float]:
    """Run one solver: never raises.  Returns (w or None, extra, message, ok, seconds)."""
    t0 = time.perf_counter()
    w: np.ndarray | None = None
    extra: dict[str, Any] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            w, extra, msg = fn()
            ok = True
        except _SolverFailure as e:
            msg, ok = str(e), False
        except Exception as e:  # a solver must not take the comparison down with it
            msg, ok = f"{type(e).__name__}: {e}", False
    seconds = time.perf_counter() - t0
    msg = _join(msg, _warning_text(caught))
    if ok and (w is None or not np.all(np.isfinite(w))):
        msg, ok, w = _join("solver returned non-finite coefficients", msg), False, None
    return (w if ok else None), extra, msg, ok, seconds


def _f(v: Any) -> float | None:
    """Plain float, or None when not finite."""
    x = float(v)
    return x if math.isfinite(x) else None


def _entry(
    w: np.ndarray | None,
    D: np.ndarray,
    y: np.ndarray,
    features: list[str],
    intercept: bool,
    msg: str,
    ok: bool,
    seconds: float,
) -> dict[str, Any]:
    p = len(features)
    if not ok or w is None:
        return {"status": "failed", "message": msg, "coef": None, "intercept": None, "train_mse": None,
                "seconds": float(seconds)}
    resid = y - D @ w
    return {
        "status": "ok",
        "message": msg,
        "coef": {f: float(w[j]) for j, f in enumerate(features)},
        "intercept": float(w[p]) if intercept else None,
        "train_mse": float(np.mean(resid * resid)),
        "seconds": float(seconds),
    }


def least_squares_all(
    X: np.ndarray,
    y: np.ndarray,
    *,
    intercept: bool,
    feature_names: Sequence[str],
    exact_limit: int = EXACT_MAX_CELLS,
) -> dict:
    """Fit ordinary least squares with every solver in :data:`LSQ_SOLVERS` and report them side by side.

    Shapes: ``X`` (n, p) float without an intercept column, ``y`` (n,), ``len(feature_names) == p``.  With
    ``intercept=True`` a column of ones is appended last (``m = p + 1`` parameters), else ``m = p``.

    Returns a JSON-serialisable dict::

        {"solvers": {name: {"status": "ok"|"failed", "message": str, "coef": {feature: float} | None,
                            "intercept": float | None, "train_mse": float | None, "seconds": float,
                            "correct_digits": float | None, ...}},
         "recommended": "refined", "correct_digits": float | None, "correct_digits_method": str,
         "rank": int, "n_params": int, "rank_tol": float, "cond_scaled": float | None,
         "exact_available": bool, "exact_rank": int | None, "exact_train_mse": float | None}

    Solvers: ``lstsq`` (scipy gelsd, minimum norm over all m parameters), ``qr`` (Householder, fails on a
    numerically zero R diagonal), ``cholesky`` (normal equations, fails when X'X is numerically not positive
    definite), ``pinv`` (explicit pseudo-inverse), ``sklearn`` (LinearRegression; centres X), ``statsmodels``
    (OLS, pinv method; extra keys ``bse``, ``r2``, ``r2_kind``) and ``refined`` (recommended).

    ``refined``: columns are scaled to unit 2-norm by exact powers of two; full numerical rank -> Householder
    QR and Bjorck's iterative refinement of the augmented system with residuals in np.longdouble; numerically
    rank deficient -> minimum-norm solution (in the original parameters) of the SVD-truncated design, refined
    the same way.  When ``n*m <= exact_limit`` (and m <= EXACT_MAX_PARAMS, entries <= EXACT_MAX_BITS bits after
    exact integer scaling) the EXACT minimum-norm least-squares solution of the float64 data is computed in
    rational arithmetic and ``refined`` returns it correctly rounded to float64; every ok solver then gets
    ``correct_digits`` = min over parameters of -log10(relative error vs the exact solution), in [0, 16]
    (a parameter whose exact value is 0 is measured relative to the largest |parameter|).  Otherwise the top-level
    ``correct_digits`` is the refinement estimate ``min_i -log10(|dw_i|/|w_i| + 2^-53)`` from the last correction
    ``dw`` (the last correction bounds the remaining error when refinement contracts by a factor <= 1/2 per
    step, and equals the noise floor when it stagnates; 2^-53 is the final rounding), also reported as
    ``refined.estimated_digits``.  ``refined.refinement_steps`` counts the refinement steps.

    Raises ValueError for bad input (shapes, non-finite values, n < 2, names); individual solvers never raise.
    """
    Xf, yf, features = _validate(X, y, intercept, feature_names)
    _import_libraries()  # first-call import time must not be charged to a solver's "seconds"
    D = design_matrix(Xf, intercept)
    n, m = D.shape
    names = param_names(features, intercept)
    info = _rank_info(D)

    raw: dict[str, tuple[np.ndarray | None, dict[str, Any], str, bool, float]] = {
        "lstsq": _run(lambda: _solve_lstsq(D, yf, info)),
        "qr": _run(lambda: _solve_qr(D, yf, info)),
        "cholesky": _run(lambda: _solve_cholesky(D, yf, info)),
        "pinv": _run(lambda: _solve_pinv(D, yf, info)),
        "sklearn": _run(lambda: _solve_sklearn(Xf, yf, intercept, info)),
        "statsmodels": _run(lambda: _solve_statsmodels(D, yf, info)),
    }

    # --- refined: numerical refinement, then (small designs) the exact rational answer -----------------
    exact: _Exact | None = None
    exact_note = ""

    def refined() -> _SolverOut:
        nonlocal exact, exact_note
        if info.rank == m:
            w_num, steps, last = _refine_full_rank(D, yf, info.scales)
            how = "Householder QR of the column-scaled design + augmented-system refinement (longdouble residuals)"
        else:
            w_num, steps, last = _refine_min_norm(D, yf, info)
            how = (
                f"minimum-norm solution of the SVD-truncated design (rank {info.rank}, tol {info.tol:.3g}) "
                f"+ refinement (longdouble residuals)"
            )
        est = _estimate_digits(w_num, last)
        extra: dict[str, Any] = {"refinement_steps": int(steps), "estimated_digits": est, "method": how}
        msgs = []
        if info.rank < m:
            msgs.append(_deficient_note(info.rank, m, "SVD"))
        skip = _exact_skip_reason(D, yf, exact_limit)
        w_out = w_num
        if skip is None:
            try:
                exact = _exact_lstsq(D, yf)
            except Exception as e:  # pragma: no cover - exact path is a bonus, never fatal
                exact_note = f"exact rational solution failed ({type(e).__name__}: {e})"
        else:
            exact_note = skip
        if exact is not None:
            w_out = np.array([float(v) for v in exact.w])
            extra["method"] = "exact rational minimum-norm least-squares solution, correctly rounded to float64"
            extra["numeric_correct_digits"] = _digits_vs_exact(w_num, exact.w)
            if exact.rank != info.rank:
                msgs.append(
                    f"exact rank {exact.rank} differs from numerical rank {info.rank}: returning the exact solution "
                    f"of the stored float64 data, which is extremely sensitive to any perturbation of the data"
                )
        else:
            msgs.append(exact_note)
        return w_out, extra, _join(*msgs)

    raw["refined"] = _run(refined)

    solvers: dict[str, dict[str, Any]] = {}
    for name in LSQ_SOLVERS:
        w, extra, msg, ok, seconds = raw[name]
        entry = _entry(w, D, yf, features, intercept, msg, ok, seconds)
        if name == "statsmodels":
            bse = extra.pop("_bse", None)
            entry["bse"] = None if bse is None else {nm: _f(b) for nm, b in zip(names, bse, strict=True)}
            entry.setdefault("r2", extra.pop("r2", None))
            entry.setdefault("r2_kind", extra.pop("r2_kind", None))
        for key, val in extra.items():
            entry[key] = val
        entry["correct_digits"] = (
            _digits_vs_exact(w, exact.w) if (exact is not None and ok and w is not None) else None
        )
        solvers[name] = entry

    recommended = "refined"
    if solvers["refined"]["status"] != "ok":  # should not happen; fall back honestly
        recommended = next((s for s in ("lstsq", "pinv", "qr") if solvers[s]["status"] == "ok"), "refined")
    rec = solvers[recommended]
    if exact is not None and rec["status"] == "ok":
        digits: float | None = rec["correct_digits"]
        method = "measured against the exact rational least-squares solution"
    elif recommended == "refined" and rec["status"] == "ok":
        digits = rec["estimated_digits"]
        method = "estimated from the size of the last iterative-refinement correction (" + exact_note + ")"
    else:
        digits, method = None, "unavailable: the recommended solver failed"

    return {
        "solvers": solvers,
        "recommended": recommended,
        "correct_digits": None if digits is None else float(digits),
        "correct_digits_method": method,
        "rank": int(info.rank),
        "n_params": int(m),
        "rank_tol": float(info.tol),
        "cond_scaled": info.cond,
        "exact_available": exact is not None,
        "exact_rank": None if exact is None else int(exact.rank),
        "exact_train_mse": None if exact is None else float(exact.rss / n),
    }


# ----------------------------------------------------------------------------------------------
# logistic regression
# ----------------------------------------------------------------------------------------------


def _bce(D: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """Mean binary cross-entropy of ``sigmoid(D @ w)`` against 0/1 ``y``, computed stably."""
    eta = D @ w
    return float(np.mean(np.logaddexp(0.0, eta) - y * eta))


def _separation(D: np.ndarray, y: np.ndarray) -> tuple[str, np.ndarray | None, str]:
    """Detect (quasi-)complete separation by linear programming (Albert & Anderson 1984; Konis 2007).

    With ``A = diag(2y-1) D`` (columns scaled to max |a| = 1) and ``|beta_j| <= 1``:

    * complete separation  <=>  max t  s.t.  A beta >= t  has t* > 0  (all inequalities strict);
    * quasi-complete       <=>  max sum(A beta)  s.t.  A beta >= 0  is > 0 (some strict), but not complete.

    Margins below :data:`SEPARATION_TOL` count as zero.  Returns (kind, direction in the original parameter
    scale normalised to max |beta| = 1 or None, note)."""
    n, m = D.shape
    A = (2.0 * y - 1.0)[:, None] * D
    cmax = np.max(np.abs(A), axis=0)
    cscale = np.where(cmax > 0, cmax, 1.0)
    As = A / cscale

    def direction(b: np.ndarray) -> np.ndarray:
        d = b / cscale
        return d / np.max(np.abs(d))

    # complete separation: variables (beta, t)
    res = linprog(
        c=np.r_[np.zeros(m), -1.0],
        A_ub=np.hstack([-As, np.ones((n, 1))]),
        b_ub=np.zeros(n),
        bounds=[(-1.0, 1.0)] * m + [(None, 1.0)],
        method="highs",
    )
    if res.status != 0:
        return "unknown", None, f"separation LP failed ({res.message})"
    beta = res.x[:m]
    a = As @ beta
    if -res.fun > SEPARATION_TOL and a.min() > SEPARATION_TOL / 2:
        return "complete", direction(beta), ""
    res = linprog(c=-As.sum(axis=0), A_ub=-As, b_ub=np.zeros(n), bounds=[(-1.0, 1.0)] * m, method="highs")
    if res.status != 0:
        return "unknown", None, f"separation LP failed ({res.message})"
    beta = res.x
    a = As @ beta
    if -res.fun > SEPARATION_TOL and a.max() > SEPARATION_TOL and a.min() >= -SEPARATION_TOL:
        return "quasi-complete", direction(beta), ""
    return "none", None, ""


def _fit_statsmodels_logit(D: np.ndarray, y: np.ndarray) -> _SolverOut:
    import statsmodels.api as sm

    res = sm.Logit(y, D).fit(disp=0, method="newton", maxiter=100)
    w = np.asarray(res.params, dtype=np.float64)
    with np.errstate(all="ignore"):
        bse = np.asarray(res.bse, dtype=np.float64)
    converged = bool(res.mle_retvals.get("converged", False))
    extra = {"_bse": bse, "log_likelihood": _f(res.llf), "converged": converged}
    return w, extra, "" if converged else "Newton iterations did not converge"


def _fit_sklearn_logit(X: np.ndarray, y: np.ndarray, intercept: bool) -> _SolverOut:
    from sklearn.linear_model import LogisticRegression

    # C=inf is scikit-learn's (1.8+) spelling of penalty=None: the unpenalised MLE.
    model = LogisticRegression(C=np.inf, solver="lbfgs", max_iter=10_000, tol=1e-10, fit_intercept=intercept)
    model.fit(X, y)
    coef = np.asarray(model.coef_, dtype=np.float64).ravel()
    w = np.concatenate([coef, [float(np.ravel(model.intercept_)[0])]]) if intercept else coef
    n_iter = int(np.max(model.n_iter_))
    return w, {"n_iter": n_iter, "converged": n_iter < model.max_iter}, ""


def logistic_all(X: np.ndarray, y: np.ndarray, *, intercept: bool, feature_names: Sequence[str]) -> dict:
    """Unpenalised logistic regression (MLE) by statsmodels Logit (Newton) and scikit-learn (lbfgs, C=inf).

    Shapes: ``X`` (n, p) float without an intercept column, ``y`` (n,) with values in {0, 1}.  Separation is
    detected BEFORE fitting by linear programming (see :func:`_separation`); when the data are separated the
    MLE does not exist, both solvers are still run and their numbers are wherever the optimiser stopped.

    Returns a JSON-serialisable dict::

        {"solvers": {"statsmodels_logit": {"status", "message", "coef", "intercept", "bse", "log_likelihood",
                                           "train_bce", "seconds", "converged"},
                     "sklearn": {"status", "message", "coef", "intercept", "train_bce", "log_likelihood",
                                 "seconds", "converged", "n_iter"}},
         "separation": "none" | "quasi-complete" | "complete"   ("unknown" only if the LP solver itself fails),
         "separating_direction": {param: float} | None, "mle_exists": bool | None, "message": str,
         "rank": int, "n_params": int}

    ``train_bce`` is the mean binary cross-entropy on the training data.  Raises ValueError for bad input
    (including y not binary 0/1); individual solvers never raise.
    """
    Xf, yf, features = _validate(X, y, intercept, feature_names)
    bad = ~np.isin(yf, (0.0, 1.0))
    if bad.any():
        vals = np.unique(yf[bad])[:5]
        raise ValueError(f"y must be binary with values 0/1; found {int(bad.sum())} other value(s), e.g. {vals.tolist()}")
    _import_libraries()
    D = design_matrix(Xf, intercept)
    n, m = D.shape
    names = param_names(features, intercept)
    rank = _rank_info(D).rank

    kind, direction, lp_note = _separation(D, yf)
    mle_exists: bool | None = {"none": True, "complete": False, "quasi-complete": False}.get(kind)
    if kind == "none":
        message = "no separation: the maximum-likelihood estimate exists"
        if rank < m:
            message += f", but the design is rank deficient (rank {rank} of {m}) so it is not unique"
    elif kind == "unknown":
        message = f"separation could not be checked: {lp_note}"
    else:
        message = (
            f"{kind} separation detected by linear programming: the maximum-likelihood estimate does not exist "
            f"(the log-likelihood keeps increasing as the coefficients diverge along the separating direction); "
            f"the reported coefficients, standard errors and losses are wherever each optimiser stopped"
        )

    raw = {
        "statsmodels_logit": _run(lambda: _fit_statsmodels_logit(D, yf)),
        "sklearn": _run(lambda: _fit_sklearn_logit(Xf, yf, intercept)),
    }
    solvers: dict[str, dict[str, Any]] = {}
    for name in LOGISTIC_SOLVERS:
        w, extra, msg, ok, seconds = raw[name]
        entry = _entry(w, D, yf, features, intercept, msg, ok, seconds)
        entry.pop("train_mse")
        entry["train_bce"] = _bce(D, yf, w) if ok and w is not None else None
        if name == "statsmodels_logit":
            bse = extra.pop("_bse", None)
            entry["bse"] = None if bse is None else {nm: _f(b) for nm, b in zip(names, bse, strict=True)}
            entry["log_likelihood"] = extra.pop("log_likelihood", None)
        elif ok and w is not None:
            entry["log_likelihood"] = float(-n * entry["train_bce"])
        else:
            entry["log_likelihood"] = None
        entry.update(extra)
        solvers[name] = entry

    return {
        "solvers": solvers,
        "separation": kind,
        "separating_direction": None if direction is None else {nm: float(v) for nm, v in zip(names, direction, strict=True)},
        "mle_exists": mle_exists,
        "message": message,
        "rank": int(rank),
        "n_params": int(m),
    }
