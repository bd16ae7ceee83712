"""Seed 000: can a network read a whole dataset and output the coefficients OLS would find, trained only
on prediction error? Why does the seed's bidirectional LSTM fail, and what makes it work?

Everything here is read from the amortized stage's artifacts: ``results/amortized/<encoder>.json``
(one per encoder), ``references.json`` (the untrained rows) and ``summary.json``. The encoder names
below are the ablations of ``config.yaml``; each cause is answered by comparing two of them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from reglab.core.numbers import sig
from reglab.questions.base import Artifacts, Finding, Question, Row, finding_from_row, row_by

SEED_LSTM = "lstm_seed"
#: cause -> (baseline encoder, changed encoder, what changed)
ABLATIONS: dict[str, tuple[str, str, str | None]] = {
    "scale": ("lstm_seed", "lstm_normalized", "per-dataset standardization of x and y"),
    "budget": ("lstm_normalized", "lstm_budget", "fresh datasets and a 10x learning rate with decay"),
    "capacity": ("lstm_narrow", "lstm_seed", None),  # said from the two specs (the default's is reduced)
    "matrix_inverse": ("moments_mlp", "moments", "a head linear in y, so only M(XᵀX) ≈ (XᵀX)⁻¹ is learned"),
}
SET_ENCODERS = ("deepsets", "set_transformer", "moments_mlp", "moments")
ENCODERS = ("lstm_seed", "lstm_narrow", "lstm_normalized", "lstm_budget", *SET_ENCODERS, "unrolled")
CRITERION_FAIL = (
    "the seed's claim 'not giving very nice results': loss at least 10x the per-dataset OLS floor"
)


def _loss(art: Artifacts, name: str) -> float | None:
    doc = art.amortized.get(name)
    return None if doc is None else doc.get("eval_loss")


def _cond(art: Artifacts, name: str, key: str, field: str = "excess_pct") -> float | None:
    doc = art.amortized.get(name)
    return None if doc is None else (doc.get("conditions", {}).get(key) or {}).get(field)


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.3g}%"


def answer(art: Artifacts) -> list[str]:
    summary, refs = art.amortized.get("summary"), art.amortized.get("references")
    seed = art.amortized.get(SEED_LSTM)
    if not summary or not refs:
        return []
    r = refs["references"]
    floor, mean_only = r["ols"]["loss"], r["intercept_only"]["loss"]
    out = [
        f"On {refs['m']} held-out datasets of the seed's setting (n = 100 rows, coefficients with sd 100, "
        f"x ~ U[0, 1), noise sd ~ U[0, 5)), the per-dataset OLS fit has mean loss {sig(floor, 4)}: no β can "
        "do better on the rows it reads. Predicting each dataset's mean (β = (0, 0, mean y)) gives "
        f"{sig(mean_only, 4)}, β = 0 gives {sig(r['zero']['loss'], 4)}, one and three plain gradient steps "
        f"{sig(r['gd_1']['loss'], 4)} and {sig(r['gd_3']['loss'], 4)}."
    ]
    if seed:
        width = seed["spec"]["encoder"]["width"]
        out.append(
            f"The seed's architecture ({seed['params']:,} parameters at LSTM width {width}; the seed used "
            f"512) trained as the seed did ({seed['steps_run']} Adam steps at lr "
            f"{seed['spec']['train']['learning_rate']:g} on the same {seed.get('train_datasets') or '?'} "
            f"datasets, {seed['spec']['train']['validation_split']:.0%} of them for validation) ends at "
            f"{sig(seed['eval_loss'], 4)}: {seed['eval_loss'] / mean_only:.2f}x the intercept-only loss and "
            f"{seed['eval_loss'] / floor:.0f}x the floor. It has learned little more than each dataset's "
            "mean."
        )
    for cause, (base, changed, what) in ABLATIONS.items():
        a, b = _loss(art, base), _loss(art, changed)
        if a is None or b is None:
            continue
        what = what or _capacity_change(art.amortized[base], art.amortized[changed])
        out.append(_ablation_sentence(cause, base, changed, what, a, b, mean_only, floor))
    ds, mm = _loss(art, "deepsets"), _loss(art, "moments_mlp")
    if ds is not None and mm is not None:
        out.append(
            f"Products from rows: deepsets, which must learn per-row features whose means carry XᵀX and Xᵀy, "
            f"reaches {sig(ds, 4)}; given those moments, the same kind of head (moments_mlp) reaches "
            f"{sig(mm, 4)} — learning the inverse of a 3 x 3 Gram matrix is not the hard part, forming it "
            "from the rows to 0.1% is."
        )
    perms = {n: art.amortized[n]["permutation"]["max"] for n in ENCODERS if n in art.amortized}
    lstm_p = [v for n, v in perms.items() if n.startswith("lstm")]
    set_p = [v for n, v in perms.items() if n in SET_ENCODERS]
    if lstm_p and set_p:
        out.append(
            f"Order: shuffling a dataset's rows changes the LSTM's β by up to {sig(max(lstm_p))} of its "
            f"norm; the set encoders change by at most {sig(max(set_p))} (float32 rounding of the pooled "
            "means): a dataset is a set, and a sequence model must learn that the order does not matter."
        )
    best = summary.get("best_encoder")
    if best and best in art.amortized:
        doc = art.amortized[best]
        ns = ", ".join(
            f"n = {n}: {_pct(_cond(art, best, f'n={n}') if n != 100 else doc['excess_pct'])}"
            for n in (10, 30, 100, 300)
            if n == 100 or _cond(art, best, f"n={n}") is not None
        )
        out.append(
            f"The best learned encoder is {best} ({doc['kind']}, {doc['params']:,} parameters, "
            f"{doc['train_seconds']:.0f} s of training): mean excess over the floor {ns}"
            + (
                f"; at coefficient sd 1 {_pct(_cond(art, best, 'coef_scale=1'))}, at sd 10,000 "
                f"{_pct(_cond(art, best, 'coef_scale=10000'))}"
                if _cond(art, best, "coef_scale=1") is not None
                else ""
            )
            + (
                f"; with x ~ U[0, 10) {_pct(_cond(art, best, 'x_dist=uniform_0_10'))} and x ~ N(0, 1) "
                f"{_pct(_cond(art, best, 'x_dist=normal'))}"
                if _cond(art, best, "x_dist=normal") is not None
                else ""
            )
            + "."
        )
        hard = _precision_sentence(art, best, refs)
        if hard:
            out.append(hard)
    un = art.amortized.get("unrolled")
    if un:
        out.append(
            f"The unrolled encoder ({un['spec']['encoder']['unroll_steps']} gradient steps with learned "
            f"preconditioners, {un['params']} parameters) is {_pct(un['excess_pct'])} over the floor: it "
            "hard-codes the least-squares gradient (the data enter only through XᵀX and Xᵀy) and the "
            "iteration, and learns only the step matrices, so it is OLS solved approximately rather than "
            "learned."
        )
    return out


def _precision_sentence(art: Artifacts, best: str, refs: Mapping[str, Any]) -> str | None:
    """Why large coefficients (high signal-to-noise) are hard: the relative precision of β they ask for."""
    key = "coef_scale=10000"
    cond = (refs.get("by_condition") or {}).get(key)
    pct = _cond(art, best, key)
    if not cond or pct is None:
        return None
    noise_share = (
        cond["ols"]["loss"] / cond["intercept_only"]["loss"]
    )  # ≈ 1 − R²: the noise's share of var(y)
    precision = math.sqrt(0.005 * noise_share)
    return (
        f"At coefficient sd 10,000 the noise is {noise_share:.1e} of y's variance, so staying within 0.5% of "
        f"the floor asks for β to about {precision:.0e} relative: beyond a network fitted to ~1e-3 relative "
        f"accuracy in float32 ({best} is {_pct(pct)} over the floor there); a solver, not a learned map, "
        "gets there."
    )


def _capacity_change(base: Mapping[str, Any], changed: Mapping[str, Any]) -> str:
    """What differs between two LSTM entries' sizes, from their specs: width, layers, parameters."""
    a, b = base["spec"]["encoder"], changed["spec"]["encoder"]
    return (
        f"LSTM width {a['width']} → {b['width']}, {a['depth']} → {b['depth']} layers, "
        f"{base['params']:,} → {changed['params']:,} parameters"
    )


