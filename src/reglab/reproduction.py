"""The reproduction table: every number a seed article printed, beside reglab's and the reference.

The ``article`` values are the articles' printed claims (they are the thing under test, so
they are typed in, with where they were printed). Everything else is read from artifacts:
Keras run documents (``results/keras/*/*.json``) and closed-form documents. Each row states
its criterion, and a verdict with the reason in words when reglab and the article differ.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

COLUMNS = ["document", "quantity", "article", "reglab", "reference", "verdict", "criterion", "source"]

Docs = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class Row:
    document: str
    quantity: str
    article: float
    reglab: float | None
    reference: float | None
    verdict: str
    criterion: str
    source: str

    def as_dict(self) -> dict[str, Any]:
        return {c: getattr(self, c) for c in COLUMNS}


def _num(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _get(docs: Docs, key: str, *path: str) -> Any:
    node: Any = docs.get(key)
    for p in path:
        if node is None:
            return None
        node = node.get(p) if isinstance(node, Mapping) else None
    return node


def _missing(run: str) -> str:
    return f"not run: no Keras run named '{run}' in this config"


def within_decade(a: float, b: float) -> bool:
    """Same order of magnitude: |log10(a / b)| <= 1 (for positive a, b)."""
    return a > 0 and b > 0 and abs(math.log10(a / b)) <= 1.0


def within_relative(a: float, b: float, rel: float) -> bool:
    return abs(a - b) <= rel * abs(b)


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.4g}"


# ------------------------------------------------------------------ seed 001


def rows_001(keras: Docs, closed: Docs) -> list[Row]:
    run = "s001_adam"
    out = []
    for q, feature, article in (("adam_w1", "x1", 1.15), ("adam_w2", "x2", 0.85)):
        summary = _get(keras, run, "summary", feature)
        ref = _num(_get(closed, "collinear_toy", "solvers", "lstsq", "coef", feature))
        min_norm = _get(closed, "collinear_toy", "solvers", "lstsq")
        point = (f"({min_norm['coef']['x1']:.3g}, {min_norm['coef']['x2']:.3g}, {min_norm['intercept']:.3g})"
                 if min_norm and min_norm.get("coef") else "—")
        criterion = "article value inside reglab's 5-95% range over the repeats"
        source = f"{run}: median over repeats; reference: minimum-norm least squares"
        if summary is None:
            out.append(Row("001", q, article, None, ref, _missing(run), criterion, source))
            continue
        lo, med, hi = summary["q05"], summary["median"], summary["q95"]
        n = _get(keras, run, "n_repeats")
        mse = _get(keras, run, "final_mse_float64")
        if lo <= article <= hi:
            verdict = (f"reproduced: {article} lies in reglab's 5-95% range [{lo:.3f}, {hi:.3f}] over {n} "
                       f"initialisations (median {med:.3f}); each landing point fits the data exactly "
                       f"(MSE {_fmt(mse)} for the first) but sits on the line w1 + w2 = 2 away from the "
                       f"minimum-norm solution (w1, w2, b) = {point}: the data do not identify w1 and w2")
        else:
            verdict = (f"differs: {article} is outside reglab's 5-95% range [{lo:.3f}, {hi:.3f}] over {n} "
                       "initialisations; the landing point depends on the initialisation and Adam's path "
                       "along the line of exact solutions, so another init distribution moves it")
        out.append(Row("001", q, article, med, ref, verdict, criterion, source))
    return out


# ------------------------------------------------------------------ seed 002


_MSE_002 = (
    # quantity, run, article value, dataset of the run
    ("fullbatch_sgd_mse_10k", "s002_fullbatch_f32_10k", 1.953624326696054e-4, "underdetermined"),
    ("minibatch32_sgd_mse_10k", "s002_minibatch32_f32_10k", 1.9258555439788135e-10, "underdetermined"),
    ("minibatch32_sgd_mse_20k", "s002_minibatch32_f32_20k", 1.2521153241468356e-13, "underdetermined"),
    ("small_fullbatch_sgd_mse_10k", "s002_small_fullbatch_f32_10k", 1.3108133821545518e-10, "underdetermined_small"),
)


def rows_002(keras: Docs, closed: Docs) -> list[Row]:
    out = []
    criterion = "same order of magnitude (|log10 ratio| <= 1): A and b are a different uniform draw"
    for q, run, article, dataset in _MSE_002:
        value = _num(_get(keras, run, "final_mse_float64"))
        ref = _num(_get(closed, dataset, "solvers", "lstsq", "train_mse"))
        source = f"{run}: MSE of the final float32 weights evaluated in float64, as the article did with numpy"
        if value is None:
            verdict = _missing(run)
        elif within_decade(value, article):
            verdict = (f"reproduced: {_fmt(value)} vs the article's {_fmt(article)}; numpy's least squares "
                       f"reaches {_fmt(ref)} on the same system")
        else:
            verdict = (f"differs: {_fmt(value)} vs {_fmt(article)}, ratio {value / article:.3g}; the convergence "
                       "rate is set by the smallest nonzero eigenvalue of this draw's A'A, which varies between "
                       "draws")
        out.append(Row("002", q, article, value, ref, verdict, criterion, source))
    article = 1.4348640308871558e-30
    value = _num(_get(closed, "underdetermined", "solvers", "lstsq", "train_mse"))
    criterion = "both below 1e-25, i.e. float64 rounding of an exact fit"
    if value is None:
        verdict = "not run: no 'underdetermined' dataset in this config"
    elif value < 1e-25 and article < 1e-25:
        verdict = (f"reproduced: {_fmt(value)}; any value near 1e-30 is the rounding of an exact solution "
                   "(the system has more unknowns than equations)")
    else:
        verdict = f"differs: {_fmt(value)} is not at rounding level"
    out.append(Row("002", "numpy_mse", article, value, None, verdict, criterion,
                   "closed form, lstsq (SVD) on underdetermined"))
    return out


# ------------------------------------------------------------------ seed 003

# The article's printed regression weights, in input order (relationship, children, age).
_LINEAR_003 = {"relationship": -0.00324172, "children": 0.43457505, "age": 0.1423042}
_LOGISTIC_003 = {"relationship": 0.02176554, "children": 14.170614, "age": 8.668548}



def balloons_population_mse(children: float, age: float, relationship: float = 0.0, intercept: float = 0.0) -> float:
    """Expected squared error of a linear model on seed 003's printed rule (infinite data).

    Groups are equally likely, relationship = -/+0.5, children and age U[-0.5, 0.5] independent
    (variance 1/12, mean 0): E[(y - f)^2] = mean over groups of ((a_g - children)^2 + (b_g - age)^2) / 12
    + (mean offset)^2, with (a, b) = (1.0, -0.2) partnered and (0.8, 0.5) single.
    """
    groups = ((-0.5, 1.0, -0.2), (0.5, 0.8, 0.5))
    return sum(((a - children) ** 2 + (b - age) ** 2) / 12 + (relationship * r + intercept) ** 2
               for r, a, b in groups) / len(groups)


def _note_003_linear() -> str:
    floor = balloons_population_mse(0.9, 0.15)
    at_article = balloons_population_mse(_LINEAR_003["children"], _LINEAR_003["age"],
                                         _LINEAR_003["relationship"])
    return (f"with the data-generating rule as printed, least squares gives children (1.0 + 0.8)/2 = 0.9 and "
            f"age (-0.2 + 0.5)/2 = 0.15 with an MSE floor of {floor:.4f}; the article's text computes "
            f"(1.0 + 0.8)/2 as 0.45 (a slip: it is 0.9). Its printed weights would have an MSE of "
            f"{at_article:.4f} on data from the printed rule, not the ~0.020 its log shows, so they are not an "
            f"unconverged fit of that rule either: the data its unpublished code generated differ from the "
            f"printed rule in the children term, while the age weight, which the rule fixes, agrees")


def _weight_rows(prefix: str, article: Mapping[str, float], run: str, keras: Docs, ref_fit: Mapping | None,
                 ok: Callable[[float, float], bool], criterion: str, note: str) -> list[Row]:
    out = []
    for feature, a in article.items():
        value = _num(_get(keras, run, "coef", feature))
        ref = _num(ref_fit["coef"][feature]) if ref_fit else None
        q = f"{prefix}_w_{feature}"
        source = f"{run}: Keras weight; reference: closed form on reglab's data"
        if value is None:
            verdict = _missing(run)
        elif ok(value, a):
            verdict = f"reproduced: {value:.4g} vs {a:.4g}"
        else:
            agree = ref is not None and ok(value, ref)
            verdict = (f"differs: {value:.4g} vs {a:.4g}"
                       + (f"; reglab's Keras fit agrees with its closed form ({ref:.4g}), so the gap is the data, "
                          "not the optimizer: " if agree else "; ")
                       + note)
        out.append(Row("003", q, a, value, ref, verdict, criterion, source))
    return out


def _loss_row(q: str, article: float, run: str, keras: Docs, ref: float | None, criterion: str,
              ok: Callable[[float, float], bool], note: str) -> Row:
    value = _num(_get(keras, run, "final_val_loss"))
    if value is None:
        verdict = _missing(run)
    elif ok(value, article):
        verdict = f"reproduced: {_fmt(value)} vs {_fmt(article)}"
    else:
        verdict = f"differs: {_fmt(value)} vs {_fmt(article)}; {note}"
    return Row("003", q, article, value, ref, verdict, criterion,
               f"{run}: validation loss at the last epoch run")


def rows_003(keras: Docs, closed: Docs) -> list[Row]:
    balloons = closed.get("balloons") or {}
    targets = balloons.get("targets", {})
    ls = targets.get("num_balloons", {}).get("least_squares")
    ls_fit = ls["solvers"][ls["recommended"]] if ls else None
    logit = ((targets.get("color", {}).get("logistic") or {}).get("solvers") or {}).get("statsmodels_logit")
    ls_val = _get(targets, "num_balloons", "validation", "least_squares_mse")
    lg_val = _get(targets, "color", "validation", "logistic_bce")
    near = lambda a, b: abs(a - b) <= 0.02  # noqa: E731
    rel15 = lambda a, b: within_relative(a, b, 0.15) or abs(a - b) <= 0.02  # noqa: E731
    rel25 = lambda a, b: within_relative(a, b, 0.25)  # noqa: E731
    mlp_note = ("the article's MLP architecture is not printed (its gist is not part of the article); the "
                "qualitative claim, MLP far below the linear model, is what carries over")
    linear_val = _num(_get(keras, "s003_linear", "final_val_loss"))
    out = _weight_rows("linear", _LINEAR_003, "s003_linear", keras, ls_fit, near, "absolute difference <= 0.02",
                       _note_003_linear())
    out.append(_loss_row("linear_val_loss", 0.0207, "s003_linear", keras,
                         _num(ls_val[ls["recommended"]]) if ls_val and ls else None,
                         "relative difference <= 25%", rel25,
                         "reglab's value sits at the closed-form validation MSE; " + _note_003_linear()))
    mlp_reg = _num(_get(keras, "s003_mlp_regression", "final_val_loss"))
    out.append(_loss_row("mlp_regression_val_loss", 1.1776e-4, "s003_mlp_regression", keras, None,
                         "same order of magnitude", within_decade,
                         mlp_note + (f" (reglab: MLP {_fmt(mlp_reg)} vs linear {_fmt(linear_val)})"
                                     if mlp_reg is not None and linear_val is not None else "")))
    out += _weight_rows("logistic", _LOGISTIC_003, "s003_logistic", keras, logit, rel15,
                        "relative difference <= 15% (or absolute <= 0.02)",
                        "the logistic weights' scale grows as the labels get more separable, so it depends on "
                        "the draw and on when training stopped; the direction (children/age ratio) is what "
                        "the data fix")
    out.append(_loss_row("logistic_val_loss", 0.1969, "s003_logistic", keras,
                         _num(lg_val["statsmodels_logit"]) if lg_val else None,
                         "relative difference <= 25%", rel25, "different draw and stopping epoch"))
    out.append(_loss_row("mlp_classification_val_loss", 0.0098, "s003_mlp_classification", keras, None,
                         "same order of magnitude", within_decade, mlp_note))
    return out


def build_table(keras: Docs, closed: Docs) -> pd.DataFrame:
    """All reproduction rows from Keras run documents (by run name) and closed-form documents (by dataset)."""
    rows = rows_001(keras, closed) + rows_002(keras, closed) + rows_003(keras, closed)
    return pd.DataFrame([r.as_dict() for r in rows], columns=COLUMNS)
