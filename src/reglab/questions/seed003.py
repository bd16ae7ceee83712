"""Seed 003: linear and logistic regression as degenerate networks, against MLPs (balloons)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from reglab.core.numbers import sig
from reglab.questions.base import (
    Artifacts,
    Docs,
    Finding,
    Question,
    Row,
    dig,
    finding_from_row,
    fmt4,
    missing,
    num,
    row_by,
    with_sources,
    within_decade,
    within_relative,
)


def seed_003(keras: Docs, closed: Docs, diag: Docs) -> list[str]:
    lin, mlp = keras.get("s003_linear"), keras.get("s003_mlp_regression")
    log, mlpc = keras.get("s003_logistic"), keras.get("s003_mlp_classification")
    c = closed.get("balloons")
    if not lin or not c:
        return []
    ls = c["targets"]["num_balloons"]["least_squares"]
    ref = ls["solvers"][ls["recommended"]]["coef"]
    out = [
        "Dense(1) trained on squared error is linear regression: Keras gives children "
        f"{sig(lin['coef']['children'])}, age {sig(lin['coef']['age'])}, relationship "
        f"{sig(lin['coef']['relationship'])}; the closed form on the same rows gives {sig(ref['children'])}, "
        f"{sig(ref['age'])}, {sig(ref['relationship'])}.",
    ]
    if mlp:
        out.append(
            f"The MLP models the group-dependent slopes that no single line can: validation MSE "
            f"{sig(mlp['final_val_loss'])} against the linear model's {sig(lin['final_val_loss'])}."
        )
    if log:
        logit = (
            (c["targets"].get("color", {}).get("logistic") or {}).get("solvers", {}).get("statsmodels_logit")
        )
        if logit and logit.get("coef"):
            out.append(
                f"Dense(1, sigmoid) with binary cross-entropy is logistic regression: Keras gives children "
                f"{sig(log['coef']['children'])}, age {sig(log['coef']['age'])} (ratio "
                f"{sig(log['coef']['children'] / log['coef']['age'])}); the maximum-likelihood fit gives "
                f"{sig(logit['coef']['children'])}, {sig(logit['coef']['age'])} (ratio "
                f"{sig(logit['coef']['children'] / logit['coef']['age'])}). The weights are large because "
                "the colour is a deterministic function of the inputs, so the likelihood rewards steep "
                "sigmoids."
            )
    if mlpc and log:
        out.append(
            f"The classifier MLP reaches validation cross-entropy {sig(mlpc['final_val_loss'])} against "
            f"logistic regression's {sig(log['final_val_loss'])}."
        )
    return out


_LINEAR_003 = {"relationship": -0.00324172, "children": 0.43457505, "age": 0.1423042}
_LOGISTIC_003 = {"relationship": 0.02176554, "children": 14.170614, "age": 8.668548}


def balloons_population_mse(
    children: float, age: float, relationship: float = 0.0, intercept: float = 0.0
) -> float:
    """Expected squared error of a linear model on seed 003's printed rule (infinite data).

    Groups are equally likely, relationship = -/+0.5, children and age U[-0.5, 0.5] independent
    (variance 1/12, mean 0): E[(y - f)^2] = mean over groups of ((a_g - children)^2 + (b_g - age)^2) / 12
    + (mean offset)^2, with (a, b) = (1.0, -0.2) partnered and (0.8, 0.5) single.
    """
    groups = ((-0.5, 1.0, -0.2), (0.5, 0.8, 0.5))
    return sum(
        ((a - children) ** 2 + (b - age) ** 2) / 12 + (relationship * r + intercept) ** 2
        for r, a, b in groups
    ) / len(groups)


def _note_003_linear() -> str:
    floor = balloons_population_mse(0.9, 0.15)
    at_article = balloons_population_mse(
        _LINEAR_003["children"], _LINEAR_003["age"], _LINEAR_003["relationship"]
    )
    return (
        f"with the data-generating rule as printed, least squares gives children (1.0 + 0.8)/2 = 0.9 and "
        f"age (-0.2 + 0.5)/2 = 0.15 with an MSE floor of {floor:.4f}; the article's text computes "
        f"(1.0 + 0.8)/2 as 0.45 (a slip: it is 0.9). Its printed weights would have an MSE of "
        f"{at_article:.4f} on data from the printed rule, not the ~0.020 its log shows, so they are not an "
        f"unconverged fit of that rule either: the data its unpublished code generated differ from the "
        f"printed rule in the children term, while the age weight, which the rule fixes, agrees"
    )


def _weight_rows(
    prefix: str,
    article: Mapping[str, float],
    run: str,
    keras: Docs,
    ref_fit: Mapping | None,
    ok: Callable[[float, float], bool],
    criterion: str,
    note: str,
) -> list[Row]:
    out = []
    for feature, a in article.items():
        value = num(dig(keras, run, "coef", feature))
        ref = num(ref_fit["coef"][feature]) if ref_fit else None
        q = f"{prefix}_w_{feature}"
        source = f"{run}: Keras weight; reference: closed form on reglab's data"
        if value is None:
            verdict = missing(run)
        elif ok(value, a):
            verdict = f"reproduced: {value:.4g} vs {a:.4g}"
        else:
            agree = ref is not None and ok(value, ref)
            verdict = (
                f"differs: {value:.4g} vs {a:.4g}"
                + (
                    f"; reglab's Keras fit agrees with its closed form ({ref:.4g}), so the gap is the data, "
                    "not the optimizer: "
                    if agree
                    else "; "
                )
                + note
            )
        out.append(Row("003", q, a, value, ref, verdict, criterion, source))
    return out


def _loss_row(
    q: str,
    article: float,
    run: str,
    keras: Docs,
    ref: float | None,
    criterion: str,
    ok: Callable[[float, float], bool],
    note: str,
) -> Row:
    value = num(dig(keras, run, "final_val_loss"))
    if value is None:
        verdict = missing(run)
    elif ok(value, article):
        verdict = f"reproduced: {fmt4(value)} vs {fmt4(article)}"
    else:
        verdict = f"differs: {fmt4(value)} vs {fmt4(article)}; {note}"
    return Row(
        "003", q, article, value, ref, verdict, criterion, f"{run}: validation loss at the last epoch run"
    )


def rows_003(keras: Docs, closed: Docs) -> list[Row]:
    balloons = closed.get("balloons") or {}
    targets = balloons.get("targets", {})
    ls = targets.get("num_balloons", {}).get("least_squares")
    ls_fit = ls["solvers"][ls["recommended"]] if ls else None
    logit = ((targets.get("color", {}).get("logistic") or {}).get("solvers") or {}).get("statsmodels_logit")
    ls_val = dig(targets, "num_balloons", "validation", "least_squares_mse")
    lg_val = dig(targets, "color", "validation", "logistic_bce")
    near = lambda a, b: abs(a - b) <= 0.02  # noqa: E731
    rel15 = lambda a, b: within_relative(a, b, 0.15) or abs(a - b) <= 0.02  # noqa: E731
    rel25 = lambda a, b: within_relative(a, b, 0.25)  # noqa: E731
    mlp_note = (
        "the article's MLP architecture is not printed (its gist is not part of the article); the "
        "qualitative claim, MLP far below the linear model, is what carries over"
    )
    linear_val = num(dig(keras, "s003_linear", "final_val_loss"))
    out = _weight_rows(
        "linear",
        _LINEAR_003,
        "s003_linear",
        keras,
        ls_fit,
        near,
        "absolute difference <= 0.02",
        _note_003_linear(),
    )
    out.append(
        _loss_row(
            "linear_val_loss",
            0.0207,
            "s003_linear",
            keras,
            num(ls_val[ls["recommended"]]) if ls_val and ls else None,
            "relative difference <= 25%",
            rel25,
            "reglab's value sits at the closed-form validation MSE; " + _note_003_linear(),
        )
    )
    mlp_reg = num(dig(keras, "s003_mlp_regression", "final_val_loss"))
    out.append(
        _loss_row(
            "mlp_regression_val_loss",
            1.1776e-4,
            "s003_mlp_regression",
            keras,
            None,
            "same order of magnitude",
            within_decade,
            mlp_note
            + (
                f" (reglab: MLP {fmt4(mlp_reg)} vs linear {fmt4(linear_val)})"
                if mlp_reg is not None and linear_val is not None
                else ""
            ),
        )
    )
    out += _weight_rows(
        "logistic",
        _LOGISTIC_003,
        "s003_logistic",
        keras,
        logit,
        rel15,
        "relative difference <= 15% (or absolute <= 0.02)",
        "the logistic weights' scale grows as the labels get more separable, so it depends on "
        "the draw and on when training stopped; the direction (children/age ratio) is what "
        "the data fix",
    )
    out.append(
        _loss_row(
            "logistic_val_loss",
            0.1969,
            "s003_logistic",
            keras,
            num(lg_val["statsmodels_logit"]) if lg_val else None,
            "relative difference <= 25%",
            rel25,
            "different draw and stopping epoch",
        )
    )
    out.append(
        _loss_row(
            "mlp_classification_val_loss",
            0.0098,
            "s003_mlp_classification",
            keras,
            None,
            "same order of magnitude",
            within_decade,
            mlp_note,
        )
    )
    return out


# ------------------------------------------------------------------ convergence studies (002 steps, 004)


def answer(art: Artifacts) -> list[str]:
    return seed_003(art.keras, art.closed, art.diag)


def rows(art: Artifacts) -> list[Row]:
    where: dict = {}
    for prefix, run, article in (
        ("linear", "s003_linear", _LINEAR_003),
        ("logistic", "s003_logistic", _LOGISTIC_003),
    ):
        where.update({f"{prefix}_w_{f}": ("keras", run, ("coef", f)) for f in article})
    for q, run in (
        ("linear_val_loss", "s003_linear"),
        ("mlp_regression_val_loss", "s003_mlp_regression"),
        ("logistic_val_loss", "s003_logistic"),
        ("mlp_classification_val_loss", "s003_mlp_classification"),
    ):
        where[q] = ("keras", run, ("final_val_loss",))
    return with_sources(rows_003(art.keras, art.closed), art, where)


def findings(art: Artifacts, table: list[Row]) -> list[Finding]:
    logit = row_by(table, "logistic_w_children")
    lin, mlp = row_by(table, "linear_val_loss"), row_by(table, "mlp_regression_val_loss")
    if logit is None or logit.reglab is None:
        answer = "Not run: the config lacks the s003_logistic run."
    else:
        answer = (
            f"Dense(1, sigmoid) on cross-entropy is logistic regression: children weight {sig(logit.reglab)} "
            f"against the maximum-likelihood {sig(logit.reference)}"
        )
        if lin is not None and mlp is not None and lin.reglab is not None and mlp.reglab is not None:
            answer += (
                f"; the MLP fits the group-dependent slopes a line cannot (validation MSE {sig(mlp.reglab)} "
                f"against {sig(lin.reglab)} for Dense(1))"
            )
        answer += "."
    return [
        finding_from_row(
            QUESTION,
            logit,
            "Are linear and logistic regression degenerate networks, and what does a real MLP add "
            "(balloons)?",
            answer,
            label="logistic weight on children",
        )
    ]


QUESTION = Question(
    doc_id="003",
    title="Linear and logistic regression as degenerate networks, against real MLPs (balloons).",
    datasets=("balloons",),
    runs=("s003_linear", "s003_mlp_regression", "s003_logistic", "s003_mlp_classification"),
    answer=answer,
    rows=rows,
    findings=findings,
)
