"""Closed-form theory of gradient descent on linear least squares, used to explain Keras' convergence.

Conventions (shared with :mod:`reglab.linalg.solvers` and :mod:`reglab.linalg.reference_solvers`)
------------------------------------------------------------------------------------
The loss is Keras' mean squared error over the ``n`` rows of the design ``A`` (``n x p``; features first,
then a ones column LAST when there is an intercept, see :func:`reglab.linalg.lsq.design.design_matrix`)::

    L(w) = mean((A w - b)**2),    grad L(w) = (2/n) A'(A w - b),    H = (2/n) A'A.

Full-batch gradient descent is ``w <- w - eta * (2/n) A'(A w - b)``.

Everything is float64 through LAPACK; one thin SVD ``A = U diag(s) V'`` per call carries all the results
(no explicit inverse, no normal-equations matrix).

Mode picture used by :func:`gd_loss_curve` / :func:`predicted_gd_steps`
---------------------------------------------------------------------
The residual ``r_k = A w_k - b`` obeys ``r_{k+1} = (I - eta (2/n) A A') r_k`` exactly, so with
``c = U' r_0`` (coordinates of the initial residual on the left singular vectors) and
``lambda_i = 2 s_i**2 / n``::

    L(w_k) = (1/n) [ sum_{i <= rank} c_i**2 (1 - eta lambda_i)**(2k)  +  ||r_0 - U_rank U_rank' r_0||**2 ]
           = L*    + (1/n) ||A (w_k - w*)||**2 ,

where ``L* = min L`` and the first sum is the excess loss.  Singular values at or below the rank tolerance
are treated as exactly zero (their ``eta * lambda`` is below ``2 * (max(n, p) eps)**2``, so their factor is 1
to far more digits than float64 keeps).  Powers are computed as ``exp(k * log((1 - eta lambda)**2))`` with
``log1p`` so that slowly decaying modes keep full relative accuracy for huge ``k``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.linalg as sla

from reglab.core.io import json_float
from reglab.core.stats import mse
from reglab.linalg.lapack import svd
from reglab.linalg.lsq import rank as rank_rule
from reglab.linalg.validate import check_A, check_Abw, check_eta, check_vec

__all__ = [
    "Spectrum",
    "hessian_spectrum",
    "gd_loss_curve",
    "predicted_gd_steps",
    "implicit_bias_limit",
    "float_floor",
    "relative_coef_error",
    "polyak_average",
]

EPS: float = float(np.finfo(np.float64).eps)


# ----------------------------------------------------------------------------------------------
# rank tolerance
# ----------------------------------------------------------------------------------------------


def _rank(A: np.ndarray, rtol: float | None = None) -> int:
    """The rank of ``A`` by the one rule (:mod:`reglab.linalg.lsq.rank`: power-of-two column scaling,
    ``max(n, p) * eps * sigma_1``): GD sees the unscaled ``A``, but whether a direction exists at all is a
    property of the design, decided as every other path decides it."""
    return rank_rule.of_design(A, rtol).rank


# ----------------------------------------------------------------------------------------------
# Hessian spectrum
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spectrum:
    """Eigen-structure of the MSE Hessian ``H = (2/n) A'A``.

    Attributes
    ----------
    eigenvalues : (p,) float64, descending; all ``p`` eigenvalues of ``H`` (``2 s_i**2 / n`` for the
        ``min(n, p)`` singular values ``s_i`` of ``A``, then exact zeros when ``p > n``).
    lambda_max : largest eigenvalue (the smoothness constant ``L`` of the loss).
    lambda_min_nonzero : smallest eigenvalue above the rank tolerance (NaN when the rank is 0).
    rank : the one rank rule's (reglab.linalg.lsq.rank) on the column-scaled ``A``.
    tol : the largest eigenvalue counted as zero (0 at full rank): eigenvalues ``<= tol`` count as zero.
    condition_number : ``lambda_max / lambda_min_nonzero`` on the row space (``kappa(A)**2``); NaN at rank 0.
    stability_limit : ``2 / lambda_max``, the largest learning rate for which full-batch GD does not diverge
        (``inf`` when ``A == 0``).
    """

    eigenvalues: np.ndarray
    lambda_max: float
    lambda_min_nonzero: float
    rank: int
    tol: float
    condition_number: float
    stability_limit: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-able dict (lists and floats; non-finite values become ``None``)."""
        return {
            "eigenvalues": [json_float(float(v)) for v in self.eigenvalues],
            "lambda_max": json_float(self.lambda_max),
            "lambda_min_nonzero": json_float(self.lambda_min_nonzero),
            "rank": int(self.rank),
            "tol": json_float(self.tol),
            "condition_number": json_float(self.condition_number),
            "stability_limit": json_float(self.stability_limit),
        }


