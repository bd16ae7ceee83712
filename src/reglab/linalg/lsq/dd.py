"""Double-double (~106-bit) residuals by error-free transformations (Dekker's TwoProduct, Knuth's TwoSum),
with iterates kept as unevaluated float64 pairs (hi + lo): the iterative refinement of the recommended
least-squares solver (:mod:`reglab.linalg.solvers`). More precise than ``np.longdouble`` (a 64-bit
mantissa on x86-64, which leaves a noise floor of ~cond * 5e-20 in the solution) and portable
(``np.longdouble`` IS float64 on Windows and ARM macOS).
"""

from __future__ import annotations

import numpy as np

__all__ = ["add", "residual", "rmatvec"]

SPLITTER = 134217729.0  # 2**27 + 1


def split(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    c = SPLITTER * a
    hi = c - (c - a)
    return hi, a - hi


def two_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """s + e == a + b exactly, s = fl(a + b)."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def two_prod(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """p + e == a * b exactly, p = fl(a * b) (no overflow/underflow assumed)."""
    p = a * b
    ah, al = split(a)
    bh, bl = split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def acc_sum(T: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Sum along ``axis`` as if in twice the working precision: returns ``(hi, err)`` with the sum
    ~= hi + err.

    Pairwise TwoSum tree; the rounding errors (each ~eps times a partial sum) are summed in float64."""
    T = np.moveaxis(np.asarray(T, dtype=np.float64), axis, 0)
    err = np.zeros(T.shape[1:])
    while T.shape[0] > 1:
        if T.shape[0] % 2:
            T = np.concatenate([T, np.zeros((1, *T.shape[1:]))])
        T, e = two_sum(T[0::2], T[1::2])
        err += e.sum(axis=0)
    return T[0], err


def add(hi: np.ndarray, lo: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(hi + lo) + d as a renormalised float64 pair."""
    s, e = two_sum(hi, d)
    lo = lo + e
    hi2 = s + lo
    return hi2, lo - (hi2 - s)


CHUNK_ELEMENTS = 1 << 20  # rows are processed in chunks of about this many matrix elements


def row_chunks(n: int, m: int) -> list[slice]:
    step = max(1, CHUNK_ELEMENTS // max(m, 1))
    return [slice(i, min(i + step, n)) for i in range(0, n, step)]


def residual(A: np.ndarray, x_hi: np.ndarray, x_lo: np.ndarray, *terms: np.ndarray) -> np.ndarray:
    """``sum(terms) - A @ (x_hi + x_lo)`` rounded to float64, computed in double-double.
    A (n, m) with moderate entries (|A| << 1e300), x (m,), each term (n,)."""
    n, m = A.shape
    out = np.empty(n)
    for sl in row_chunks(n, m):
        Ac = A[sl]
        P, E = two_prod(Ac, x_hi[None, :])
        hi, err = acc_sum(np.concatenate([*(t[sl, None] for t in terms), -P], axis=1), axis=1)
        out[sl] = hi + (err - (E.sum(axis=1) + Ac @ x_lo))
    return out


def rmatvec(A: np.ndarray, r_hi: np.ndarray, r_lo: np.ndarray) -> np.ndarray:
    """``A.T @ (r_hi + r_lo)`` rounded to float64, computed in double-double.  A (n, m), r (n,)."""
    n, m = A.shape
    his: list[np.ndarray] = []
    small = np.zeros(m)
    for sl in row_chunks(n, m):
        Ac = A[sl]
        P, E = two_prod(Ac, r_hi[sl, None])
        hi, err = acc_sum(P, axis=0)
        his.append(hi)
        small += err + E.sum(axis=0) + Ac.T @ r_lo[sl]
    hi, err = acc_sum(np.stack(his), axis=0)
    return hi + (err + small)
