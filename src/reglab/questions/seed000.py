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
SEED_KEY = "seed"  # the seed condition's key in the amortized artifacts (reglab.studies.amortized)
#: cause -> (baseline encoder, changed encoder, what changed)
ABLATIONS: dict[str, tuple[str, str, str | None]] = {
    "scale": ("lstm_seed", "lstm_normalized", "per-dataset standardization of x and y"),
    "budget": ("lstm_normalized", "lstm_budget", "fresh datasets and a 10x learning rate with decay"),
    "capacity": ("lstm_narrow", "lstm_seed", None),  # said from the two specs (the default's is reduced)
    "matrix_inverse": ("moments_mlp", "moments", "a head linear in y, so only M(XᵀX) ≈ (XᵀX)⁻¹ is learned"),
}
SET_ENCODERS = ("deepsets", "set_transformer", "moments_mlp", "moments")
REFINED = "moments_refined"
ENCODERS = ("lstm_seed", "lstm_narrow", "lstm_normalized", "lstm_budget", *SET_ENCODERS, "unrolled", REFINED)
#: the table "how much must be built in": (encoder, what it builds in), in order of what is built in
BUILT_IN = (
    ("lstm_seed", "nothing: a sequence model on raw rows"),
    ("lstm_normalized", "scale equivariance (per-dataset standardization)"),
    ("deepsets", "+ permutation invariance (a set encoder)"),
    ("set_transformer", "+ permutation invariance with attention between rows"),
    ("moments_mlp", "+ sufficient statistics (XᵀX/n, Xᵀy/n as features)"),
    ("moments", "+ linearity in y (only M(XᵀX) ≈ (XᵀX)⁻¹ is learned)"),
    ("unrolled", "the least-squares gradient and its iteration (27 learned numbers)"),
    (REFINED, "+ a fixed point: the network applied to its own residual"),
)
REFINED_ROWS = ("refined_worst_n30_excess_pct", "refined_n10_excess_pct", "refined_worst_n30_se_err_pct")
#: refinement passes the table shows (those the encoder ran, up to its refine)
TABLE_PASSES = (1, 2, 3, 5)
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
    out += [t for t in (_refine_sentence(art), _built_in_sentence(art)) if t]
    return out


def _n_of(art: Artifacts, key: str) -> int | None:
    cond = ((art.amortized.get("references") or {}).get("conditions") or {}).get(key)
    return None if cond is None else cond["n"]


def refined_numbers(art: Artifacts) -> dict[str, Any] | None:
    """The self-refining encoder's decisive numbers: its final excess at the seed's setting, the worst
    over the held-out conditions with n >= 30 (where the floor is not 0) and which, n = 10 and n = 5 with
    their contraction, its learned standard errors' worst median error at n >= 30 (learned and refined)."""
    doc = art.amortized.get(REFINED)
    ref = (doc or {}).get("refine")
    if not ref:
        return None
    by, K = ref["by_condition"], ref["passes"]
    big = {k: v for k, v in by.items() if (_n_of(art, k) or 0) >= 30 and v["excess_pct"][-1] is not None}
    worst = max(big, key=lambda k: big[k]["excess_pct"][-1]) if big else None
    se: dict[str, Any] = {}
    for label in ("learned", "refined"):
        have = {k: v["se_err_pct_median"][label] for k, v in big.items()}
        have = {k: v for k, v in have.items() if v is not None}
        key = max(have, key=have.__getitem__) if have else None
        se[label] = None if key is None else have[key]
        se[label + "_key"] = key
    return {
        "passes": K,
        "seed": by.get(SEED_KEY),
        "worst_key": worst,
        "worst": big[worst]["excess_pct"][-1] if worst else None,
        "worst_pass0": max((v["excess_pct"][0] for v in big.values()), default=None),
        "conditions_n30": len(big),
        "n10": by.get("n=10"),
        "n5": by.get("n=5"),
        "se": se,
        "doc": doc,
    }


def _contraction(c: Mapping[str, Any]) -> str:
    med, p95 = c["contraction_median"], c["contraction_p95"]
    return (
        f"median contraction {'—' if med is None else sig(med, 2)}, 95th percentile "
        f"{'—' if p95 is None else sig(p95, 2)}, {c['not_contracting']} of {c['datasets']} datasets not "
        "contracting"
    )