def hessian_spectrum(A: np.ndarray, *, rtol: float | None = None) -> Spectrum:
    """Spectrum of the MSE Hessian ``H = (2/n) A'A`` of a design ``A`` (n, p), from the SVD of ``A``.

    The eigenvalues are ``2 s**2 / n`` (never formed from ``A'A``, so small ones keep their relative
    accuracy down to ``eps * s_max``).  The rank is the one rule's (:mod:`reglab.linalg.lsq.rank`; ``rtol``
    overrides its relative tolerance ``max(n, p) * eps``) on the column-scaled ``A``; the eigenvalues are the
    unscaled ``A``'s, which is what GD sees.  ``tol`` is the largest eigenvalue counted as zero (0 at full
    rank).
    """
    Aa = check_A(A)
    n, p = Aa.shape
    s = sla.svdvals(Aa)
    rank = _rank(Aa, rtol) if s.size and s[0] > 0 else 0
    eig = np.zeros(p)
    eig[: s.size] = 2.0 * s**2 / n
    lam_max = float(eig[0])
    lam_min = float(eig[rank - 1]) if rank > 0 else math.nan
    return Spectrum(
        eigenvalues=eig,
        lambda_max=lam_max,
        lambda_min_nonzero=lam_min,
        rank=rank,
        tol=float(eig[rank]) if rank < p else 0.0,
        condition_number=lam_max / lam_min if rank > 0 else math.nan,
        stability_limit=2.0 / lam_max if lam_max > 0 else math.inf,
    )


# ----------------------------------------------------------------------------------------------
# GD loss curve (mode decomposition)
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _GDModes:
    """Loss of GD after ``k`` steps: ``floor + sum_i weight_i * exp(k * logq_i)``."""

    weight: np.ndarray  # (r,) c_i**2 / n for the modes with c_i != 0 (row-space modes only)
    logq: np.ndarray  # (r,) log((1 - eta lambda_i)**2), -inf when eta lambda_i == 1
    qm1: (
        np.ndarray
    )  # (r,) (1 - eta lambda_i)**2 - 1 = eta lambda_i (eta lambda_i - 2), computed without cancellation
    floor: float  # L* = min over w of the loss (numerically-zero modes included)

    def powers(self, k: int) -> np.ndarray:
        if k == 0:
            return np.ones_like(self.logq)
        with np.errstate(over="ignore"):
            return np.exp(float(k) * self.logq)

    def excess(self, k: int) -> float:
        return float(np.sum(self.weight * self.powers(k)))

    def loss(self, k: int) -> float:
        return self.floor + self.excess(k)

    def diff(self, k: int) -> float:
        """``excess(k + 1) - excess(k)`` as a sum of per-mode differences (no cancellation)."""
        with np.errstate(invalid="ignore"):
            terms = self.weight * self.powers(k) * self.qm1
        return float(np.sum(np.nan_to_num(terms, nan=0.0, posinf=math.inf, neginf=-math.inf)))

    @property
    def stable(self) -> bool:
        """True when no mode that is present grows (every |1 - eta lambda| <= 1), so the loss is
        non-increasing."""
        return bool(np.all(self.qm1 <= 0.0))


def _gd_modes(A: Any, b: Any, w0: Any, eta: Any) -> _GDModes:
    Aa, ba, wa = check_Abw(A, b, w0)
    e = check_eta(eta)
    n, p = Aa.shape
    U, s, _ = svd(Aa)
    r = _rank(Aa) if s.size and s[0] > 0 else 0
    r0 = Aa @ wa - ba
    c = U.T @ r0
    perp = r0 - U[:, :r] @ c[:r]  # part of the residual no GD step can touch
    floor = (float(perp @ perp)) / n
    c_r = c[:r]
    keep = c_r != 0.0
    x = e * 2.0 * s[:r][keep] ** 2 / n  # eta * lambda_i
    with np.errstate(divide="ignore"):
        logabs = np.where(x < 1.0, np.log1p(-np.minimum(x, 1.0)), np.log(np.abs(x - 1.0)))
    return _GDModes(weight=c_r[keep] ** 2 / n, logq=2.0 * logabs, qm1=x * (x - 2.0), floor=floor)


def _check_steps(steps: Any) -> np.ndarray:
    k = np.asarray(steps)
    if k.dtype.kind not in "iu":
        if k.dtype.kind == "f" and np.all(np.isfinite(k)) and np.all(k == np.round(k)):
            k = k.astype(np.int64)
        else:
            raise ValueError(f"steps must be non-negative integers; got dtype {k.dtype}")
    if np.any(k < 0):
        raise ValueError("steps must be non-negative integers (0 = the initial point)")
    return k


