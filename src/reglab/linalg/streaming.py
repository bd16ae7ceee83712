"""Exact least squares over designs streamed from disk: a mergeable Gram statistic and a two-pass solver.

Design (one robust path, chosen for speed first and accuracy where it is at risk):

**Pass 1: a shifted Gram.** :class:`GramStat` holds, for the augmented matrix ``Z = [X - a, 1, y - b]``,
the count ``n``, the shift ``(a, b)`` (the means of the first chunk, so features with means of 1e4 keep
their digits) and the float64 Gram ``ZᵀZ`` accumulated per chunk with BLAS. Because the ones column is
part of ``Z``, changing the shift is the exact linear map ``G ↦ TᵀGT`` (:meth:`GramStat.reshift`), so two
statistics with different shifts merge exactly (the Chan–Golub–LeVeque correction written as a matrix).
The single-process driver *is* "one statistic per part, merged in order": shard jobs that save
:meth:`GramStat.to_dict` and a merge job that combines them in the same order give the same bits.

:func:`solve` centres exactly (``C = G_zz − s sᵀ/n`` with the small shifted sums ``s``), drops constant
columns (zero centred variance: absorbed by the intercept), scales to unit column norms and factors the
correlation-like matrix ``S`` by Cholesky. The scaled normal matrix's condition ``κ(S)`` (exact
``eigvalsh`` of the small matrix, and LAPACK ``dpocon``'s estimate) says how many digits are left:
about ``16 − log10 κ(S)``.

**Pass 2 when digits are at risk: TSQR.** When ``κ(S) > threshold`` (1e8 by default, i.e. the scaled
design's condition above 1e4), Cholesky fails or the Gram looks rank-deficient, :func:`solve_stream`
reads the data again and accumulates the R factor of ``[1, (X − μ)/d, (y − μ_y)/d_y]`` (centres and scales
from pass 1) chunk by chunk: Householder QR (LAPACK ``dgeqrf`` in place) of the previous R stacked on
the chunk (:class:`RStat`; mergeable by QR of stacked R's). Dropping the ones row and column of R leaves
the R factor of the *exactly* centred design, so the intercept costs no digits. Coefficients come from a
triangular solve (or, rank-deficient, a truncated SVD of the small R: the minimum-norm solution in the
original units), RSS is ``R_yy²`` (no cancellation), the rank from R's singular values with numpy
``lstsq``'s tolerance ``eps · max(n, k)``. This is backward stable like in-memory Householder QR, so the
accuracy is that of ``numpy.linalg.lstsq`` on the centred design. Iterative refinement on the normal
equations was not chosen: it stops converging once ``κ(S)`` nears 1/eps, exactly where it is needed.

Nothing here imports TensorFlow; only numpy and scipy.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.linalg as sla
from scipy.linalg import lapack

__all__ = [
    "GramStat", "RStat", "accumulate", "accumulate_r", "merge_in_order", "prefetched", "solve", "solve_stream",
    "source_parts",
]

EPS = float(np.finfo(float).eps)
Chunk = tuple[np.ndarray, np.ndarray, int]
Part = Callable[[], Iterable[Chunk]]


def _as_chunk(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float).reshape(-1)
    if X.ndim != 2 or X.shape[0] != y.shape[0]:
        raise ValueError(f"chunk shapes X {X.shape} and y {y.shape} do not match")
    return X, y


# --------------------------------------------------------------------------------------------- pass 1

def _addr(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def _z_buffer(X: np.ndarray, y: np.ndarray, overwrite: bool) -> np.ndarray:
    """The ``(m, p + 2)`` Fortran buffer ``[X, ·, y]``: the chunk's own when it is laid out so, else a copy."""
    m, p = X.shape
    base = X.base
    if (overwrite and isinstance(base, np.ndarray) and y.base is base and base.shape == (m, p + 2)
            and base.flags.f_contiguous and _addr(X) == _addr(base) and _addr(y) == _addr(base[:, p + 1])):
        return base
    z = np.empty((m, p + 2), order="F")
    z[:, :p] = X
    z[:, p + 1] = y
    return z


