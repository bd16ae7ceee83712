"""The one place numbers become text: tables, sentences and figure labels all format through here."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

DASH = "—"


def sig(x: float | None, digits: int = 3) -> str:
    """``digits`` significant digits (``%g``); a dash for a missing value."""
    return DASH if x is None else f"{x:.{digits}g}"


_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")

#: the unit a quantity's name ends with (the one rule for the findings' decisive numbers)
_UNITS = (("_seconds", "s"), ("_pct", "%"), ("_mb", "MB"), ("_digits", "digits"))


def unit_of(quantity: str) -> str:
    """The unit of a reproduction quantity, read from its name ('' for a plain number).

    >>> unit_of("ols_1e6x100_seconds"), unit_of("best_encoder_excess_pct"), unit_of("adam_w1")
    ('s', '%', '')
    """
    for suffix, unit in _UNITS:
        if quantity.endswith(suffix):
            return unit
    return "steps" if "steps_to" in quantity else ""


def fmt(value: Any, digits: int = 4) -> str:
    """Numbers for tables: ``digits`` significant digits (the one rule), scientific for very large/small,
    'yes'/'no', a dash for missing; a string that is a number (read back from a CSV) is one.

    >>> fmt(7.7869737414194224), fmt("2.2224710392038105e-06"), fmt("lstm_seed"), fmt(None)
    ('7.787', '2.222e-06', 'lstm_seed', '—')
    """
    if value is None or value is pd.NA:
        return DASH
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(value)
    if isinstance(value, str) and _NUMBER.match(value):
        value = float(value)  # a number read back from a CSV column that also holds text
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isnan(value):
            return DASH
        if value == 0.0:
            return "0"
        if abs(value) >= 1e5 or abs(value) < 1e-3:
            return f"{value:.{digits - 1}e}"
        return f"{value:.{digits}g}"
    return str(value)


def spelled(x: float, digits: int = 3) -> str:
    """``digits`` significant digits (``%g``) with non-finite values in words, for sentences:
    ``"infinite"``, ``"-infinite"``, ``"undefined"`` (NaN)."""
    if math.isnan(x):
        return "undefined"
    if math.isinf(x):
        return "infinite" if x > 0 else "-infinite"
    return f"{x:.{digits}g}"


def compact(value: float | None, digits: int = 2) -> str:
    """Short significant-digit form for figure labels: ``3.2e-9``, ``0.012``, ``1.5e4``; ``∞``/``−∞``;
    a dash for None/NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "−∞"
    text = f"{value:.{digits}g}"
    return re.sub(r"e([+-])0*(\d)", lambda m: "e" + ("-" if m.group(1) == "-" else "") + m.group(2), text)
