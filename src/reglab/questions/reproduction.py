"""The reproduction table: every number a seed article printed, beside reglab's and the reference.

The ``article`` values are the articles' printed claims (they are the thing under test, so
they are typed in, with where they were printed). Everything else is read from artifacts:
Keras run documents (``results/keras/*/*.json``) and closed-form documents. Each row states
its criterion, and a verdict with the reason in words when reglab and the article differ.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from reglab.studies.convergence import keyed_runs

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


# ------------------------------------------------------------------ convergence studies (002 steps, 004)


def _runs(summary: Mapping[str, Any] | None, **match: Any) -> list[dict[str, Any]]:
    return keyed_runs(summary, **match) if summary else []


def rows_002_steps(studies: Docs) -> list[Row]:
    """Predicted vs measured gradient-descent steps to MSE 1e-10 (full-batch Keras SGD, float64)."""
    summary = studies.get("seed002")
    runs = _runs(summary, solver="keras_sgd", batch_size=None, dtype="float64", repeat=0)
    criterion = "measured within 1% of predicted (theory computed from the run's own initial weights)"
    source = "convergence study seed002: full-batch Keras SGD in float64 vs the eigen-decomposition prediction"
    if not runs or summary["tolerance"] != {"metric": "mse", "value": 1e-10}:
        msg = "not run: no seed002 study with a full-batch float64 SGD run and tolerance mse 1e-10"
        return [Row("002", "steps_to_1e-10_predicted", math.nan, None, None, msg, criterion, source),
                Row("002", "steps_to_1e-10_measured", math.nan, None, None, msg, criterion, source)]
    run = runs[0]
    predicted = run.get("predicted_steps")
    tt = run["time_to_tolerance"]
    measured = tt["epochs"]
    lr = run["learning_rate"]
    if predicted is None:
        verdict = f"differs: theory predicts GD at lr {lr} never reaches 1e-10"
    elif measured is None:
        verdict = (f"differs: predicted {predicted} steps, but the run stopped after {run['epochs_run']} epochs "
                   f"at best {_fmt(tt['best'])}: give the study more epochs_full_batch")
    elif abs(measured - predicted) <= 0.01 * predicted:
        verdict = (f"reproduced: Keras needs {measured} full-batch steps, theory predicts {predicted}: the slow "
                   "decay is plain gradient descent on an ill-conditioned Hessian, far beyond the article's 10,000")
    else:
        verdict = f"differs: measured {measured} vs predicted {predicted} steps"
    note = "the article printed no step count"
    return [Row("002", "steps_to_1e-10_predicted", math.nan, None if predicted is None else float(predicted),
                None, verdict + f" ({note})", criterion, source),
            Row("002", "steps_to_1e-10_measured", math.nan, None if measured is None else float(measured),
                None if predicted is None else float(predicted), verdict + f" ({note})", criterion, source)]


_ARTICLE_004 = {
    # the article's printed numbers: coefficients (ENGINESIZE, CYLINDERS, FUELCONSUMPTION_COMB), intercept
    "gd": (10.85347843, 7.51750331, 9.59591605, 65.21825985969691),
    "sgd": (10.72000912, 8.3366805, 9.13970723, 65.2366350549217),
    "closed_form": (10.59881197, 7.4005805, 9.48207228, 67.82612794918894),
}
_FUEL_PARAMS = ("enginesize", "cylinders", "fuelconsumption_comb", "intercept")


def rows_004(studies: Docs, closed: Docs) -> list[Row]:
    summary = studies.get("seed004")
    fuel = closed.get("fuel")
    cf = None
    if fuel:
        fit = fuel["solvers"][fuel["recommended"]]
        cf = [fit["coef"][f] for f in ("ENGINESIZE", "CYLINDERS", "FUELCONSUMPTION_COMB")] + [fit["intercept"]]
    gd = _runs(summary, solver="article_gd", standardize=False)
    sgd = _runs(summary, solver="article_sgd", standardize=False)
    out = []
    for i, param in enumerate(_FUEL_PARAMS):
        q = "intercept" if param == "intercept" else f"w_{param}"
        ref = cf[i] if cf else None
        # gradient descent: deterministic, so a close match is expected
        a = _ARTICLE_004["gd"][i]
        value = gd[0]["w_final"][i] if gd else None
        crit = "relative difference <= 0.1%"
        if value is None:
            verdict = "not run: no seed004 study with article algorithms"
        elif within_relative(value, a, 1e-3):
            verdict = (f"reproduced: {value:.8g} vs {a:.8g}, running the article's algorithm on all "
                       f"{fuel['n'] if fuel else '?'} rows from w = ones with eta 1e-6 for 100,000 steps; it is still "
                       f"{gd[0]['final_rel_coef_error']:.1e} (relative) short of the closed form {_fmt(ref)}")
        else:
            verdict = f"differs: {value:.6g} vs {a:.6g}"
        out.append(Row("004", f"gd_{q}", a, value, ref, verdict, crit,
                       "convergence study seed004: the article's gradient descent (sum-of-squares gradient)"))
        a = _ARTICLE_004["sgd"][i]
        value = sgd[0]["w_final"][i] if sgd else None
        sd = (sgd[0].get("iterate_sd_tail") or [None] * 4)[i] if sgd else None
        crit = "within 3 sd of the SGD iterates' stationary fluctuation (second half of reglab's run)"
        if value is None:
            verdict = "not run: no seed004 study with article algorithms"
        elif sd is not None and abs(value - a) <= 3 * sd:
            verdict = (f"reproduced: {value:.5g} vs {a:.5g}; the last SGD iterate fluctuates with sd {sd:.3g} "
                       f"around the closed form {_fmt(ref)}, so single runs differ by that much")
        else:
            verdict = (f"differs: {value:.5g} vs {a:.5g}, beyond 3 sd ({_fmt(sd)}) of the iterates' fluctuation; "
                       "the article's minibatches are an unseeded random draw")
        out.append(Row("004", f"sgd_{q}", a, value, ref, verdict, crit,
                       "convergence study seed004: the article's SGD (batch 10 without replacement), last iterate"))
        a = _ARTICLE_004["closed_form"][i]
        gd_a = _ARTICLE_004["gd"][i]
        crit = "relative difference <= 0.1%"
        if ref is None:
            verdict = "not run: no fuel dataset"
        elif within_relative(ref, a, 1e-3):
            verdict = f"reproduced: {ref:.6g} vs {a:.6g}"
        else:
            verdict = (f"differs: reglab fits all {fuel['n']} rows ({ref:.6g}); the article fitted an unseeded random "
                       f"80% split that cannot be redrawn ({a:.6g}). Its own gradient descent printed {gd_a:.6g}, which "
                       "matches the all-rows closed form, not its split's"
                       + (f"; reglab's run of that gradient descent on all rows ends {gd[0]['final_rel_coef_error']:.1e} "
                          "(relative) from the all-rows closed form" if gd and gd[0].get("final_rel_coef_error") is not None
                          else "")
                       + ", so the article's GD ran on all rows, not on the split its closed form used")
        out.append(Row("004", f"closed_form_{q}", a, ref, ref, verdict, crit,
                       "closed form (recommended solver) on all rows of FuelConsumption.csv"))
    order = {f"{kind}_{'intercept' if p == 'intercept' else 'w_' + p}": k
             for k, (kind, p) in enumerate(itertools.product(("gd", "sgd", "closed_form"), _FUEL_PARAMS))}
    return sorted(out, key=lambda r: order[r.quantity])


def build_table(keras: Docs, closed: Docs, studies: Docs | None = None) -> pd.DataFrame:
    """All reproduction rows from Keras run documents (by run name), closed-form documents (by dataset)
    and convergence-study summaries (by study name)."""
    studies = studies or {}
    rows = (rows_001(keras, closed) + rows_002(keras, closed) + rows_002_steps(studies) + rows_003(keras, closed)
            + rows_004(studies, closed))
    return pd.DataFrame([r.as_dict() for r in rows], columns=COLUMNS)
