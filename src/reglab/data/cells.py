"""What a cell that is not a number says: the one decimal-comma rule both file readers apply (in memory,
:mod:`reglab.data.datasets`; streamed, :mod:`reglab.data.large`)."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["DECIMAL_COMMA", "decimal_comma_hint", "parses"]

#: a number written with a decimal comma (``0,5``, ``-12,25``)
DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d+,\d+\s*$")


def decimal_comma_hint(value: Any) -> str:
    """`` (a decimal comma? write 0.5, not 0,5)`` for a cell like ``"0,5"``, else ``""``.

    >>> decimal_comma_hint("0,3456"), decimal_comma_hint("abc")
    (' (a decimal comma? write 0.5, not 0,5)', '')
    """
    return (
        " (a decimal comma? write 0.5, not 0,5)"
        if isinstance(value, str) and DECIMAL_COMMA.match(value)
        else ""
    )


def parses(value: Any) -> bool:
    """Whether a cell reads as a (finite or not) float.

    >>> parses("1.5e3"), parses(" 2 "), parses("0,5"), parses(None)
    (True, True, False, False)
    """
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True