@dataclass
class GramStat:
    """Mergeable ``(n, shift, ZᵀZ)`` of ``Z = [X − shift_x, 1, y − shift_y]``; Gram columns are
    ``x1..xp, ones, y`` (``(p+2) × (p+2)``); ``shift`` is ``(p+1,)``: the x shifts, then y's."""

    n: int = 0
    shift: np.ndarray | None = None
    gram: np.ndarray | None = None
    chunks: int = 0
    features: list[str] | None = None

    @property
    def p(self) -> int:
        return -1 if self.gram is None else self.gram.shape[0] - 2

    def _init(self, X: np.ndarray, y: np.ndarray) -> None:
        p = X.shape[1]
        self.shift = np.concatenate([X.mean(axis=0), [y.mean()]])
        self.gram = np.zeros((p + 2, p + 2))

    def chunk_gram(self, X: np.ndarray, y: np.ndarray, *, overwrite: bool = False) -> np.ndarray:
        """``ZᵀZ`` of one chunk at this statistic's shift, as one BLAS product of ``Z = [X − a, 1, y − b]``
        (``overwrite``: the chunk is the caller's to spend; when it comes from
        :func:`reglab.data.large.iter_chunks`, ``Z`` is built in its buffer without a copy). Every path
        forms the same ``Z`` and the same product, so equal chunks give equal bits."""
        z = _z_buffer(X, y, overwrite)
        p = X.shape[1]
        z[:, :p] -= self.shift[:p]
        z[:, p] = 1.0
        z[:, p + 1] -= self.shift[p]
        return z.T @ z

    def update(self, X: np.ndarray, y: np.ndarray, *, overwrite: bool = False) -> GramStat:
        """Add one chunk (in place; returns self). The first chunk fixes the shift (its column means)."""
        X, y = _as_chunk(X, y)
        if X.shape[0] == 0:
            return self
        if self.gram is None:
            self._init(X, y)
        elif X.shape[1] != self.p:
            raise ValueError(f"chunk has {X.shape[1]} features, the statistic {self.p}")
        self.gram += self.chunk_gram(X, y, overwrite=overwrite)
        self.n += X.shape[0]
        self.chunks += 1
        return self

    def reshift(self, shift: np.ndarray) -> GramStat:
        """The same statistic at another shift, exactly: ``[Z − a, 1] = [Z − b, 1] T`` so ``G_a = Tᵀ G_b T``."""
        shift = np.asarray(shift, dtype=float)
        if self.gram is None or np.array_equal(shift, self.shift):
            return GramStat(self.n, None if self.shift is None else self.shift.copy(),
                            None if self.gram is None else self.gram.copy(), self.chunks, self.features)
        p = self.p
        delta = np.zeros(p + 2)
        delta[:p] = self.shift[:p] - shift[:p]
        delta[p + 1] = self.shift[p] - shift[p]
        g = self.gram
        srow = g[p]  # sums of the shifted columns; srow[p] = n
        # TᵀGT with T = I + e_ones δᵀ: G + δ sᵀ + s δᵀ + n δ δᵀ (s the ones row of G)
        new = g + np.outer(delta, srow) + np.outer(srow, delta) + g[p, p] * np.outer(delta, delta)
        return GramStat(self.n, shift.copy(), new, self.chunks, self.features)

    def merge(self, other: GramStat) -> GramStat:
        """A new statistic for the rows of both (``self``'s shift is kept; ``other`` is re-shifted to it)."""
        if other.gram is None:
            return self.reshift(self.shift) if self.gram is not None else GramStat(features=self.features)
        if self.gram is None:
            return other.reshift(other.shift)
        if other.p != self.p:
            raise ValueError(f"cannot merge statistics of {self.p} and {other.p} features")
        o = other if np.array_equal(other.shift, self.shift) else other.reshift(self.shift)
        return GramStat(self.n + other.n, self.shift.copy(), self.gram + o.gram, self.chunks + other.chunks,
                        self.features or other.features)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly (floats round-trip exactly through ``json``); ``np.savez(**d)`` works too."""
        return {"kind": "reglab.GramStat", "n": int(self.n), "chunks": int(self.chunks),
                "features": self.features,
                "shift": None if self.shift is None else self.shift.tolist(),
                "gram": None if self.gram is None else self.gram.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GramStat:
        def arr(v):
            return None if v is None or (isinstance(v, np.ndarray) and v.dtype == object) else np.array(v, float)
        feats = d.get("features")
        if isinstance(feats, np.ndarray):
            feats = None if feats.dtype == object else [str(f) for f in feats]
        return cls(int(d["n"]), arr(d["shift"]), arr(d["gram"]), int(d.get("chunks", 0)), feats)


def accumulate(chunks: Iterable[Chunk], *, features: list[str] | None = None,
               overwrite: bool = False) -> GramStat:
    """One :class:`GramStat` over an iterable of ``(X, y, first_row)`` chunks (``overwrite``: the chunks are
    the caller's to spend, and are shifted in place instead of copied)."""
    stat = GramStat(features=features)
    for X, y, *_ in chunks:
        stat.update(X, y, overwrite=overwrite)
        del X, y  # free this chunk before the next one is read
    return stat


def merge_in_order(stats: Sequence[Any]) -> Any:
    """Left fold ``((s0 ⊕ s1) ⊕ s2) ⊕ …`` (the fixed order that makes shard merges reproducible)."""
    if not stats:
        raise ValueError("nothing to merge")
    out = stats[0]
    for s in stats[1:]:
        out = out.merge(s)
    return out


# --------------------------------------------------------------------------------------------- pass 2

@dataclass
class RStat:
    """Mergeable R factor (TSQR) of ``[1, (X[:, columns] − center) / scale, (y − center_y) / scale_y]``
    (without the ones column when ``intercept`` is false)."""

    columns: list[int]
    center: np.ndarray  # (k+1,): the used x columns, then y
    scale: np.ndarray   # (k+1,)
    intercept: bool = True
    n: int = 0
    r: np.ndarray | None = None
    chunks: int = 0

    @property
    def q(self) -> int:
        return len(self.columns) + 1 + int(self.intercept)

    def update(self, X: np.ndarray, y: np.ndarray) -> RStat:
        X, y = _as_chunk(X, y)
        m = X.shape[0]
        if m == 0:
            return self
        k, q, o = len(self.columns), self.q, int(self.intercept)
        top = 0 if self.r is None else self.r.shape[0]
        a = np.empty((top + m, q), order="F")
        if top:
            a[:top] = self.r
        if o:
            a[top:, 0] = 1.0
        cols = self.columns
        if cols == list(range(X.shape[1])):
            np.subtract(X, self.center[:k], out=a[top:, o:o + k])
        else:
            np.subtract(X[:, cols], self.center[:k], out=a[top:, o:o + k])
        a[top:, o:o + k] /= self.scale[:k]
        a[top:, q - 1] = (y - self.center[k]) / self.scale[k]
        self.r = self._r_of(a)
        self.n += m
        self.chunks += 1
        return self

    @staticmethod
    def _r_of(a: np.ndarray) -> np.ndarray:
        # LAPACK geqrf in place on the Fortran buffer (scipy.linalg.qr(mode="r") would copy the whole
        # triangle-padded (m, q) array); only the leading q × q upper triangle is kept
        q = a.shape[1]
        if a.shape[0] < q:
            a = np.vstack([a, np.zeros((q - a.shape[0], q))])
            a = np.asfortranarray(a)
        qr, _tau, _work, info = lapack.dgeqrf(a, overwrite_a=1)
        if info != 0:  # pragma: no cover - geqrf only fails on bad arguments
            raise np.linalg.LinAlgError(f"dgeqrf failed (info={info})")
        return np.triu(qr[:q])

    def merge(self, other: RStat) -> RStat:
        if other.r is None:
            return self
        if self.r is None:
            return other
        if (self.columns != other.columns or not np.array_equal(self.center, other.center)
                or not np.array_equal(self.scale, other.scale) or self.intercept != other.intercept):
            raise ValueError("RStat merge needs the same columns, centre and scale (from the same pass 1)")
        r = self._r_of(np.asfortranarray(np.vstack([self.r, other.r])))
        return RStat(self.columns, self.center, self.scale, self.intercept, self.n + other.n, r,
                     self.chunks + other.chunks)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "reglab.RStat", "columns": list(self.columns), "center": self.center.tolist(),
                "scale": self.scale.tolist(), "intercept": bool(self.intercept), "n": int(self.n),
                "chunks": int(self.chunks), "r": None if self.r is None else self.r.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RStat:
        return cls([int(c) for c in d["columns"]], np.array(d["center"], float), np.array(d["scale"], float),
                   bool(d["intercept"]), int(d["n"]), None if d["r"] is None else np.array(d["r"], float),
                   int(d.get("chunks", 0)))


def accumulate_r(chunks: Iterable[Chunk], plan: dict[str, Any]) -> RStat:
    """One :class:`RStat` over the chunks, with the centre and scale of ``plan`` (``solve(...)["plan"]``)."""
    stat = RStat(list(plan["columns"]), np.asarray(plan["center"]), np.asarray(plan["scale"]),
                 bool(plan["intercept"]))
    for X, y, *_ in chunks:
        stat.update(X, y)
        del X, y
    return stat


# --------------------------------------------------------------------------------------------- solve

@dataclass
class _Prepared:
    n: int
    p: int
    intercept: bool
    mu: np.ndarray            # (p+1,) means of x columns then y (zeros without intercept)
    active: list[int]
    constant: list[int]
    d: np.ndarray             # (k,) column norms of the centred active columns
    dy: float
    s: np.ndarray             # (k, k) scaled centred Gram
    b: np.ndarray             # (k,)  scaled Xᵀy
    tss: float
    raw_gram: np.ndarray = field(repr=False, default=None)


def _prepare(stat: GramStat, intercept: bool) -> _Prepared:
    if stat.gram is None or stat.n == 0:
        raise ValueError("empty statistic: no rows were read")
    p, n, g = stat.p, stat.n, stat.gram
    zi = list(range(p)) + [p + 1]
    g0 = stat.reshift(np.zeros(p + 1)).gram  # Gram of the raw [X, 1, y] (for the raw condition number)
    if intercept:
        srow = g[p, zi]
        mu = stat.shift + srow / n
        c = g[np.ix_(zi, zi)] - np.outer(srow, srow) / n
        ref = np.maximum(np.abs(mu), np.abs(stat.shift))
    else:
        mu = np.zeros(p + 1)
        c = g0[np.ix_(zi, zi)]
        ref = np.zeros(p + 1)
    diag = np.diag(c).copy()
    # a column whose centred variance is at rounding level of its mean is constant
    tiny = n * (64.0 * EPS * np.maximum(ref, np.finfo(float).tiny)) ** 2
    const_mask = diag[:p] <= tiny[:p]
    constant = [j for j in range(p) if const_mask[j]]
    active = [j for j in range(p) if not const_mask[j]]
    d = np.sqrt(np.maximum(diag[active], 0.0))
    tss = float(max(diag[p], 0.0))
    dy = math.sqrt(tss) if tss > tiny[p] else 1.0
    s = c[np.ix_(active, active)] / np.outer(d, d)
    b = c[active, p] / (d * dy)
    return _Prepared(n, p, intercept, mu, active, constant, d, dy, s, b, tss, g0)


def _digits(kappa: float, tan_theta: float, normal: bool) -> float:
    if not np.isfinite(kappa):
        return 0.0
    err = EPS * (kappa ** 2 if normal else kappa + kappa ** 2 * tan_theta)
    return float(np.clip(-math.log10(max(err, 1e-300)), 0.0, 15.9))


def _names(stat: GramStat, features: Sequence[str] | None) -> list[str]:
    if features is not None:
        return list(features)
    return list(stat.features) if stat.features else [f"x{j + 1}" for j in range(stat.p)]


def solve(stat: GramStat, *, intercept: bool = True, rstat: RStat | None = None, rcond: float | None = None,
          threshold: float = 1e8, features: Sequence[str] | None = None) -> dict[str, Any]:
    """Least squares ``y ~ [1,] X`` from a pass-1 :class:`GramStat` (and, when given, the pass-2
    :class:`RStat` built with this result's ``plan``).

    Returns a dict: ``coef`` (slopes in feature order), ``intercept``, ``se``, ``se_intercept``, ``vif``,
    ``r2``, ``rss``, ``sigma2``, ``dof``, ``n``, ``rank``, ``k`` (non-constant columns), ``rank_deficient``,
    ``constant_columns``, ``condition_raw`` (of ``[1, X]``, from the Gram; reliable to ~1e8),
    ``condition_scaled`` (of the centred, unit-norm design), ``condition_normal_scaled`` (``κ(S)``),
    ``condition_pocon`` (LAPACK 1-norm estimate), ``method``, ``passes``, ``correct_digits_estimate``,
    ``correct_digits_slopes`` (relative to the slopes alone; the estimate counts the intercept too),
    ``needs_second_pass``, ``plan`` (centre/scale for :func:`accumulate_r`), ``message`` and ``why``.
    """
    pr = _prepare(stat, intercept)
    names = _names(stat, features)
    n, p, k = pr.n, pr.p, len(pr.active)
    rtol = rcond if rcond is not None else EPS * max(n, k)
    notes: list[str] = []
    if pr.constant:
        notes.append("constant column(s) " + ", ".join(names[j] for j in pr.constant)
                     + (": absorbed by the intercept, coefficient 0, no standard error" if intercept
                        else ": all zero, coefficient 0"))
    lam = np.linalg.eigvalsh(pr.s) if k else np.array([1.0])
    lmax = float(lam[-1]) if k else 1.0
    kappa_n = float(lmax / lam[0]) if k and lam[0] > 0 else (1.0 if not k else math.inf)
    # eigenvalues of a Gram carry absolute error ~k·eps·λmax: below that, the Gram cannot see rank
    lam_tol = lmax * max(rtol ** 2, 100.0 * max(k, 1) * EPS)
    rank_gram = int(np.sum(lam > lam_tol)) if k else 0
    chol, rcond_po = None, math.nan
    if k:
        try:
            chol = sla.cholesky(pr.s, lower=False, check_finite=False)
            rc, info = lapack.dpocon(chol, float(np.abs(pr.s).sum(axis=0).max()))
            rcond_po = float(rc) if info == 0 else math.nan
        except np.linalg.LinAlgError:
            chol = None
    needs2 = bool(k) and (kappa_n > threshold or chol is None or rank_gram < k)
    gram_raw = pr.raw_gram
    ri = list(range(p + (1 if intercept else 0)))  # x columns (+ ones)
    lam_raw = np.linalg.eigvalsh(gram_raw[np.ix_(ri, ri)])
    cond_raw = float(math.sqrt(lam_raw[-1] / lam_raw[0])) if lam_raw[0] > 0 else math.inf
    plan = {"columns": pr.active, "center": np.concatenate([pr.mu[pr.active], [pr.mu[p]]]).tolist(),
            "scale": np.concatenate([pr.d, [pr.dy]]).tolist(), "intercept": intercept}

    beta_s = np.zeros(k)
    diag_inv = np.full(k, math.nan)
    w_int = math.nan  # ||R^{-T} (mu/d)||² for the intercept's variance
    sig = np.array([])
    if rstat is not None and k:
        if rstat.columns != pr.active or rstat.intercept != intercept:
            raise ValueError("rstat was not built from this statistic's plan")
        r = rstat.r
        r2m = r[1:, 1:] if intercept else r
        r11, r1y, ryy = r2m[:k, :k], r2m[:k, k], float(r2m[k, k])
        sig = sla.svdvals(r11)
        rank = int(np.sum(sig > rtol * sig[0]))
        kappa = float(sig[0] / sig[-1]) if sig[-1] > 0 else math.inf
        kappa_n_final = kappa ** 2
        if rank == k:
            beta_s = sla.solve_triangular(r11, r1y, check_finite=False)
            rss_s = ryy ** 2
            rinv = sla.solve_triangular(r11, np.eye(k), check_finite=False)
            gdiag = np.sum(r11 ** 2, axis=0)
            diag_inv = np.sum(rinv ** 2, axis=1)
            vif = diag_inv * gdiag
            if intercept:
                z = sla.solve_triangular(r11, pr.mu[pr.active] / pr.d, trans="T", check_finite=False)
                w_int = float(z @ z)
            method = "TSQR (Householder R of each chunk, merged): triangular solve"
        else:
            bmat = r11 * pr.d  # R of the centred design in original units
            u, sv, vt = sla.svd(bmat, check_finite=False)
            beta = vt[:rank].T @ ((u[:, :rank].T @ r1y) / sv[:rank])
            beta_s = beta * pr.d
            rss_s = float(np.sum((r1y - r11 @ beta_s) ** 2) + ryy ** 2)
            vif = np.full(k, math.inf)
            method = "TSQR + truncated SVD of R: minimum-norm solution"
        passes = 2
        digits = _digits(kappa, math.sqrt(rss_s / max(1.0 - rss_s, EPS)) if intercept else 0.0, normal=False)
        why = (f"second pass (TSQR) because the scaled normal matrix's condition {kappa_n:.3g} is above "
               f"{threshold:.0e}" if kappa_n > threshold else
               "second pass (TSQR) because Cholesky of the scaled normal matrix failed or the Gram looked "
               "rank-deficient") + "; the R factor keeps the design's own conditioning (not its square)"
    else:
        kappa = math.sqrt(kappa_n) if np.isfinite(kappa_n) else math.inf
        kappa_n_final = kappa_n
        if k and chol is not None and rank_gram == k:
            beta_s = sla.cho_solve((chol, False), pr.b, check_finite=False)
            rank = k
            uinv = sla.solve_triangular(chol, np.eye(k), check_finite=False)
            diag_inv = np.sum(uinv ** 2, axis=1)
            vif = diag_inv * np.diag(pr.s)
            if intercept:
                z = sla.solve_triangular(chol, pr.mu[pr.active] / pr.d, trans="T", check_finite=False)
                w_int = float(z @ z)
            method = "normal equations: Cholesky of the scaled, centred Gram"
        elif k:
            rank = rank_gram
            cxx = pr.s * np.outer(pr.d, pr.d)
            cxy = pr.b * pr.d * pr.dy
            ev, vec = np.linalg.eigh(cxx)
            keep = np.argsort(ev)[::-1][:rank]
            beta = vec[:, keep] @ ((vec[:, keep].T @ cxy) / ev[keep])
            beta_s = beta * pr.d / pr.dy
            vif = np.full(k, math.inf)
            method = "normal equations: truncated eigendecomposition (minimum norm)"
        else:
            rank, vif = 0, np.array([])
            method = "no non-constant columns: intercept only"
        rss_s = float(max(1.0 - beta_s @ pr.b, 0.0)) if k else 1.0
        # the Gram sees a rank only down to ~sqrt(eps): digits from the normal matrix's condition
        passes = 1
        digits = _digits(kappa, 0.0, normal=True) if k else 15.9
        why = (f"one pass: the scaled normal matrix's condition {kappa_n:.3g} is at most {threshold:.0e}, "
               f"so Cholesky keeps about {digits:.1f} digits" if not needs2 else
               f"one pass only, but the scaled normal matrix's condition is {kappa_n:.3g}: about "
               f"{digits:.1f} correct digits; run the second pass (TSQR) for an accurate answer")
    rss = rss_s * pr.dy ** 2 if pr.tss > 0 else 0.0
    dof = n - rank - int(intercept)
    sigma2 = rss / dof if dof > 0 else math.nan
    coef = np.zeros(p)
    coef[pr.active] = beta_s * pr.dy / pr.d
    se = np.full(p, math.nan)
    vif_all = np.full(p, math.nan)
    if k:
        se[pr.active] = np.sqrt(sigma2 * diag_inv) / pr.d
        vif_all[pr.active] = vif
    icpt = float(pr.mu[p] - pr.mu[:p] @ coef) if intercept else 0.0
    se_icpt = float(math.sqrt(sigma2 * (1.0 / n + w_int))) if intercept and np.isfinite(w_int) else math.nan
    if intercept and not k:
        se_icpt = float(math.sqrt(sigma2 / n)) if np.isfinite(sigma2) else math.nan
    r2 = 1.0 - rss / pr.tss if pr.tss > 0 else math.nan
    digits_slopes = digits
    if intercept and k:
        # the intercept μ_y − μ·β inherits the slopes' error times |μ|: large means cost digits there
        full = math.hypot(icpt, float(np.linalg.norm(coef)))
        amp = float(np.linalg.norm(pr.mu[pr.active]) * np.linalg.norm(coef)) / full if full > 0 else 1.0
        digits = float(max(0.0, digits - math.log10(max(1.0, amp))))
    if k and rank < k:
        notes.append(f"rank {rank} < {k} columns: the design is rank-deficient; the minimum-norm solution is "
                     "reported (coefficients of collinear columns are not identifiable; the rank is decided on "
                     "unit-norm columns, so it does not change when a column is rescaled, but the minimum norm is "
                     "taken in the features' own units, as numpy lstsq on the centred design does, and does)")
    if needs2 and rstat is None:
        notes.append(f"digits at risk: scaled normal-matrix condition {kappa_n:.3g}, "
                     f"about {digits:.1f} correct digits from one pass")
    elif digits < 6:
        notes.append(f"ill-conditioned: condition {kappa:.3g} of the scaled design, "
                     f"about {digits:.1f} correct digits")
    return {
        "features": names, "coef": coef.tolist(), "intercept": icpt, "se": se.tolist(),
        "se_intercept": se_icpt, "vif": vif_all.tolist(), "r2": r2, "rss": rss, "sigma2": sigma2,
        "dof": dof, "n": n, "p": p, "k": k, "rank": rank, "rank_deficient": bool(k and rank < k),
        "constant_columns": [names[j] for j in pr.constant], "condition_raw": cond_raw,
        "condition_scaled": kappa, "condition_normal_scaled": kappa_n_final,
        "condition_normal_scaled_pass1": kappa_n,
        "condition_pocon": 1.0 / rcond_po if rcond_po and np.isfinite(rcond_po) and rcond_po > 0 else math.inf,
        "method": method, "passes": passes, "correct_digits_estimate": digits,
        "correct_digits_slopes": digits_slopes,
        "needs_second_pass": needs2, "plan": plan, "message": "; ".join(notes) or "ok", "why": why,
    }


# --------------------------------------------------------------------------------------------- driver

def prefetched(chunks: Iterable[Chunk], depth: int = 1) -> Iterator[Chunk]:
    """Read up to ``depth`` chunks ahead in a background thread (decoding releases the GIL, so reading
    overlaps the BLAS work of the consumer); costs ``depth`` more chunks of memory. Errors re-raise here."""
    import queue
    import threading

    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def work() -> None:
        try:
            for c in chunks:
                if stop.is_set():
                    return
                q.put(c)
                del c
            q.put(done)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            q.put(exc)

    t = threading.Thread(target=work, daemon=True)
    t.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
            del item
    finally:
        stop.set()
        while t.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                t.join(0.01)


def _parts(chunks: Part | Sequence[Part]) -> list[Part]:
    return [chunks] if callable(chunks) else list(chunks)


def solve_stream(chunks: Part | Sequence[Part], *, intercept: bool = True, second_pass: str = "auto",
                 threshold: float = 1e8, rcond: float | None = None,
                 features: Sequence[str] | None = None, prefetch: int = 0) -> dict[str, Any]:
    """One- or two-pass least squares over a re-iterable chunk source.

    ``chunks`` is a callable returning a fresh iterator of ``(X, y, first_row)`` chunks, or a sequence of
    such callables (parts, e.g. shards: one statistic per part, merged in order, exactly as separate shard
    jobs would). A part with the attribute ``owned_chunks = True`` (as :func:`source_parts` makes) yields
    fresh arrays that pass 1 may overwrite, saving a copy per chunk. ``second_pass``: ``"auto"`` (when :func:`solve` says digits are at risk), ``"always"``,
    ``"never"``. ``prefetch=k`` reads ``k`` chunks ahead in a thread (:func:`prefetched`; ``k`` more
    chunks of memory). The result of :func:`solve` plus ``seconds``, ``seconds_pass1``, ``seconds_pass2``.
    """
    if second_pass not in ("auto", "always", "never"):
        raise ValueError("second_pass must be 'auto', 'always' or 'never'")
    parts = _parts(chunks)

    def read(part: Part) -> Iterable[Chunk]:
        return prefetched(part(), prefetch) if prefetch > 0 else part()

    t0 = time.perf_counter()
    stat = merge_in_order([accumulate(read(part), features=list(features) if features else None,
                                      overwrite=bool(getattr(part, "owned_chunks", False)))
                           for part in parts])
    t1 = time.perf_counter()
    res = solve(stat, intercept=intercept, rcond=rcond, threshold=threshold, features=features)
    t2 = t1
    if res["k"] and (second_pass == "always" or (second_pass == "auto" and res["needs_second_pass"])):
        rstat = merge_in_order([accumulate_r(read(part), res["plan"]) for part in parts])
        t2 = time.perf_counter()
        res = solve(stat, intercept=intercept, rstat=rstat, rcond=rcond, threshold=threshold,
                    features=features)
    res["seconds_pass1"] = t1 - t0
    res["seconds_pass2"] = (t2 - t1) if res["passes"] == 2 else 0.0
    res["seconds"] = time.perf_counter() - t0
    return res


def source_parts(source: str | os.PathLike, *, target: str, features: Sequence[str] | None = None,
                 chunk_rows: int | None = None, shards: int | None = None) -> tuple[list[Part], list[str]]:
    """Parts for :func:`solve_stream` over a file or shard directory, and the feature names.

    A directory gives one part per ``*.parquet`` file (sorted); a Parquet file with ``shards=k`` gives the
    :func:`reglab.data.large.shard_ranges` row-group ranges; otherwise one part.
    """
    from reglab.data import large

    src = Path(source)
    feats = large.feature_columns(src, target=target, features=features)

    def reader(path: Path, groups: list[int] | None = None) -> Part:
        def part() -> Iterator[Chunk]:
            return large.iter_chunks(path, target=target, features=feats, chunk_rows=chunk_rows,
                                     row_groups=groups)
        part.owned_chunks = True  # iter_chunks yields fresh arrays
        return part

    if src.is_dir():
        files = sorted(f for f in src.iterdir() if f.suffix == ".parquet" and f.is_file())
        return [reader(f) for f in files], feats
    if shards and src.suffix.lower() == ".parquet":
        return [reader(src, g) for g in large.shard_ranges(src, shards) if g], feats
    return [reader(src)], feats