def _refine_sentence(art: Artifacts) -> str | None:
    r = refined_numbers(art)
    if r is None or r["seed"] is None:
        return None
    doc, seed, K = r["doc"], r["seed"], r["passes"]
    text = (
        f"A fixed point: {REFINED} ({doc['params']:,} parameters, {doc['train_seconds']:.0f} s of training) "
        f"is {_pct(seed['excess_pct'][0])} over the floor alone. Applied {K} more times to its own residual "
        "(the residual's standardized moments, in float64, through the same network), each pass multiplies "
        f"the error by a median {sig(seed['contraction_median'], 2)}; after {K} passes it is "
        f"{_pct(seed['excess_pct'][-1])} over the floor at the seed's setting and at most {_pct(r['worst'])} "
        f"over the {r['conditions_n30']} held-out conditions with n ≥ 30 ({r['worst_key']} the worst; "
        f"{_pct(r['worst_pass0'])} at worst before the passes)"
    )
    for key, c in (("n = 10", r["n10"]), ("n = 5", r["n5"])):
        if c:
            text += f"; at {key} {_pct(c['excess_pct'][-1])} ({_contraction(c)})"
    se = r["se"]
    if se["learned"] is not None:
        text += (
            ". Read on the unit vectors, the network is a learned inverse of the standardized Gram: with the "
            f"residual variance it gives standard errors within {sig(se['learned'], 2)}% of OLS's (the "
            f"worst median over the conditions with n ≥ 30), {sig(se['refined'], 2)}% once refined the "
            "same way"
        )
    perm = doc.get("permutation")
    if perm:
        text += f"; shuffling a dataset's rows changes its β by at most {sig(perm['max'], 2)} of its norm"
    return text + "."


def _built_in_sentence(art: Artifacts) -> str | None:
    """Which property buys which order of magnitude, at the seed's setting, from the built-in table."""
    rows = {r["name"]: r for r in built_in(art)}
    steps = (
        ("scale equivariance", "lstm_seed", "lstm_normalized"),
        ("permutation invariance", "lstm_normalized", "deepsets"),
        ("sufficient statistics", "deepsets", "moments_mlp"),
        (
            "a fixed point",
            "moments_mlp",
            f"{REFINED} K={max((r['passes'] or 0) for r in rows.values()) if rows else 0}",
        ),
    )
    parts = []
    for what, a, b in steps:
        va, vb = (((rows.get(x) or {}).get("conditions") or {}).get(SEED_KEY) for x in (a, b))
        if not va or not vb or va["unit"] != "%" or vb["unit"] != "%" or va["value"] <= 0:
            continue
        ratio = max(vb["value"], 1e-16) / va["value"]
        parts.append(
            f"{what} ({a} → {b}) {_pct(va['value'])} → {_pct(vb['value'])}, "
            f"{-math.log10(ratio):.1f} orders of magnitude"
        )
    if not parts:
        return None
    return (
        "How much must be built in (the table below; excess over the floor at the seed's setting): "
        + "; ".join(parts)
        + ". Each property removes something the network would otherwise have to learn; only the fixed point "
        "removes the network's own float32 accuracy from the answer, and with it the dependence on the "
        "training distribution."
    )


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
                *REFINED_ROWS,
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
        return out + refined_rows(art)
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
    return out + refined_rows(art)


