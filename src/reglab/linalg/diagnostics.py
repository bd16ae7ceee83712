"""Identifiability and collinearity diagnostics for a linear-model design matrix.

The one entry point the pipeline uses is :func:`diagnose`, which returns a strictly
JSON-serialisable ``dict`` (plain ``float``/``int``/``str``/``bool``/``None``/``list``/``dict``;
no NaN or Infinity).  **Infinite or undefined numbers are stored as** ``None``; the
``verdict`` sentence spells them out as ``infinite``, and ``vif_none_reason`` says why each
``None`` VIF is ``None``.

Everything is float64 through LAPACK (numpy/scipy).  No explicit inverse is formed:
when ``n > p`` one Householder QR of ``[1, X, y]`` (``Q`` never formed) is taken and
every quantity comes from SVDs of small ``(p+1) x k`` blocks of its triangular factor
(same singular values and right singular vectors as the design, ``O(n p^2)`` in all); when
``n <= p`` the design itself is SVD'd with the full ``V``.  The minimum-norm least-squares
solution is ``V_r diag(1/s_r) U_r^T y`` from that same factorisation.  Belsley-Kuh-Welsch
is hand-written (no library implements it); VIFs come from statsmodels for small designs.

Conventions
-----------
* ``X`` is ``(n, p)`` *without* an intercept column.  With ``intercept=True`` a column of
  ones is appended **last**; parameter names are ``feature_names + ["intercept"]``.
  ``k = n_params = p + intercept``.
* Rank: the one rule of :mod:`reglab.linalg.lsq.rank` (columns scaled by the nearest power of two,
  ``tol = rtol * s_max`` with ``rtol = max(n, k) * eps`` unless ``rank_rtol`` is given), on the R
  factor of the design.  The same *relative* tolerance is used for the unit-norm (BKW) design and for
  the centred design used for VIFs.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from reglab.core.io import json_float
from reglab.core.numbers import sig, spelled
from reglab.linalg.lapack import svd
from reglab.linalg.lsq import inference
from reglab.linalg.lsq import rank as rank_rule
from reglab.linalg.lsq.design import Design

__all__ = [
    "diagnose",
    "null_space_description",
    "vif_values",
    "bkw_decomposition",
    "BKW_CONDITION_THRESHOLD",
    "VIF_THRESHOLD",
    "VIF_STATSMODELS_MAX_P",
    "VIF_STATSMODELS_MAX_WORK",
]

#: Belsley-Kuh-Welsch: a condition index above this signals a damaging near-dependency.
BKW_CONDITION_THRESHOLD: float = 30.0
#: A variance proportion above this ties a parameter to a high condition index.
BKW_PROPORTION_THRESHOLD: float = 0.5
#: Conventional VIF alarm level.
VIF_THRESHOLD: float = 10.0
#: Up to this many features VIFs come from statsmodels (one auxiliary OLS per feature);
#: above it from the diagonal of the (pseudo-)inverse of the correlation matrix via SVD.
VIF_STATSMODELS_MAX_P: int = 50
#: ... and only while the p auxiliary fits stay cheap: n * p**3 (their total flop scale) at
#: most this (2.5e8 -> about a second on 2 cores; measured: 1e5 x 21 takes ~5 s and 1e5 x 50
#: ~45 s through statsmodels, against < 0.3 s through the correlation matrix).
VIF_STATSMODELS_MAX_WORK: float = 2.5e8
#: A parameter is "involved" in a (numerically) exact dependency when the norm of the
#: projection of its unit vector onto the numerical null space exceeds this.
INVOLVEMENT_TOL: float = 1e-6
#: Relative tolerance for ties when choosing the sign-normalising entry of a null vector.
_TIE_RTOL: float = 1e-9

VifMethod = Literal["auto", "statsmodels", "correlation"]


# --------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------
def _svd(a: np.ndarray, full: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`reglab.linalg.lapack.svd` of an ``(m, k)`` array as ``(s, U, V)``: ``V`` the ``(k, k)``
    (``full``) or ``(k, min(m, k))`` matrix of right singular vectors as columns."""
    u, s, vt = svd(a, full_matrices=full, check_finite=False)
    return s, u, vt.T


