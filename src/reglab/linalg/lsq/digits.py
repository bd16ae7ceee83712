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

__all__ = ["DIGITS_CAP", "METRIC", "lre"]

#: Digits of an exact match (float64 carries about 15.95).
DIGITS_CAP: float = 16.0
#: How every ``correct_digits`` in reglab's artifacts is measured (its ``correct_digits_metric``).
METRIC: str = "lre_componentwise"


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