def _ablation_sentence(
    cause: str, base: str, changed: str, what: str, a: float, b: float, mean_only: float, floor: float
) -> str:
    ratio = b / a
    head = {
        "scale": "Target scale",
        "budget": "Optimisation budget and data",
        "capacity": "Capacity",
        "matrix_inverse": "Learning the inverse",
    }[cause]
    text = (
        f"{head}: {base} → {changed} ({what}) takes the held-out loss from {sig(a, 4)} to {sig(b, 4)} "
        f"({ratio:.2g}x)"
    )
    if cause == "scale" and ratio < 0.5:
        text += (
            "; coefficients with sd 100 must be right to about 0.2 for a loss near the floor, and 500 Adam "
            "steps of 1e-4 hardly move an output that starts near 0, so in raw units the LSTM first learns "
            "the mean"
        )
    elif cause == "capacity":
        text += (
            "; neither gets below predicting each dataset's mean"
            if min(a, b) >= 0.9 * mean_only
            else f"; the wider one gets to {min(a, b) / floor:.0f}x the floor"
        )
    elif cause == "matrix_inverse":
        text += "; the inverse is learnt either way" if 0.5 < ratio < 2 else ""
    elif ratio > 0.5:
        text += "; not the limit"
    return text + "."


def rows(art: Artifacts) -> list[Row]:
    summary = art.amortized.get("summary")
    seed = art.amortized.get(SEED_LSTM)
    src = lambda key, *p: art.source("amortized", key, *p)  # noqa: E731
    nan = math.nan
    if not summary:
        msg = "not run: no amortized encoders in this config"
        return [
            Row("000", q, nan, None, None, msg, "", "")
            for q in (
                "ols_floor_loss",
                "intercept_only_loss",
                "lstm_val_loss",
                "best_encoder_val_loss",
                "best_encoder_name",
                "best_encoder_excess_pct",
            )
        ]
    floor, mean_only = summary["ols_floor_loss"], summary["intercept_only_loss"]
    out = [
        Row(
            "000",
            "ols_floor_loss",
            nan,
            floor,
            None,
            f"measured: {sig(floor, 4)} on the held-out datasets",
            "the floor: per-dataset OLS in-sample MSE",
            "summary of the amortized stage",
            src("summary", "ols_floor_loss"),
        ),
        Row(
            "000",
            "intercept_only_loss",
            nan,
            mean_only,
            floor,
            f"measured: {sig(mean_only, 4)}, {mean_only / floor:.0f}x the floor",
            "β = (0, 0, mean y)",
            "summary of the amortized stage",
            src("summary", "intercept_only_loss"),
        ),
    ]
    if seed is None:
        out.append(
            Row(
                "000",
                "lstm_val_loss",
                nan,
                None,
                floor,
                f"not run: no encoder named '{SEED_LSTM}'",
                CRITERION_FAIL,
                "",
            )
        )
    else:
        loss = seed["eval_loss"]
        width = seed["spec"]["encoder"]["width"]
        verdict = (
            f"reproduced: the seed's LSTM (width {width}; the seed's is 512) ends at {sig(loss, 4)}, "
            f"{loss / floor:.0f}x the floor and {loss / mean_only:.2f}x the intercept-only loss"
            if loss >= 10 * floor
            else f"differs: the LSTM replica (width {width}) reaches {sig(loss, 4)}, within 10x of the floor"
        )
        out.append(
            Row(
                "000",
                "lstm_val_loss",
                nan,
                loss,
                floor,
                verdict,
                CRITERION_FAIL,
                f"{SEED_LSTM}: mean held-out loss at the seed's setting",
                src(SEED_LSTM, "eval_loss"),
            )
        )
    best = summary.get("best_encoder")
    if best is None:
        out += [
            Row("000", q, nan, None, floor, "not run: no learned encoder", "", "")
            for q in ("best_encoder_val_loss", "best_encoder_name", "best_encoder_excess_pct")
        ]
        return out
    pct = summary["best_encoder_excess_pct"]
    crit = "within 0.5% mean excess over the OLS floor at n = 100"
    verdict = (
        f"reproduced: {best} is {pct:.3g}% over the floor"
        if pct is not None and pct <= 0.5
        else f"differs: {best} is {_pct(pct)} over the floor"
    )
    out += [
        Row(
            "000",
            "best_encoder_val_loss",
            nan,
            summary["best_encoder_loss"],
            floor,
            verdict,
            crit,
            "the lowest held-out loss among trained encoders other than unrolled",
            src("summary", "best_encoder_loss"),
        ),
        Row(
            "000",
            "best_encoder_name",
            nan,
            best,
            None,
            verdict,
            crit,
            "its config name",
            src("summary", "best_encoder"),
        ),
        Row(
            "000",
            "best_encoder_excess_pct",
            nan,
            pct,
            0.0,
            verdict,
            crit,
            "100 · (mean loss − mean floor) / mean floor",
            src("summary", "best_encoder_excess_pct"),
        ),
    ]
    return out


