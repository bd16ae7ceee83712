"""Closed-form baselines of one dataset artifact: the numbers every trained model is compared with."""

from __future__ import annotations

from typing import Any

import numpy as np

from reglab.core.stats import bce, mse
from reglab.data.datasets import Dataset
from reglab.linalg import batched
from reglab.linalg.logistic import logistic_all
from reglab.linalg.lsq.design import Design, param_names
from reglab.linalg.solvers import least_squares_all


def _predict(fit: dict[str, Any], X: np.ndarray, features: list[str]) -> np.ndarray | None:
    if fit.get("status") != "ok" or fit.get("coef") is None:
        return None
    coef = np.array([fit["coef"][f] for f in features])
    return X @ coef + (fit["intercept"] or 0.0)


def _validation_scores(
    solvers: dict[str, dict], X: np.ndarray, y: np.ndarray, features: list[str], *, logistic: bool
) -> dict[str, float | None]:
    """Validation MSE (least squares) or mean binary cross-entropy (logistic) per solver."""
    scores: dict[str, float | None] = {}
    for name, fit in solvers.items():
        eta = _predict(fit, X, features)
        if eta is None:
            scores[name] = None
        else:
            scores[name] = bce(eta, y) if logistic else mse(eta - y)
    return scores


def _truth_error(fit: dict[str, Any], truth: dict[str, float], names: list[str]) -> float | None:
    """Euclidean distance between a solver's parameters and the known true ones (same order)."""
    if fit.get("status") != "ok" or not truth or any(n not in truth for n in names):
        return None
    values = [*(fit["coef"][n] for n in names if n != "intercept")]
    if "intercept" in names:
        values.append(fit["intercept"])
    return float(np.linalg.norm(np.array(values) - np.array([truth[n] for n in names])))


def fit_target(data: Dataset, target: str) -> dict[str, Any]:
    """Least squares (always) and logistic MLE (binary targets) for one target, on the training rows."""
    X, y = data.X("train"), data.y(target, "train")
    names = param_names(data.features, data.intercept)
    binary = data.is_binary(target)
    ls = least_squares_all(X, y, intercept=data.intercept, feature_names=data.features)
    truth = data.truth.get(target, {})
    for fit in ls["solvers"].values():
        fit["truth_distance"] = _truth_error(fit, truth, names)
    result: dict[str, Any] = {
        "kind": "binary" if binary else "continuous",
        "least_squares": ls,
        "logistic": None,
        "truth": truth if all(isinstance(v, (int, float)) for v in truth.values()) else {},
    }
    if data.intercept:
        # Keras runs with use_bias=False on this dataset compare against these.
        result["least_squares_no_intercept"] = least_squares_all(
            X, y, intercept=False, feature_names=data.features
        )
    if binary:
        result["logistic"] = logistic_all(X, y, intercept=data.intercept, feature_names=data.features)
    if data.has_split:
        Xv, yv = data.X("validation"), data.y(target, "validation")
        result["validation"] = {
            "n": int(len(yv)),
            "least_squares_mse": _validation_scores(ls["solvers"], Xv, yv, data.features, logistic=False),
        }
        if binary:
            result["validation"]["logistic_bce"] = _validation_scores(
                result["logistic"]["solvers"], Xv, yv, data.features, logistic=True
            )
    return result


def grouped_least_squares(data: Dataset) -> dict[str, Any]:
    """Per-group OLS for a dataset of datasets (seed 000): the answers an amortized encoder should output."""
    groups = data.frame["group"].to_numpy()
    ids = np.unique(groups)
    coefs, mses = [], []
    for g in ids:
        rows = groups == g
        one = Design.of(
            data.frame.loc[rows, data.features],
            data.frame.loc[rows, data.target],
            features=data.features,
            intercept=data.intercept,
            min_rows=1,
        )
        A, b = one.matrix(), one.y
        beta = batched.ols(A[None], b[None])[0]  # the one per-dataset solve (QR, the rank rule)
        coefs.append(beta)
        mses.append(mse(A @ beta - b))
    coefs_arr = np.array(coefs)
    out: dict[str, Any] = {
        "n_groups": int(len(ids)),
        "param_names": param_names(data.features, data.intercept),
        "coef_by_group": coefs_arr.tolist(),
        "train_mse_by_group": mses,
        "mean_train_mse": float(np.mean(mses)),
    }
    true = data.truth.get(data.target, {}).get("coef_by_group")
    if true is not None:
        err = coefs_arr - np.array(true)
        out["rmse_vs_truth"] = dict(zip(out["param_names"], np.sqrt(np.mean(err**2, axis=0)).tolist()))
        out["mean_noise_variance"] = float(np.mean(np.square(data.truth[data.target]["noise_sd_by_group"])))
    return out


def summarize(data: Dataset) -> dict[str, Any]:
    """The ``results/closed_form/{dataset}.json`` document (keys in docs/results.md)."""
    base: dict[str, Any] = {
        "dataset": data.name,
        "features": data.features,
        "intercept": data.intercept,
        "target": data.target,
        "provenance": data.provenance,
    }
    if "group" in data.frame.columns:
        grouped = grouped_least_squares(data)
        return {
            **base,
            "grouped": True,
            "n": int(len(data.frame)),
            "solvers": {},
            "recommended": None,
            **grouped,
        }
    targets = {t: fit_target(data, t) for t in data.targets}
    primary = targets[data.target]["least_squares"]
    return {
        **base,
        "grouped": False,
        "n": int(len(data.X("train"))),
        "fitted_on": "train split" if data.has_split else "all rows",
        "solvers": primary["solvers"],
        "recommended": primary["recommended"],
        "correct_digits": primary["correct_digits"],
        "rank": primary["rank"],
        "n_params": primary["n_params"],
        "targets": targets,
    }
