"""Exact least squares of float64 data in rational arithmetic (every float64 is a dyadic rational, so the
stored problem has an exact answer): integer scaling of the columns, fraction-free (Bareiss) elimination
of the integer Gram matrix, exact back substitution. The reference the recommended solver is measured
against (:mod:`reglab.linalg.solvers`), and the contract test's (``tests/test_lsq_contract.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

__all__ = ["EXACT_MAX_BITS", "EXACT_MAX_PARAMS", "Exact", "lstsq", "skip_reason"]

#: The exact solution is attempted only when ``m <= EXACT_MAX_PARAMS`` (the integer elimination is
#: O(m^3) on growing integers) ...
EXACT_MAX_PARAMS: int = 40
#: ... and the bit length of the integer-scaled design entries is at most this (a column whose entries
#: span more than ~10^(EXACT_MAX_BITS*0.3) in magnitude makes the big integers too slow).
EXACT_MAX_BITS: int = 256


def dyadic_ints(v: np.ndarray) -> tuple[list[int], int]:
    """Exact integers ``z`` and exponent ``k`` with ``v == z * 2**-k`` (k may be negative), z as small as
    possible."""
    ratios = [float(x).as_integer_ratio() for x in v]
    k = max(den.bit_length() - 1 for _, den in ratios)
    z = [num << (k - (den.bit_length() - 1)) for num, den in ratios]
    tz = min(((q & -q).bit_length() - 1 for q in z if q), default=0)  # common trailing zero bits
    if tz:
        z = [q >> tz for q in z]
        k -= tz
    return z, k


def bareiss_psd(M: list[list[int]], m: int) -> list[int]:
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


def backsub(M: list[list[int]], piv: list[int], col: int) -> tuple[list[int], int]:
    """Fraction-free back substitution after :func:`bareiss_psd`: returns integers ``t`` and ``det`` with
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


def independent_rows(Zp: list[list[int]], r: int) -> list[int]:
    """Indices of ``r`` linearly independent rows of the integer matrix ``Zp`` (n, r) of full column rank,
    by fraction-free elimination with row pivoting (first usable row in each column)."""
    M = [row[:] for row in Zp]
    free = list(range(len(M)))
    chosen: list[int] = []
    prev = 1
    for col in range(r):
        i = next((i for i in free if M[i][col] != 0), None)
        if i is None:
            raise ArithmeticError("matrix is not of full column rank in exact row selection")
        free.remove(i)
        chosen.append(i)
        rowp = M[i]
        p = rowp[col]
        for i2 in free:
            row = M[i2]
            f = row[col]
            for j in range(col + 1, r):
                row[j] = (row[j] * p - f * rowp[j]) // prev
            row[col] = 0
        prev = p
    return chosen


def pow2_fraction(num: int, den: int, e: int) -> Fraction:
    return Fraction(num << e, den) if e >= 0 else Fraction(num, den << -e)


@dataclass(frozen=True)
class Exact:
    w: list[Fraction]  # (m,) exact minimum-norm least-squares solution
    rank: int
    rss: Fraction  # exact residual sum of squares