def refined_rows(art: Artifacts) -> list[Row]:
    """The self-refining encoder against the targets it was built for."""
    r = refined_numbers(art)
    nan = math.nan
    names = REFINED_ROWS
    if r is None:
        return [
            Row("000", q, nan, None, None, f"not run: no encoder named '{REFINED}'", "", "") for q in names
        ]
    K = r["passes"]
    src = lambda *p: art.source("amortized", REFINED, "refine", "by_condition", *p)  # noqa: E731

    def row(q, value, target, what, criterion, method, source):
        met = value is not None and value <= target
        verdict = f"measured: {what} {_pct(value)} (target ≤ {target:g}%: {'met' if met else 'missed'})"
        return Row("000", q, nan, value, target, verdict, criterion, method, source)

    out = [
        row(
            names[0],
            r["worst"],
            1e-6,
            f"after {K} passes, worst held-out condition with n ≥ 30 ({r['worst_key']})",
            "≤ 1e-6% excess over the OLS floor at every held-out condition with n ≥ 30",
            f"{REFINED}: max over conditions of the mean excess after the last pass",
            src(r["worst_key"] or "", "excess_pct", K),
        )
    ]
    n10 = r["n10"]
    out.append(
        row(
            names[1],
            None if n10 is None else n10["excess_pct"][-1],
            1.0,
            f"after {K} passes at n = 10",
            "≤ 1% excess over the OLS floor at n = 10",
            f"{REFINED}: mean excess after the last pass",
            src("n=10", "excess_pct", K) if n10 else "",
        )
    )
    se = r["se"]["learned"]
    out.append(
        row(
            names[2],
            se,
            1.0,
            "the network's own inverse (no passes), worst median over the conditions with n ≥ 30",
            "standard errors within 1% of OLS's (median over datasets) at n ≥ 30",
            "median over datasets and coefficients of |se/se_OLS − 1|, in %",
            src(r["se"]["learned_key"] or "", "se_err_pct_median", "learned"),
        )
    )
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
    refined = row_by(table, "refined_worst_n30_excess_pct")
    if refined is not None and refined.reglab is not None:
        answer_text += (
            " Applying such a network to its own residual makes it the preconditioner of an iteration whose "
            f"fixed point is OLS: at worst {_pct(refined.reglab)} over the floor on the held-out conditions "
            "with n ≥ 30, those far outside its training ranges of n, scale and x included."
        )
        return [
            finding_from_row(
                QUESTION,
                refined,
                _QUESTION_LINE,
                answer_text,
                label="self-refining encoder's worst excess over the OLS floor, n ≥ 30 (%)",
            )
        ]
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


# --------------------------------------------------------------------------- how much must be built in


def _cell(m: Mapping[str, Any] | None, source, k: int | None = None) -> dict[str, Any] | None:
    """A condition's number: the excess over the floor in %, or, where the floor is 0 (noise-free data),
    the absolute gap (mean loss − floor); ``k`` picks a refinement pass; ``source(field, *index)`` names
    it."""
    if not m:
        return None
    idx = () if k is None else (k,)
    pick = (lambda v: v) if k is None else (lambda v: v[k] if v is not None and k < len(v) else None)
    for field, unit in (("excess_pct", "%"), ("excess_mean", "abs")):
        v = pick(m.get(field))
        if v is not None:
            return {"value": v, "unit": unit, "source": source(field, *idx)}
    return None


def built_in(art: Artifacts) -> list[dict[str, Any]]:
    """One row per entry of :data:`BUILT_IN` present (the refined encoder once per pass of
    :data:`TABLE_PASSES` it ran, and its pass 0): parameters, training seconds, FLOPs per dataset at
    n = 100 and, per condition, the excess over the floor (%) or, where the floor is 0, the absolute gap."""
    out = []
    for name, what in BUILT_IN:
        doc = art.amortized.get(name)
        if doc is None:
            continue
        base = {
            "name": name,
            "built_in": what,
            "params": doc["params"],
            "train_seconds": doc["train_seconds"],
            "flops": doc.get("flops_per_dataset"),
            "passes": None,
        }
        ref = doc.get("refine")
        if not ref:
            cells = {
                key: _cell(m, lambda *p, key=key: art.source("amortized", name, "conditions", key, *p))
                for key, m in doc["conditions"].items()
            }
            out.append(
                {**base, "conditions": cells, "source": art.source("amortized", name, "flops_per_dataset")}
            )
            continue
        K = ref["passes"]
        for k in (0, *[p for p in TABLE_PASSES if p <= K]):
            cells = {
                key: _cell(
                    m, lambda *p, key=key: art.source("amortized", name, "refine", "by_condition", key, *p), k
                )
                for key, m in ref["by_condition"].items()
            }
            out.append(
                {
                    **base,
                    "name": f"{name} K={k}",
                    "passes": k,
                    "flops": ref["flops_per_dataset"][k],
                    "built_in": what if k else "its network alone (0 passes)",
                    "conditions": cells,
                    "source": art.source("amortized", name, "refine", "flops_per_dataset", k),
                }
            )
    return out
