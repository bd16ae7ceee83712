"""The result vocabulary of a least-squares fit, the same in every artifact that holds one.

Keys: ``coef`` (feature name -> value), ``intercept`` (None without one), ``se`` (parameter name ->
standard error, the intercept's under ``"intercept"``), ``r2`` with ``r2_kind`` (``centred`` with an
intercept, else ``uncentred``), ``residual_sd``, ``dof``, ``rank`` with ``n_params``, the condition
numbers each under a name that says which it is (:data:`CONDITION_NAMES`), ``correct_digits`` with
``correct_digits_metric`` (:data:`reglab.linalg.lsq.digits.METRIC`) and ``claimed_digits`` (the
path's own estimate), and ``columns_left_out``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["CONDITION_NAMES", "coef_vector"]

#: The condition numbers a fit may report, and what each one is.
CONDITION_NAMES: dict[str, str] = {
    "condition_scaled": "2-norm condition number of the design [X, 1] (uncentred) with unit-norm columns",
    "condition_centred_scaled": "2-norm condition number of the centred design [X - mean, 1] with unit-norm "
    "columns (what the streamed solve factors)",
    "condition_raw": "2-norm condition number of the raw design [X, 1], in the data's units",
}


def coef_vector(fit: Mapping[str, Any], features: Sequence[str]) -> np.ndarray:
    """(p + 1,) the fit's coefficients in ``features`` order, then its intercept.

    ``fit["coef"]`` is a mapping keyed by feature name (the vocabulary) or, in artifacts written before
    it, a list in ``features`` order.

    >>> coef_vector({"coef": {"b": 2.0, "a": 1.0}, "intercept": 0.5}, ["a", "b"]).tolist()
    [1.0, 2.0, 0.5]
    """
    coef = fit["coef"]
    values = [coef[f] for f in features] if isinstance(coef, Mapping) else list(coef)
    return np.array([*values, fit["intercept"]], dtype=np.float64)