def lstsq(D: np.ndarray, y: np.ndarray) -> Exact:
    """Exact minimum-norm least-squares solution of float64 ``D`` (n, m), ``y`` (n,) in rational arithmetic.

    Each column ``j`` is written exactly as ``Z[:, j] * 2**-k_j`` with integer ``Z`` and
    ``y = y_int * 2**-k_y``. Fraction-free (Bareiss) elimination of the integer Gram matrix ``G = Z'Z`` gives
    the exact rank ``r``. Full column rank: ``w = (D'D)^-1 D'y`` exactly.  Rank deficient: ``r`` exactly
    independent rows ``D_R`` span the row space, in which the minimum-norm solution lies, so ``w = D_R' s``
    with ``(D D_R')'(D D_R') s = (D D_R')' y`` (an r x r nonsingular system), all in integers.
    """
    n, m = D.shape
    cols = [dyadic_ints(D[:, j]) for j in range(m)]
    Z = [c[0] for c in cols]
    k = [c[1] for c in cols]
    yi, ky = dyadic_ints(y)
    G = [[0] * (m + 1) for _ in range(m)]
    for a in range(m):
        za = Z[a]
        for b in range(a, m):
            G[a][b] = G[b][a] = sum(p * q for p, q in zip(za, Z[b], strict=True))
        G[a][m] = sum(p * q for p, q in zip(za, yi, strict=True))
    bvec = [G[a][m] for a in range(m)]  # Z'y_int, kept for the residual sum of squares
    yy = sum(q * q for q in yi)
    M = [row[:] for row in G]
    piv = bareiss_psd(M, m)
    r = len(piv)
    w: list[Fraction]
    if r == 0:
        w = [Fraction(0)] * m
    elif r == m:
        ytil, det = backsub(M, piv, m)  # det * u, u = (Z'Z)^-1 Z'y_int
        w = [pow2_fraction(ytil[j], det, k[j] - ky) for j in range(m)]
    else:
        # Minimum-norm solution lies in the row space of D, spanned by r independent rows D_R:
        # w = D_R' s with (D D_R')'(D D_R') s = (D D_R')' y.  In integers, with W = diag(2^(2(kmax-k_j))):
        # A = Z W Z_R' (n, r) = D D_R' * 2^(2 kmax);  A'A sigma = A' y_int;
        # w_j = 2^(2kmax-ky-k_j) (Z_R' sigma)_j.
        rows = independent_rows([[Z[j][i] for j in piv] for i in range(n)], r)
        kmax = max(k)
        wt = [1 << (2 * (kmax - kj)) for kj in k]
        ZRw = [[Z[j][i] * wt[j] for j in range(m)] for i in rows]  # (r, m): rows of Z_R W
        A = [[sum(Z[j][i] * ZRw[a][j] for j in range(m)) for a in range(r)] for i in range(n)]  # (n, r)
        H = [[0] * (r + 1) for _ in range(r)]
        for a in range(r):
            Aa = [A[i][a] for i in range(n)]
            for c in range(a, r):
                H[a][c] = H[c][a] = sum(Aa[i] * A[i][c] for i in range(n))
            H[a][r] = sum(Aa[i] * yi[i] for i in range(n))
        hpiv = bareiss_psd(H, r)
        if len(hpiv) != r:
            raise ArithmeticError("(D D_R')'(D D_R') is singular in the exact minimum-norm step")
        sig, detH = backsub(H, hpiv, r)
        w = [
            pow2_fraction(sum(Z[j][rows[a]] * sig[a] for a in range(r)), detH, 2 * kmax - ky - k[j])
            for j in range(m)
        ]
    # RSS = y'y - w'D'y  (valid for any least-squares solution w)
    wdy = sum((wj * pow2_fraction(bvec[j], 1, -(k[j] + ky)) for j, wj in enumerate(w)), Fraction(0))
    rss = pow2_fraction(yy, 1, -2 * ky) - wdy
    return Exact(w=w, rank=r, rss=rss)


def skip_reason(D: np.ndarray, y: np.ndarray, limit: int) -> str | None:
    n, m = D.shape
    if n * m > limit:
        return f"design too large for the exact rational solution (n*m = {n * m} > {limit})"
    if m > EXACT_MAX_PARAMS:
        return f"too many parameters for the exact rational solution (m = {m} > {EXACT_MAX_PARAMS})"
    bits = 0
    for v in [*(D[:, j] for j in range(m)), y]:
        z, _ = dyadic_ints(v)
        bits = max(bits, max((abs(q).bit_length() for q in z), default=0))
    if bits > EXACT_MAX_BITS:
        return (
            f"column dynamic range too wide for the exact rational solution "
            f"({bits} bits > {EXACT_MAX_BITS} after exact integer scaling)"
        )
    return None
