"""The result vocabulary of a least-squares fit, the same in every artifact that holds one.

Keys: ``coef`` (feature name -> value), ``intercept`` (None without one), ``se`` (parameter name ->
standard error, the intercept's under ``"intercept"``), ``r2`` with ``r2_kind`` (``centred`` with an
intercept, else ``uncentred``), ``residual_sd``, ``dof``, ``rank`` with ``n_params``, the condition
numbers each under a name that says which it is (:data:`CONDITION_NAMES`), ``correct_digits`` with
``correct_digits_metric`` (:data:`reglab.linalg.lsq.digits.METRIC`) and ``claimed_digits`` (the
path's own estimate), and ``columns_left_out``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from reglab.linalg.lsq.digits import METRIC

__all__ = ["CONDITION_NAMES", "coef_vector", "from_streamed"]

#: The condition numbers a fit may report, and what each one is.
CONDITION_NAMES: dict[str, str] = {
    "condition_scaled": "2-norm condition number of the design [X, 1] (uncentred) with unit-norm columns",
    "condition_centred_scaled": "2-norm condition number of the centred design [X - mean, 1] with unit-norm "
    "columns (what the streamed solve factors)",
    "condition_raw": "2-norm condition number of the raw design [X, 1], in the data's units",
    "condition_pow2_scaled": "2-norm condition number of [X, 1] with the rank rule's power-of-two column "
    "scales",
}

#: the streamed solve's own names, replaced by the vocabulary's in :func:`from_streamed`
_STREAMED_OWN = (
    "coef",
    "se",
    "se_intercept",
    "sigma2",
    "condition_scaled",
    "correct_digits_estimate",
    "correct_digits_slopes",
    "se_digits",
    "rank",
)


def from_streamed(
    res: Mapping[str, Any], features: Sequence[str], *, intercept: bool = True
) -> dict[str, Any]:
    """A streamed solve's result (:func:`reglab.linalg.streaming.solve`) in the vocabulary: ``coef`` and
    ``se`` keyed by name, ``residual_sd``, ``rank`` of ``[X, 1]`` (the solve counts the slopes),
    ``n_params``, ``condition_centred_scaled``, ``claimed_digits`` (the solve's a-priori estimate; nothing
    measures it here, so ``correct_digits`` is None) with ``correct_digits_metric``; the rest as it is.

    >>> res = {"coef": [2.0], "se": [0.1], "se_intercept": 0.2, "sigma2": 4.0, "rank": 1, "k": 1,
    ...        "condition_scaled": 1.0, "correct_digits_estimate": 15.0, "correct_digits_slopes": 15.0,
    ...        "se_digits": 14.0, "intercept": 1.0}
    >>> fit = from_streamed(res, ["x"])
    >>> fit["coef"], fit["se"], fit["residual_sd"], fit["rank"], fit["n_params"]
    ({'x': 2.0}, {'x': 0.1, 'intercept': 0.2}, 2.0, 2, 2)
    """
    feats = list(features)
    out = {k: v for k, v in res.items() if k not in _STREAMED_OWN}
    se = dict(zip(feats, res["se"], strict=True))
    if intercept:
        se["intercept"] = res["se_intercept"]
    sigma2 = res["sigma2"]
    out.update(
        {
            "coef": dict(zip(feats, res["coef"], strict=True)),
            "se": se,
            "se_digits": res["se_digits"],
            "residual_sd": math.sqrt(sigma2) if sigma2 is not None and math.isfinite(sigma2) else None,
            "rank": int(res["rank"]) + int(intercept),
            "n_params": int(res["k"]) + int(intercept),
            "condition_centred_scaled": res["condition_scaled"],
            "claimed_digits": res["correct_digits_estimate"],
            "claimed_digits_slopes": res["correct_digits_slopes"],
            "correct_digits": None,
            "correct_digits_metric": METRIC,
        }
    )
    return out


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
