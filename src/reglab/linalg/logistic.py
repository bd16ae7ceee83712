"""Unpenalised logistic regression (the MLE) by two solvers side by side, with separation detected first.

When the classes are (quasi-)completely separated the MLE does not exist; a linear program
(:func:`_separation`) says so before either optimiser runs, so the report never presents wherever an
optimiser stopped as an estimate.  Inputs are validated by :class:`reglab.linalg.lsq.design.Design`,
the same checks and messages as the least-squares comparison.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.optimize import linprog

from reglab.core.io import json_float
from reglab.core.stats import bce
from reglab.linalg import comparison
from reglab.linalg.comparison import SolverOut, import_libraries, run
from reglab.linalg.lsq import rank as rank_rule
from reglab.linalg.lsq.design import Design

__all__ = ["LOGISTIC_SOLVERS", "SEPARATION_TOL", "logistic_all"]

#: Names of the logistic solvers, in report order.
LOGISTIC_SOLVERS: tuple[str, ...] = ("statsmodels_logit", "sklearn")
#: Separation margin (columns scaled to max |x| = 1, |beta_j| <= 1) below which the LP result counts as zero.
SEPARATION_TOL: float = 1e-7


def _separation(D: np.ndarray, y: np.ndarray) -> tuple[str, np.ndarray | None, str]:
    """Detect (quasi-)complete separation by linear programming (Albert & Anderson 1984; Konis 2007).

    With ``A = diag(2y-1) D`` (columns scaled to max |a| = 1) and ``|beta_j| <= 1``:

    * complete separation  <=>  max t  s.t.  A beta >= t  has t* > 0  (all inequalities strict);
    * quasi-complete       <=>  max sum(A beta)  s.t.  A beta >= 0  is > 0 (some strict), but not complete.

    Margins below :data:`SEPARATION_TOL` count as zero.  Returns (kind, direction in the original parameter
    scale normalised to max |beta| = 1 or None, note)."""
    n, m = D.shape
    A = (2.0 * y - 1.0)[:, None] * D
    cmax = np.max(np.abs(A), axis=0)
    cscale = np.where(cmax > 0, cmax, 1.0)
    As = A / cscale

    def direction(b: np.ndarray) -> np.ndarray:
        d = b / cscale
        return d / np.max(np.abs(d))

    # complete separation: variables (beta, t)
    res = linprog(
        c=np.r_[np.zeros(m), -1.0],
        A_ub=np.hstack([-As, np.ones((n, 1))]),
        b_ub=np.zeros(n),
        bounds=[(-1.0, 1.0)] * m + [(None, 1.0)],
        method="highs",
    )
    if res.status != 0:
        return "unknown", None, f"separation LP failed ({res.message})"
    beta = res.x[:m]
    a = As @ beta
    if -res.fun > SEPARATION_TOL and a.min() > SEPARATION_TOL / 2:
        return "complete", direction(beta), ""
    res = linprog(c=-As.sum(axis=0), A_ub=-As, b_ub=np.zeros(n), bounds=[(-1.0, 1.0)] * m, method="highs")
    if res.status != 0:
        return "unknown", None, f"separation LP failed ({res.message})"
    beta = res.x
    a = As @ beta
    if -res.fun > SEPARATION_TOL and a.max() > SEPARATION_TOL and a.min() >= -SEPARATION_TOL:
        return "quasi-complete", direction(beta), ""
    return "none", None, ""


def _fit_statsmodels_logit(D: np.ndarray, y: np.ndarray) -> SolverOut:
    import statsmodels.api as sm

    res = sm.Logit(y, D).fit(disp=0, method="newton", maxiter=100)
    w = np.asarray(res.params, dtype=np.float64)
    with np.errstate(all="ignore"):
        bse = np.asarray(res.bse, dtype=np.float64)
    converged = bool(res.mle_retvals.get("converged", False))
    extra = {"_bse": bse, "log_likelihood": json_float(res.llf), "converged": converged}
    return w, extra, "" if converged else "Newton iterations did not converge"


def _fit_sklearn_logit(X: np.ndarray, y: np.ndarray, intercept: bool) -> SolverOut:
    from sklearn.linear_model import LogisticRegression

    # C=inf is scikit-learn's (1.8+) spelling of penalty=None: the unpenalised MLE.
    model = LogisticRegression(C=np.inf, solver="lbfgs", max_iter=10_000, tol=1e-10, fit_intercept=intercept)
    model.fit(X, y)
    coef = np.asarray(model.coef_, dtype=np.float64).ravel()
    w = np.concatenate([coef, [float(np.ravel(model.intercept_)[0])]]) if intercept else coef
    n_iter = int(np.max(model.n_iter_))
    return w, {"n_iter": n_iter, "converged": n_iter < model.max_iter}, ""


def logistic_all(X: np.ndarray, y: np.ndarray, *, intercept: bool, feature_names: Sequence[str]) -> dict:
    """Unpenalised logistic regression (MLE) by statsmodels Logit (Newton) and scikit-learn (lbfgs, C=inf).

    Shapes: ``X`` (n, p) float without an intercept column, ``y`` (n,) with values in {0, 1}.  Separation is
    detected BEFORE fitting by linear programming (see :func:`_separation`); when the data are separated the
    MLE does not exist, both solvers are still run and their numbers are wherever the optimiser stopped.

    Returns a JSON-serialisable dict::

        {"solvers": {"statsmodels_logit": {"status", "message", "coef", "intercept", "se", "log_likelihood",
                                           "train_bce", "seconds", "converged"},
                     "sklearn": {"status", "message", "coef", "intercept", "train_bce", "log_likelihood",
                                 "seconds", "converged", "n_iter"}},
         "separation": "none" | "quasi-complete" | "complete"  ("unknown" only if the LP solver itself fails),
         "separating_direction": {param: float} | None, "mle_exists": bool | None, "message": str,
         "rank": int, "n_params": int}

    ``train_bce`` is the mean binary cross-entropy on the training data.  Raises ValueError for bad input
    (including y not binary 0/1); individual solvers never raise.
    """
    design = Design.of(X, y, features=feature_names, intercept=intercept)
    Xf, yf, features = design.X, design.y, list(design.features)
    bad = ~np.isin(yf, (0.0, 1.0))
    if bad.any():
        vals = np.unique(yf[bad])[:5]
        raise ValueError(
            f"y must be binary with values 0/1; found {int(bad.sum())} other value(s), e.g. {vals.tolist()}"
        )
    import_libraries()
    D = design.matrix()
    n, m = D.shape
    names = design.param_names
    rank = rank_rule.of_design(D).rank

    kind, direction, lp_note = _separation(D, yf)
    mle_exists: bool | None = {"none": True, "complete": False, "quasi-complete": False}.get(kind)
    if kind == "none":
        message = "no separation: the maximum-likelihood estimate exists"
        if rank < m:
            message += f", but the design is rank deficient (rank {rank} of {m}) so it is not unique"
    elif kind == "unknown":
        message = f"separation could not be checked: {lp_note}"
    else:
        message = (
            f"{kind} separation detected by linear programming: the maximum-likelihood estimate does not "
            "exist (the log-likelihood keeps increasing as the coefficients diverge along the separating "
            "direction); the reported coefficients, standard errors and losses are wherever each optimiser "
            "stopped"
        )

    raw = {
        "statsmodels_logit": run(lambda: _fit_statsmodels_logit(D, yf)),
        "sklearn": run(lambda: _fit_sklearn_logit(Xf, yf, intercept)),
    }
    solvers: dict[str, dict[str, Any]] = {}
    for name in LOGISTIC_SOLVERS:
        w, extra, msg, ok, seconds = raw[name]
        entry = comparison.entry(w, D, yf, features, intercept, msg, ok, seconds)
        entry.pop("train_mse")
        entry["train_bce"] = bce(D @ w, yf) if ok and w is not None else None
        if name == "statsmodels_logit":
            bse = extra.pop("_bse", None)
            entry["se"] = (
                None if bse is None else {nm: json_float(b) for nm, b in zip(names, bse, strict=True)}
            )
            entry["log_likelihood"] = extra.pop("log_likelihood", None)
        elif ok and w is not None:
            entry["log_likelihood"] = float(-n * entry["train_bce"])
        else:
            entry["log_likelihood"] = None
        entry.update(extra)
        solvers[name] = entry

    return {
        "solvers": solvers,
        "separation": kind,
        "separating_direction": (
            None if direction is None else {nm: float(v) for nm, v in zip(names, direction, strict=True)}
        ),
        "mle_exists": mle_exists,
        "message": message,
        "rank": int(rank),
        "n_params": int(m),
    }