def gd_loss_curve(A: np.ndarray, b: np.ndarray, w0: np.ndarray, eta: float, steps: np.ndarray) -> np.ndarray:
    """Exact (infinite-precision) MSE of full-batch GD after ``k`` steps, for every ``k`` in ``steps``.

    Shapes: ``A`` (n, p), ``b`` (n,), ``w0`` (p,), ``steps`` any shape of non-negative integers (0 is the
    starting point); returns float64 of ``steps``' shape.  No simulation: one SVD, then ``O(min(n, p))`` per
    entry (see the module docstring for the formula).  For ``eta > 2 / lambda_max`` the growing modes make the
    loss overflow to ``inf`` eventually, as the real iteration does.
    """
    modes = _gd_modes(A, b, w0, eta)
    k = _check_steps(steps)
    flat = k.ravel().astype(np.float64)
    out = np.empty(flat.size)
    block = max(1, (1 << 20) // max(1, modes.logq.size))
    with np.errstate(over="ignore", invalid="ignore"):
        for i in range(0, flat.size, block):
            kk = flat[i : i + block, None]
            P = np.where(kk == 0.0, 1.0, np.exp(kk * modes.logq[None, :]))  # k = 0 -> 1 even when logq = -inf
            out[i : i + block] = modes.floor + P @ modes.weight
    return out.reshape(k.shape)


def predicted_gd_steps(
    A: np.ndarray,
    b: np.ndarray,
    w0: np.ndarray,
    eta: float,
    tol: float,
    *,
    kind: Literal["loss", "excess_loss"] = "loss",
    max_steps: int = 10**9,
) -> int | None:
    """Smallest ``k`` in ``[0, max_steps]`` with ``loss(k) <= tol`` (``kind="loss"``) or
    ``loss(k) - L* <= tol`` (``kind="excess_loss"``) for full-batch GD with step ``eta``; ``None`` when there
    is no such ``k``.

    Shapes: ``A`` (n, p), ``b`` (n,), ``w0`` (p,).  One SVD, then ``O(min(n, p))`` per evaluation and
    ``O(log max_steps)`` evaluations:

    * ``eta <= 2 / lambda_max`` (every present mode has ``|1 - eta lambda| <= 1``): the loss is non-increasing
      in ``k``, so the first crossing is found by bisection.  ``None`` when ``tol`` is below the limit
      (e.g. ``tol < L*`` for ``kind="loss"``) or the crossing lies beyond ``max_steps``.
    * ``eta > 2 / lambda_max``: GD diverges, but the loss as a function of ``k`` is a sum of exponentials
      ``a_i q_i**k``, hence convex; its minimiser is found by bisection on the sign of the forward
      difference (computed mode by mode, without cancellation), and the first crossing by bisection
      before it.  So the answer is ``None`` unless the loss dips below ``tol`` before blowing up
      (e.g. when it starts below ``tol``, or the unstable modes carry almost no weight).
    """
    modes = _gd_modes(A, b, w0, eta)
    if kind not in ("loss", "excess_loss"):
        raise ValueError(f"kind must be 'loss' or 'excess_loss'; got {kind!r}")
    t = float(tol)
    if not math.isfinite(t) or t < 0.0:
        raise ValueError(f"tol must be finite and >= 0; got {tol!r}")
    if isinstance(max_steps, bool) or not isinstance(max_steps, (int, np.integer)) or max_steps < 0:
        raise ValueError(f"max_steps must be a non-negative integer; got {max_steps!r}")
    hi_end = int(max_steps)
    value = modes.loss if kind == "loss" else modes.excess

    if modes.stable:
        last = hi_end
    else:
        # minimiser of a convex sequence: first k with value(k+1) - value(k) >= 0
        lo, hi = 0, hi_end
        while lo < hi:
            mid = (lo + hi) // 2
            if modes.diff(mid) >= 0.0:
                hi = mid
            else:
                lo = mid + 1
        last = lo
    if not value(last) <= t:
        return None
    lo, hi = 0, last  # value is non-increasing on [0, last] and value(last) <= t
    while lo < hi:
        mid = (lo + hi) // 2
        if value(mid) <= t:
            hi = mid
        else:
            lo = mid + 1
    return lo


# ----------------------------------------------------------------------------------------------
# implicit bias
# ----------------------------------------------------------------------------------------------


def implicit_bias_limit(A: np.ndarray, b: np.ndarray, w0: np.ndarray) -> np.ndarray:
    """Limit of full-batch GD (any ``0 < eta < 2 / lambda_max``) started at ``w0``: ``w_mn + P_null w0``.

    Shapes: ``A`` (n, p), ``b`` (n,), ``w0`` (p,) -> (p,).  GD moves only inside the row space of ``A``
    (every gradient is ``A' r``), so the null-space part ``P_null w0 = w0 - V_r V_r' w0`` is kept and the
    row-space part converges to the minimum-norm least-squares solution ``w_mn = V_r diag(1/s_r) U_r' b``
    (``numpy.linalg.lstsq(A, b)`` where the rank is clear; the rank by the one rule, as
    :func:`hessian_spectrum`). At exactly ``eta = 2 / lambda_max`` the top mode oscillates instead of
    converging.
    """
    Aa, ba, wa = check_Abw(A, b, w0)
    U, s, Vt = svd(Aa)
    r = _rank(Aa) if s.size and s[0] > 0 else 0
    Vr = Vt[:r]
    w_mn = Vr.T @ ((U[:, :r].T @ ba) / s[:r])
    return w_mn + (wa - Vr.T @ (Vr @ wa))


# ----------------------------------------------------------------------------------------------
# floating-point floor, error measures, averaging
# ----------------------------------------------------------------------------------------------


def float_floor(A: np.ndarray, b: np.ndarray, w_exact: np.ndarray, dtype: Any = "float32") -> dict[str, Any]:
    """How low a training run in ``dtype`` can push the MSE, given the float64 solution ``w_exact``.

    Shapes: ``A`` (n, p), ``b`` (n,), ``w_exact`` (p,).  Returns a JSON-able dict:

    * ``"loss_exact"``: MSE of ``w_exact`` evaluated in float64;
    * ``"loss_exact_rounded"``: MSE (in float64) of ``w_exact`` rounded to ``dtype`` and back -- the price of
      merely *storing* the weights in ``dtype``;
    * ``"loss_evaluated_in_dtype"``: MSE computed entirely in ``dtype`` (``A``, ``b`` and ``w`` cast to
      ``dtype``; matmul, subtraction, squares and mean in ``dtype``) -- the floor that a ``dtype`` run's own
      logged loss can show (Keras sums in its own order, so it agrees to rounding, not bit for bit);
    * ``"dtype"`` (name) and ``"eps"`` (machine epsilon of ``dtype``).
    """
    Aa = check_A(A)
    n, p = Aa.shape
    ba = check_vec(b, n, "b", "one target per row of A")
    wa = check_vec(w_exact, p, "w_exact", "one weight per column of A")
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"dtype must name a numpy floating dtype; got {dtype!r}") from None
    if dt.kind != "f":
        raise ValueError(f"dtype must be a real floating dtype (e.g. 'float32'); got {dt}")
    w_rounded = wa.astype(dt).astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        r_dt = Aa.astype(dt) @ wa.astype(dt) - ba.astype(dt)
        loss_dt = float(np.mean(r_dt * r_dt, dtype=dt))
    return {
        "dtype": str(dt),
        "eps": float(np.finfo(dt).eps),
        "loss_exact": mse(Aa @ wa - ba),
        "loss_exact_rounded": mse(Aa @ w_rounded - ba),
        "loss_evaluated_in_dtype": loss_dt,
    }


