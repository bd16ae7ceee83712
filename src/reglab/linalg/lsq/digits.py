"""Correct digits: the NIST StRD log relative error (LRE), componentwise.

For an estimate ``q`` of a reference value ``c`` the LRE is ``-log10(|q - c| / |c|)``, or
``-log10(|q - c|)`` where ``c == 0`` (measured absolutely, as NIST does); a vector's LRE is the minimum
over its components, clipped to ``[0, 16]`` (16: equal). The difference is formed exactly in rational
arithmetic (every float64 is a dyadic rational), so a reference given as :class:`fractions.Fraction`
(an exact solution) is measured without rounding.

*Measured* digits compare with an exact or certified reference; *claimed* digits are a path's own
a-priori estimate (refinement correction, condition number) and are reported beside them, never mixed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

__all__ = ["DIGITS_CAP", "METRIC", "apriori", "componentwise", "lre"]

#: Digits of an exact match (float64 carries about 15.95).
DIGITS_CAP: float = 16.0
#: How every ``correct_digits`` in reglab's artifacts is measured (its ``correct_digits_metric``).
METRIC: str = "lre_componentwise"


def apriori(kappa: float, tan_theta: float, normal: bool) -> float:
    """Claimed digits of a least-squares solve before any reference is known: ``-log10`` of the
    standard perturbation bound ``eps * (kappa + kappa**2 * tan(theta))`` of a backward-stable (QR, SVD)
    solve, or ``eps * kappa**2`` of the normal equations, in ``[0, 15.9]``. ``kappa``: condition number
    of the column-scaled design; ``tan_theta``: ``|r| / |D w|``, the residual's angle to the fit.

    >>> apriori(1.0, 0.0, normal=False) > 15
    True
    >>> round(apriori(1e4, 0.0, normal=True), 1)  # the normal equations square the condition
    7.7
    """
    if not math.isfinite(kappa):
        return 0.0
    eps = float(np.finfo(np.float64).eps)
    err = eps * (kappa**2 if normal else kappa + kappa**2 * tan_theta)
    return float(np.clip(-math.log10(max(err, 1e-300)), 0.0, 15.9))


def componentwise(normwise_digits: float, w: Sequence[float] | np.ndarray) -> float:
    """A normwise digits claim turned into the componentwise one that :func:`lre` measures: an error of
    ``10**-d * max|w|`` in every component is ``max|w| / |w_i|`` times larger relative to a small
    component (measured absolutely where ``w_i == 0``).

    >>> componentwise(12.0, [1.0, 1e-3])
    9.0
    """
    w = np.abs(np.asarray(w, dtype=np.float64))
    top = float(np.max(w, initial=0.0))
    if top == 0.0 or not np.all(np.isfinite(w)):
        return float(normwise_digits)
    err = 10.0 ** -float(normwise_digits) * top
    worst = float(np.max(np.where(w > 0, err / np.where(w > 0, w, 1.0), err)))
    return float(np.clip(-math.log10(max(worst, 1e-300)), 0.0, min(DIGITS_CAP, normwise_digits)))


def _log10(q: Fraction) -> float:
    return math.log10(q.numerator) - math.log10(q.denominator)  # exact range, no float overflow


def lre(estimate: Sequence[float] | np.ndarray, reference: Sequence[float | Fraction] | np.ndarray) -> float:
    """Minimum over components of the NIST log relative error of ``estimate`` against ``reference``.

    Shapes: two sequences of the same length ``m``. A component whose reference is 0 is measured
    absolutely. Non-finite estimates keep 0 digits. Returns a float in ``[0, 16]``.

    >>> lre([1.0, 2.0], [1.0, 2.0])
    16.0
    >>> round(lre([1.001, 2.0], [1.0, 2.0]), 6)
    3.0
    >>> round(lre([1e-9], [0.0]), 6)  # a zero reference: absolute error
    9.0
    """
    est = np.asarray(estimate, dtype=np.float64).ravel()
    ref = list(reference.ravel()) if isinstance(reference, np.ndarray) else list(reference)
    if est.size != len(ref):
        raise ValueError(f"estimate has {est.size} components, reference {len(ref)}")
    if not np.all(np.isfinite(est)):
        return 0.0
    worst = Fraction(0)
    for e, c in zip(est.tolist(), ref, strict=True):
        c = c if isinstance(c, Fraction) else Fraction(float(c))
        diff = abs(Fraction(e) - c)
        worst = max(worst, diff / abs(c) if c != 0 else diff)
    if worst == 0:
        return DIGITS_CAP
    return float(min(DIGITS_CAP, max(0.0, -_log10(worst))))