def _qr_ones_first(x: np.ndarray, y: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Householder-QR triangular factor of ``[1, X]`` (ones column FIRST), ``Q`` never formed.

    ``x`` is ``(n, p)`` with ``n >= p + 1``.  Returns ``T`` of shape ``(p+1, p+1)`` with
    ``[1, X] = Q T`` and, when ``y`` (shape ``(n,)``) is given, ``Q^T y`` of shape ``(p+1,)``
    (the QR is taken of ``[1, X, y]``; Householder QR treats columns left to right, so the
    first ``p+1`` columns of its factor are the factor of ``[1, X]`` alone).

    One factorisation serves everything:

    * ``X = Q T[:, 1:]``  -> singular values / right vectors of the no-intercept design;
    * ``[X, 1] = Q T[:, [1..p, 0]]`` -> same for the design with the intercept last;
    * ``X - mean(X) = Q_2 T[1:, 1:]`` -> the centred design for VIFs (the first Householder
      reflection removes the mean; this is the numerically stable way to centre).
    """
    n, p = x.shape
    a = np.empty((n, p + 1 + (y is not None)), dtype=np.float64)
    a[:, 0] = 1.0
    a[:, 1 : p + 1] = x
    if y is not None:
        a[:, p + 1] = y
    r = np.linalg.qr(a, mode="r")
    return r[: p + 1, : p + 1], (r[: p + 1, p + 1].copy() if y is not None else None)


def _pad(s: np.ndarray, k: int) -> np.ndarray:
    """Pad a singular-value vector with (structural) zeros to length ``k``."""
    out = np.zeros(k)
    out[: s.size] = s
    return out


def _default_rtol(n: int, k: int) -> float:
    return max(n, k) * float(np.finfo(np.float64).eps)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _sign_normalise(v: np.ndarray) -> np.ndarray:
    """Flip ``v`` so that its largest-magnitude entry is positive.

    Ties (within a relative ``1e-9``) go to the first such entry in parameter order, so that
    e.g. ``(1, -1, 1)/sqrt(3)`` is returned as is whatever the round-off.
    """
    mag = np.abs(v)
    top = mag.max()
    if top == 0.0:
        return v
    j = int(np.flatnonzero(mag >= top * (1.0 - _TIE_RTOL))[0])
    return v if v[j] > 0 else -v


def null_space_description(
    vec: Sequence[float] | np.ndarray, names: Sequence[str], *, rtol: float = 1e-6
) -> str:
    """The linear dependency ``sum_j vec[j] * names[j] = 0`` as a readable string.

    ``vec`` has shape ``(k,)`` and ``names`` length ``k``.  Coefficients with
    ``|c| <= rtol * max|c|`` are dropped; coefficients print with 3 significant digits,
    e.g. ``"0.577*x1 - 0.577*x2 + 0.577*intercept = 0"``.
    """
    v = np.asarray(vec, dtype=np.float64).ravel()
    if v.size != len(names):
        raise ValueError(f"vec has {v.size} entries but {len(names)} names were given")
    top = float(np.abs(v).max()) if v.size else 0.0
    terms: list[str] = []
    for c, name in zip(v, names):
        if top == 0.0 or abs(c) <= rtol * top:
            continue
        mag = sig(abs(float(c)), 3)
        if not terms:
            terms.append(f"{'-' if c < 0 else ''}{mag}*{name}")
        else:
            terms.append(f"{'-' if c < 0 else '+'} {mag}*{name}")
    return (" ".join(terms) if terms else "0") + " = 0"


# --------------------------------------------------------------------------------------
# Belsley-Kuh-Welsch
# --------------------------------------------------------------------------------------
def bkw_decomposition(
    s_scaled: np.ndarray, v_scaled: np.ndarray, *, zero_tol: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Condition indices and variance-decomposition proportions (Belsley, Kuh & Welsch 1980).

    Hand-written: there is no library implementation of BKW (statsmodels, scipy and
    scikit-learn have none).

    Parameters
    ----------
    s_scaled : (k,)
        Singular values of the design whose columns (intercept included, *uncentred*) are
        scaled to unit length, descending, padded with zeros to ``k`` when ``n < k``.
    v_scaled : (k, k)
        Matching right singular vectors as columns: ``v_scaled[j, m] = v_jm``.
    zero_tol : float
        Components with ``s_m <= zero_tol`` are numerically exact dependencies.

    Returns
    -------
    eta : (k,)
        Condition indices ``eta_m = s_max / s_m`` (``inf`` where ``s_m == 0``), ascending.
    pi : (k, k)
        ``pi[m, j]`` = proportion of ``var(b_j)`` attributed to component ``m``:
        ``(v_jm^2 / s_m^2) / sum_m' (v_jm'^2 / s_m'^2)``.  Each column sums to 1.
    zero : (k,) bool
        Which components were treated as exact zeros.

    Notes
    -----
    For components with ``s_m <= zero_tol`` the ratio ``1/s_m^2`` is round-off (or a
    division by zero, or an overflow); we use the limit ``s_m -> 0`` (all such ``s_m``
    shrinking together) instead: a parameter with weight ``z_j = sum_{m in zero} v_jm^2``
    above ``INVOLVEMENT_TOL**2`` gets ``pi[m, j] = v_jm^2 / z_j`` on the zero components and
    0 elsewhere; a parameter not involved gets the textbook formula over the non-zero
    components and 0 on the zero ones.
    """
    s = np.asarray(s_scaled, dtype=np.float64)
    v = np.asarray(v_scaled, dtype=np.float64)
    k = s.size
    zero = s <= zero_tol
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.where(s > 0, s[0] / np.where(s > 0, s, 1.0), np.inf) if k else s.copy()
    v2 = v**2
    pi = np.zeros((k, k))
    if k == 0:
        return eta, pi, zero
    z = v2[:, zero].sum(axis=1)  # (k,) weight of each parameter on the exact dependencies
    involved = z > INVOLVEMENT_TOL**2
    nz = ~zero
    if nz.any():
        phi = v2[:, nz] / s[nz] ** 2  # (k_params, k_nonzero)
        tot = phi.sum(axis=1)
        ok = ~involved & (tot > 0)
        pi[np.ix_(nz, ok)] = (phi[ok] / tot[ok, None]).T
    if involved.any():
        pi[np.ix_(zero, involved)] = (v2[np.ix_(involved, zero)] / z[involved, None]).T
    return eta, pi, zero


# --------------------------------------------------------------------------------------
# VIF
# --------------------------------------------------------------------------------------
def _vif_correlation(
    x: np.ndarray, rtol: float | None, centred_factor: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """VIFs from the diagonal of the pseudo-inverse of the correlation matrix.

    ``x`` is ``(n, p)``; ``centred_factor`` (optional) is any ``(r, p)`` matrix ``C`` with
    ``C^T C = Xc^T Xc`` (``Xc`` the centred ``x``), e.g. ``T[1:, 1:]`` from
    :func:`_qr_ones_first`; without it ``x`` is centred explicitly.  Columns are scaled to
    unit length (``Z``, so ``Z^T Z`` is the correlation matrix) and ``Z = U S V^T`` is the
    numerically stable eigendecomposition of ``Z^T Z``; ``VIF_j = [(Z^T Z)^{-1}]_jj =
    sum_m v_jm^2 / s_m^2``.  A feature with weight on the numerical null space of ``Z`` lies
    in the span of the constant and the other features: its VIF is ``inf``.  (When it has no
    such weight, ``[(Z^T Z)^+]_jj`` is exactly its VIF.)  When the triangle of a tall ``Z`` is
    nonsingular, the VIFs come from it by :func:`reglab.linalg.lsq.inference.triangular`, the routine the
    fits' standard errors use.

    Returns ``(vif, constant, infinite)``: ``(p,)`` float array (``nan`` for constant
    columns, ``inf`` for exactly collinear ones), and two ``(p,)`` bool masks.
    """
    n, p = x.shape
    vif = np.full(p, np.nan)
    constant = (np.ptp(x, axis=0) == 0) if n else np.ones(p, dtype=bool)
    infinite = np.zeros(p, dtype=bool)
    idx = np.flatnonzero(~constant)
    q = idx.size
    if q == 0:
        return vif, constant, infinite
    if centred_factor is None:
        c = x[:, idx] - x[:, idx].mean(axis=0)
    else:
        c = centred_factor[:, idx]
    norms = np.linalg.norm(c, axis=0)
    norms[norms == 0] = 1.0  # only reachable through round-off; never divide by zero
    zmat = c / norms
    tall = zmat.shape[0] > q
    if tall:  # reduce to a q x q triangle first
        zmat = np.linalg.qr(zmat, mode="r")
    s, _, v = _svd(zmat, full=zmat.shape[0] < q)
    s = _pad(s, q)
    if rtol is None:
        rtol = _default_rtol(n, p + 1)  # the VIF design is [X, 1]: p + 1 columns
    zero = s <= rtol * s[0]
    v2 = v**2
    z = v2[:, zero].sum(axis=1)
    inf_q = z > INVOLVEMENT_TOL**2
    if tall and not zero.any():  # a nonsingular triangle: the one inference routine's VIFs
        diag = inference.triangular(zmat).vif
    else:  # the pseudo-inverse's diagonal over the numerical range (the null space is judged above)
        with np.errstate(divide="ignore"):
            diag = (v2[:, ~zero] / s[~zero] ** 2).sum(axis=1)
    vif[idx] = np.where(inf_q, np.inf, diag)
    infinite[idx] = inf_q
    return vif, constant, infinite


def vif_values(
    x: np.ndarray,
    *,
    method: VifMethod = "auto",
    rank_rtol: float | None = None,
    centred_factor: np.ndarray | None = None,
) -> tuple[np.ndarray, str, np.ndarray]:
    """Variance inflation factors of the ``p`` features of ``x`` (shape ``(n, p)``).

    statsmodels convention: each VIF is computed with a constant column in the design,
    whether or not the model being diagnosed has an intercept, i.e.
    ``VIF_j = 1 / (1 - R_j^2)`` with ``R_j^2`` from regressing ``x_j`` on the other
    features *and a constant*.

    Methods
    -------
    ``"statsmodels"``
        :func:`statsmodels.stats.outliers_influence.variance_inflation_factor` on
        ``[X, 1]`` for each feature (``p`` auxiliary OLS fits).
    ``"correlation"``
        Diagonal of the inverse of the correlation matrix, from an SVD of the centred,
        unit-scaled features (one factorisation; ``O(n p^2)``).  Algebraically identical.
    ``"auto"``
        ``"statsmodels"`` when ``p <= 50``, ``n > p`` (full column rank of ``[X, 1]``
        possible) and ``n * p**3 <= 2.5e8`` (the auxiliary fits stay within seconds), else
        ``"correlation"`` — so a 1e5 x 300 design or an underdetermined 200 x 300 design
        never runs hundreds of regressions (for ``n <= p`` no regression is run at all).

    Exactly collinear features (in the span of the constant and the other features, as
    judged by the SVD with relative tolerance ``rank_rtol``, default ``max(n, p+1)*eps``)
    get ``inf`` under both methods, so the two agree.  For ``n <= p`` that is generically
    every feature.  Constant features get ``nan`` (``R_j^2`` is 0/0).

    ``centred_factor`` (optional, ``(r, p)``, ``C^T C = Xc^T Xc``) lets a caller that already
    factorised ``[1, X]`` skip the centring; by default it is ``T[1:, 1:]`` from a QR of
    ``[1, X]`` when ``n > p``, else ``x`` is centred explicitly.

    Returns ``(vif, method_used, constant_mask)``: ``(p,)`` float array, str, ``(p,)`` bool.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"x must be 2-D (n, p); got shape {x.shape}")
    n, p = x.shape
    if method == "auto":
        small = p <= VIF_STATSMODELS_MAX_P and n > p and n * float(p) ** 3 <= VIF_STATSMODELS_MAX_WORK
        method = "statsmodels" if small else "correlation"
    if method not in ("statsmodels", "correlation"):
        raise ValueError(f"unknown VIF method {method!r}")
    # VIFs do not depend on the columns' units: bring every column to magnitude ~1 first, so values
    # near 1e±200 do not overflow or underflow the auxiliary fits
    unit = _column_magnitudes(x)
    x = x / unit
    if centred_factor is not None:
        centred_factor = centred_factor / unit
    if centred_factor is None and n > p:
        centred_factor = _qr_ones_first(x)[0][1:, 1:]
    vif, constant, infinite = _vif_correlation(x, rank_rtol, centred_factor)
    if method == "statsmodels":
        from statsmodels.stats.outliers_influence import variance_inflation_factor

        # constant features are dropped from the auxiliary designs: they lie in the span of
        # the added constant, so R_j^2 of the other features is unchanged
        keep = np.flatnonzero(~constant)
        exog = np.column_stack([x[:, keep], np.ones(n)])
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            # statsmodels warns about rank deficiency / ill-conditioning; both are reported here
            warnings.simplefilter("ignore")
            for pos, j in enumerate(keep):
                if infinite[j]:
                    continue
                val = float(variance_inflation_factor(exog, pos))
                vif[j] = val if math.isfinite(val) else np.inf
    return vif, method, constant


# --------------------------------------------------------------------------------------
# main entry point
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Factors:
    """The SVDs :func:`diagnose` needs: of the design (``s_raw`` descending, ``v_raw`` right vectors as
    columns, ``uty = U^T y`` or None) and of its column-scaled form (``s_sc``, ``v_sc``), plus the
    centred-design factor for the VIFs (None when ``n <= p``)."""

    s_raw: np.ndarray
    v_raw: np.ndarray
    uty: np.ndarray | None
    s_sc: np.ndarray
    v_sc: np.ndarray
    centred: np.ndarray | None
    uty_sc: np.ndarray | None = None  # U_sc^T y of the column-scaled design
    scale: np.ndarray | None = None  # 1 / column norms (k,)
    factor: np.ndarray | None = None  # the design (wide) or its R factor (tall): what the rank rule reads
    tall: bool = True


def _column_magnitudes(x: np.ndarray) -> np.ndarray:
    """Each column's largest magnitude (1 for an all-zero column): the scale that brings it near 1."""
    top = np.max(np.abs(x), axis=0) if x.size else np.ones(x.shape[1])
    return np.where(top > 0, top, 1.0)


def _column_norms(x: np.ndarray) -> np.ndarray:
    """Euclidean column norms without overflow or underflow of the squares (values near 1e±200 keep
    their norms), as LAPACK's dnrm2 does: scale each column by its largest magnitude first."""
    safe = _column_magnitudes(x)
    return safe * np.linalg.norm(x / safe, axis=0)  # an all-zero column: 1 * 0


def _factorise(x: np.ndarray, y: np.ndarray | None, intercept: bool) -> _Factors:
    """One Householder QR of ``[1, X, y]`` and small SVDs when ``n > p``, else SVDs of the design itself."""
    n, p = x.shape
    k = p + int(bool(intercept))
    # scale[j] = 1/||d_j|| (a zero column keeps scale 1 and stays zero: s = 0, index inf)
    col_norms = _column_norms(x)
    if intercept:
        col_norms = np.append(col_norms, math.sqrt(n))
    scale = 1.0 / np.where(col_norms > 0, col_norms, 1.0)
    if n >= p + 1:
        # one Householder QR of [1, X, y] (n x (p+2)) serves raw, scaled, centred and y
        t, qty = _qr_ones_first(x, y)
        f = t[:, list(range(1, p + 1)) + [0]] if intercept else t[:, 1:]  # design = Q f
        s_raw, u_f, v_raw = _svd(f, full=False)  # f has p+1 >= k rows: v_raw is (k, k)
        uty = u_f.T @ qty if qty is not None else None
        s_sc, u_sc, v_sc = _svd(f * scale, full=False)
        uty_sc = u_sc.T @ qty if qty is not None else None
        return _Factors(s_raw, v_raw, uty, s_sc, v_sc, t[1:, 1:], uty_sc, scale, f, True)
    d = np.column_stack([x, np.ones(n)]) if intercept else x
    full = n < k  # wide: the full V is needed for the null space
    s_raw, u, v_raw = _svd(d, full=full)
    uty = u.T @ y if y is not None else None
    s_sc, u_sc, v_sc = _svd(d * scale, full=full)
    uty_sc = u_sc.T @ y if y is not None else None
    return _Factors(s_raw, v_raw, uty, s_sc, v_sc, None, uty_sc, scale, d, False)


def _min_norm_solution(
    x: np.ndarray,
    y: np.ndarray,
    intercept: bool,
    fac: _Factors,
    rank: int,
    param_names: list[str],
    n_null: int,
) -> tuple[dict[str, float], float, str]:
    """The minimum-norm least-squares solution ``V_r diag(1/s_r) U_r^T y``, its residual MSE and the
    sentence describing the solution set."""
    n, p = x.shape
    assert fac.uty is not None and fac.uty_sc is not None and fac.scale is not None
    if n_null == 0:  # the unique solution, from the column-scaled SVD (accurate whatever the units)
        b = fac.scale * (fac.v_sc[:, :rank] @ (fac.uty_sc[:rank] / fac.s_sc[:rank]))
    else:  # minimum norm in the features' own units (as numpy lstsq), truncated at the scaled rank
        b = fac.v_raw[:, :rank] @ (fac.uty[:rank] / fac.s_raw[:rank])
    resid = y - x @ b[:p] - (b[p] if intercept else 0.0)
    resid_mse = float(resid @ resid / n)
    min_norm = {nm: float(c) for nm, c in zip(param_names, b)}
    if n_null == 0:
        return (
            min_norm,
            resid_mse,
            "unique: the least-squares solution is min_norm_solution (null space is {0})",
        )
    ts = " + ".join(f"t{i + 1}*null_space[{i}]" for i in range(n_null))
    solution_set = (
        f"min_norm + span(null_space): every least-squares solution is "
        f"min_norm_solution + {ts} for real t (dimension {n_null}), "
        f"all with residual_mse {resid_mse:.3g}"
    )
    return min_norm, resid_mse, solution_set


def _bkw_flagged(eta: np.ndarray, pi: np.ndarray, param_names: list[str]) -> list[dict[str, Any]]:
    """Condition indices above the BKW threshold, each with the parameters whose variance it dominates."""
    k = len(param_names)
    return [
        {
            "index": i,
            "condition_index": json_float(eta[i]),
            "params": [param_names[j] for j in range(k) if pi[i, j] > BKW_PROPORTION_THRESHOLD],
        }
        for i in range(k)
        if eta[i] > BKW_CONDITION_THRESHOLD
    ]


@dataclass(frozen=True)
class _Findings:
    """What the verdict sentence of :func:`diagnose` is built from."""

    n: int
    k: int
    rank: int
    tol: float
    s_min: float
    intercept: bool
    null_desc: list[str]
    constant_columns: list[str]
    cond_scaled: float
    eta: np.ndarray
    flagged: list[dict[str, Any]]
    high_vif: list[tuple[str, float]]
    finite_vifs: list[float]
    copies: list[list[str]] = ()  # groups of features with identical values
    equal_to_target: list[str] = ()  # features identical to the target


def _not_identifiable_verdict(f: _Findings) -> str:
    n, k = f.n, f.k
    head = "not identifiable"
    if n < k:
        head += f" (underdetermined: n = {n} < {k} parameters)"
    nd = k - f.rank
    if nd == 1:
        sv = f"singular value {spelled(f.s_min, 2)} of the unit-norm-column design <= tol {spelled(f.tol, 2)}"
    else:
        sv = f"{nd} singular values <= tol {spelled(f.tol, 2)}, smallest {spelled(f.s_min, 2)}"
        if n < k:
            sv += f"; {k - n} of them structurally zero because n < k"
    parts = [f"{head}: rank {f.rank} < {_plural(k, 'parameter')} ({sv})"]
    if nd == 1:
        parts.append(f"the exact dependency is {f.null_desc[0]}")
    else:
        shown = "; ".join(f"({i + 1}) {dsc}" for i, dsc in enumerate(f.null_desc[:3]))
        more = f"; ... ({nd - 3} more, see null_space)" if nd > 3 else ""
        parts.append(f"a basis of the {nd} exact dependencies: {shown}{more}")
    if f.intercept and f.constant_columns:
        parts.append(f"constant column(s) {', '.join(f.constant_columns)} duplicate the intercept")
    return "; ".join(parts)


def _near_collinear_verdict(f: _Findings) -> str:
    reasons = []
    if f.cond_scaled > BKW_CONDITION_THRESHOLD:
        r_txt = f"scaled condition number {spelled(f.cond_scaled)} > {BKW_CONDITION_THRESHOLD:g} (BKW)"
        ties = [fl for fl in f.flagged if len(fl["params"]) >= 2]
        if ties:
            r_txt += "; " + "; ".join(
                f"condition index {spelled(f.eta[fl['index']])} has variance proportions > "
                f"{BKW_PROPORTION_THRESHOLD:g} on {', '.join(fl['params'])}"
                for fl in ties[:3]
            )
        reasons.append(r_txt)
    if f.high_vif:
        listed = ", ".join(f"{nm} ({spelled(v)})" for nm, v in f.high_vif[:5])
        more = f" and {len(f.high_vif) - 5} more" if len(f.high_vif) > 5 else ""
        note = "" if f.intercept else " (VIFs are computed with a constant; the model has none)"
        reasons.append(f"VIF > {VIF_THRESHOLD:g} for {listed}{more}{note}")
    return (
        f"near-collinear: rank {f.rank} = {_plural(f.k, 'parameter')} (smallest singular value of the "
        f"unit-norm-column design {spelled(f.s_min, 2)} > tol {spelled(f.tol, 2)}), but " + "; ".join(reasons)
    )


def _identifiable_verdict(f: _Findings) -> str:
    vif_txt = (
        f"max VIF {spelled(max(f.finite_vifs))} <= {VIF_THRESHOLD:g}" if f.finite_vifs else "no VIF to check"
    )
    return (
        f"identifiable: rank {f.rank} = {_plural(f.k, 'parameter')} (smallest singular value of the "
        f"unit-norm-column design {spelled(f.s_min, 2)} > tol {spelled(f.tol, 2)}), scaled condition number "
        f"{spelled(f.cond_scaled)} <= {BKW_CONDITION_THRESHOLD:g}, {vif_txt}"
    )


def _verdict(f: _Findings) -> tuple[str, str]:
    """``(verdict_class, verdict)``: not identifiable if rank < k; near-collinear if the scaled condition
    number exceeds 30 or a feature's VIF exceeds 10; else identifiable."""
    if f.rank < f.k:
        verdict_class, verdict = "not identifiable", _not_identifiable_verdict(f)
    elif f.cond_scaled > BKW_CONDITION_THRESHOLD or f.high_vif:
        verdict_class, verdict = "near-collinear", _near_collinear_verdict(f)
    else:
        verdict_class, verdict = "identifiable", _identifiable_verdict(f)
    if f.constant_columns and not f.intercept:
        verdict += f" (constant column(s) {', '.join(f.constant_columns)}: VIF undefined, not counted)"
    for group in f.copies:
        verdict += (
            f"; {', '.join(group[1:])} {'is an exact copy' if len(group) == 2 else 'are exact copies'} "
            f"of {group[0]}"
        )
    if f.equal_to_target:
        verdict += (
            f"; {', '.join(f.equal_to_target)} {'is' if len(f.equal_to_target) == 1 else 'are'} identical to "
            "the target: the fit is trivial (residual 0), the target leaks into the features"
        )
    return verdict_class, verdict


def exact_copies(
    x: np.ndarray, names: Sequence[str], y: np.ndarray | None = None
) -> tuple[list[list[str]], list[str]]:
    """Groups of features whose values are identical (bit for bit), and features identical to ``y``."""
    groups: dict[bytes, list[str]] = {}
    for j, nm in enumerate(names):
        groups.setdefault(np.ascontiguousarray(x[:, j]).tobytes(), []).append(nm)
    copies = [g for g in groups.values() if len(g) > 1]
    target = [] if y is None else groups.get(np.ascontiguousarray(y, dtype=x.dtype).tobytes(), [])
    return copies, list(target)


def diagnose(
    X: np.ndarray,
    *,
    feature_names: Sequence[str],
    intercept: bool,
    y: np.ndarray | None = None,
    rank_rtol: float | None = None,
    vif_method: VifMethod = "auto",
) -> dict[str, Any]:
    """Rank, conditioning, VIF and Belsley-Kuh-Welsch diagnostics of a linear-model design.

    Parameters
    ----------
    X : (n, p)
        Features, without an intercept column.
    feature_names : length p
        Unique names; ``"intercept"`` is reserved when ``intercept=True``.
    intercept : bool
        Append a ones column last; parameters are ``feature_names + ["intercept"]`` (k = p+1).
    y : (n,), optional
        Response; when given the minimum-norm least-squares solution is reported.
    rank_rtol : float, optional
        Relative rank tolerance; absolute ``rank_tol = rank_rtol * s_max``.  Default
        ``max(n, k) * eps`` (as :func:`numpy.linalg.matrix_rank`).
    vif_method : "auto" | "statsmodels" | "correlation"
        How the VIFs are computed (:func:`vif_values`; ``"correlation"`` imports no statsmodels).

    Returns
    -------
    dict (strict JSON: infinite/undefined numbers are ``None``) with keys

    ``n``, ``p``, ``n_params`` (k), ``param_names`` (k), ``intercept``,
    ``rank``, ``rank_rtol``, ``rank_tol`` (absolute), ``identifiable`` (rank == k),
    ``underdetermined`` (n < k),
    ``singular_values`` (raw design, descending, length min(n, k)),
    ``singular_values_scaled`` (unit-length columns, intercept included uncentred),
    ``condition_raw`` (raw s_max/s_min with s_min the k-th singular value, 0 when n < k;
    ``None`` if s_min == 0), ``condition_scaled`` (BKW; largest condition index),
    ``vif`` ({feature: float | None}; ``None`` = infinite, or undefined for a constant column —
    see ``vif_none_reason``), ``vif_none_reason`` ({feature: "infinite" | "constant"}),
    ``vif_method`` ("statsmodels" | "correlation"), ``vif_note``,
    ``bkw`` ({``condition_indices`` (k, ascending; None = infinite),
    ``variance_proportions`` (k rows, one per condition index, x k columns, one per parameter;
    each column sums to 1), ``param_names``, ``zero_components`` (row indices treated as exact
    zeros), ``flagged`` ([{index, condition_index, params}] for condition index > 30, params
    with proportion > 0.5)}),
    ``constant_columns`` (features with zero variance; reported, not dropped),
    ``null_space`` (list of unit vectors of length k, orthonormal, each sign-normalised so its
    largest-magnitude entry is positive; empty when identifiable),
    ``null_space_descriptions`` (each as ``"a*x1 - b*x2 + ... = 0"``),
    ``min_norm_solution`` ({param: float} or ``None`` without y), ``residual_mse``
    (mean squared residual of that solution, divisor n; ``None`` without y),
    ``solution_set`` (sentence; ``None`` without y), ``verdict_class``
    ("identifiable" | "near-collinear" | "not identifiable"), ``verdict`` (sentence).

    Rules: not identifiable if rank < k (always when n < k: "underdetermined");
    near-collinear if condition_scaled > 30 or any (non-constant) feature's VIF > 10;
    else identifiable.

    VIFs: statsmodels convention, always computed with a constant added (also when
    ``intercept=False``).  For p <= 50 (with n > p and n*p**3 <= 2.5e8) via statsmodels'
    auxiliary regressions; for p > 50, n <= p, or larger n, from the diagonal of the inverse of
    the correlation matrix via one SVD (no regressions) — see :func:`vif_values`.  The two
    agree to ~1e-14 relative on well-conditioned designs.

    Cost: one Householder QR of ``[1, X, y]`` (ones first: it also yields the centred design
    for the VIFs) plus SVDs of ``(p+1) x k`` matrices: ``O(n p^2)``; a 1e5 x 300 design takes
    seconds.  With ``n <= p`` the (small) design is SVD'd directly with the full ``V``.
    """
    design = Design.of(X, y, features=feature_names, intercept=intercept, min_rows=1)
    x, names, y = design.X, list(design.features), design.y
    n, p = x.shape
    param_names = names + (["intercept"] if intercept else [])
    k = p + int(bool(intercept))
    m = min(n, k)

    # ---- rank and conditioning ---------------------------------------------------------
    fac = _factorise(x, y, intercept)
    s_raw = fac.s_raw
    rtol = _default_rtol(n, k) if rank_rtol is None else float(rank_rtol)
    if rtol < 0:
        raise ValueError("rank_rtol must be non-negative")
    s_max = float(s_raw[0]) if m else 0.0
    s_raw_k = _pad(s_raw, k)
    cond_raw = s_max / float(s_raw_k[-1]) if k and s_raw_k[-1] > 0 else math.inf
    # the rank is the one rule's (reglab.linalg.lsq.rank: power-of-two column scales, so rescaling a
    # column cannot change it; the raw singular values would let a column of 1e200 hide the others)
    s_sc_k = _pad(fac.s_sc, k)
    decided = (
        rank_rule.of_triangular(fac.factor, n, rtol) if fac.tall else rank_rule.of_design(fac.factor, rtol)
    )
    tol, rank = decided.tol, decided.rank
    identifiable = rank == k
    s_min = float(s_sc_k[-1]) if k else 0.0

    # ---- null space and minimum-norm solution ----------------------------------------
    raw_rank = int(np.count_nonzero(s_raw > rtol * s_max))
    if raw_rank == rank:
        null_vecs = [_sign_normalise(fac.v_raw[:, i]) for i in range(rank, k)]
    else:  # map the scaled design's null vectors back to the features' units
        null_vecs = [
            _sign_normalise(fac.scale * fac.v_sc[:, i] / np.linalg.norm(fac.scale * fac.v_sc[:, i]))
            for i in range(rank, k)
        ]
    null_desc = [null_space_description(v, param_names) for v in null_vecs]
    min_norm, resid_mse, solution_set = (
        _min_norm_solution(x, y, intercept, fac, rank, param_names, len(null_vecs))
        if y is not None
        else (None, None, None)
    )

    # ---- BKW ---------------------------------------------------------------------------
    eta, pi, zero = bkw_decomposition(s_sc_k, fac.v_sc, zero_tol=rtol * (float(s_sc_k[0]) if k else 0.0))
    cond_scaled = float(eta[-1]) if k else math.nan
    flagged = _bkw_flagged(eta, pi, param_names)

    # ---- VIF ---------------------------------------------------------------------------
    vif_arr, vif_method, constant = vif_values(
        x, method=vif_method, rank_rtol=rank_rtol, centred_factor=fac.centred
    )
    vif = {nm: json_float(vif_arr[j]) for j, nm in enumerate(names)}
    vif_none_reason = {
        nm: ("constant" if constant[j] else "infinite") for j, nm in enumerate(names) if vif[nm] is None
    }
    constant_columns = [nm for j, nm in enumerate(names) if constant[j]]
    vif_note = (
        "VIF computed with a constant column added (statsmodels convention)"
        + ("" if intercept else "; the model itself has no intercept")
        + f"; method: {vif_method}"
    )

    # ---- verdict -----------------------------------------------------------------------
    copies, equal_to_target = exact_copies(x, names, y)
    verdict_class, verdict = _verdict(
        _Findings(
            n=n,
            k=k,
            rank=rank,
            tol=tol,
            s_min=s_min,
            intercept=bool(intercept),
            null_desc=null_desc,
            constant_columns=constant_columns,
            cond_scaled=cond_scaled,
            eta=eta,
            flagged=flagged,
            high_vif=[
                (nm, float(vif_arr[j]))
                for j, nm in enumerate(names)
                if not constant[j] and vif_arr[j] > VIF_THRESHOLD
            ],
            finite_vifs=[float(vif_arr[j]) for j in range(p) if not constant[j]],
            copies=copies,
            equal_to_target=equal_to_target,
        )
    )

    return {
        "n": n,
        "p": p,
        "n_params": k,
        "param_names": param_names,
        "intercept": bool(intercept),
        "rank": rank,
        "rank_rtol": float(rtol),
        "rank_tol": float(tol),
        "identifiable": bool(identifiable),
        "underdetermined": bool(n < k),
        "singular_values": [float(s) for s in s_raw],
        "singular_values_scaled": [float(s) for s in fac.s_sc],
        "condition_raw": json_float(cond_raw),
        "condition_scaled": json_float(cond_scaled),
        "vif": vif,
        "vif_none_reason": vif_none_reason,
        "vif_method": vif_method,
        "vif_note": vif_note,
        "bkw": {
            "condition_indices": [json_float(e) for e in eta],
            "variance_proportions": [[float(c) for c in row] for row in pi],
            "param_names": list(param_names),
            "zero_components": [int(i) for i in np.flatnonzero(zero)],
            "flagged": flagged,
        },
        "constant_columns": constant_columns,
        "null_space": [[float(c) for c in v] for v in null_vecs],
        "null_space_descriptions": null_desc,
        "min_norm_solution": min_norm,
        "residual_mse": resid_mse,
        "solution_set": solution_set,
        "duplicate_columns": copies,
        "columns_equal_to_target": equal_to_target,
        "verdict_class": verdict_class,
        "verdict": verdict,
    }