def relative_coef_error(w: np.ndarray, w_ref: np.ndarray) -> float:
    """``||w - w_ref||_2 / ||w_ref||_2`` for vectors of the same shape (p,); ValueError when
    ``w_ref == 0``."""
    wa = np.asarray(w, dtype=np.float64)
    wr = np.asarray(w_ref, dtype=np.float64)
    if wa.ndim != 1 or wa.shape != wr.shape:
        raise ValueError(f"w and w_ref must be 1-D of the same length; got shapes {wa.shape} and {wr.shape}")
    den = float(np.linalg.norm(wr))
    if den == 0.0:
        raise ValueError("relative error is undefined for a zero reference vector w_ref")
    return float(np.linalg.norm(wa - wr)) / den


def polyak_average(iterates: np.ndarray, *, tail: bool = False) -> np.ndarray:
    """Average of iterates (T, p) -> (p,): all ``T`` of them, or with ``tail=True`` the second half
    ``iterates[T // 2:]`` (the last ``T - T // 2``; all of them when ``T == 1``)."""
    it = np.asarray(iterates, dtype=np.float64)
    if it.ndim != 2 or it.shape[0] < 1:
        raise ValueError(f"iterates must be a 2-D array (T, p) with T >= 1; got shape {it.shape}")
    return it[it.shape[0] // 2 :].mean(axis=0) if tail else it.mean(axis=0)