def findings(art: Artifacts, table: list[Row]) -> list[Finding]:
    lstm, best = row_by(table, "lstm_val_loss"), row_by(table, "best_encoder_excess_pct")
    name = row_by(table, "best_encoder_name")
    if lstm is None or lstm.reglab is None:
        answer_text = "Not run: this config has no amortized encoders."
        return [finding_from_row(QUESTION, None, _QUESTION_LINE, answer_text)]
    answer_text = (
        f"Trained as the seed did, the LSTM stays at {sig(lstm.reglab, 4)} (floor {sig(lstm.reference, 4)}), "
        "about what predicting each dataset's mean gives: raw coefficients of sd 100 are out of reach of "
        "500 small Adam steps, and a sequence model must also learn that row order does not matter and "
        "how to form XᵀX and Xᵀy from the rows."
    )
    if best is not None and best.reglab is not None and name is not None:
        answer_text += (
            f" Standardizing each dataset and pooling its moments XᵀX/n, Xᵀy/n into a small network, "
            f"{name.reglab} gets within {best.reglab:.3g}% of the floor."
        )
    return [
        finding_from_row(
            QUESTION,
            best if best is not None and best.reglab is not None else lstm,
            _QUESTION_LINE,
            answer_text,
            label="best encoder's excess over the OLS floor (%)",
        )
    ]


_QUESTION_LINE = (
    "Can a network read a whole dataset and output the OLS coefficients, trained only on prediction error?"
)

QUESTION = Question(
    doc_id="000",
    title=(
        "Can a bidirectional-LSTM encoder read a whole dataset and output its OLS coefficients, trained "
        "only on prediction error? Why does it fail, and what makes it work?"
    ),
    datasets=("amortized",),
    encoders=ENCODERS,
    answer=answer,
    rows=rows,
    findings=findings,
)
