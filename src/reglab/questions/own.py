"""The findings of a user's own study: one row per dataset, Keras run and convergence study that no
asked seed question reads, each decisive number with the artifact it comes from.

* a dataset: does least squares have one answer (the diagnostics' verdict), its rank, the scaled
  condition number of [1, X], and the recommended solver with its digits;
* a Keras run: its distance to the closed form of the same data, and whether it diverged;
* a convergence study: which configuration reaches the study's tolerance first, or that none does.
"""

from __future__ import annotations

from collections.abc import Sequence

from reglab.core.numbers import sig
from reglab.questions.base import Artifacts, Finding, Question

__all__ = ["findings"]


def _dataset(art: Artifacts, name: str) -> Finding:
    d = art.diag[name]
    closed = art.closed.get(name) or {}
    ls = ((closed.get("targets") or {}).get(d.get("target") or closed.get("target"), {}) or {}).get(
        "least_squares"
    ) or {}
    solver = ls.get("recommended")
    digits = ls.get("correct_digits")
    how = f"; {solver} keeps {sig(digits, 3)} correct digits" if solver and digits is not None else ""
    cond = d.get("condition_scaled")
    return Finding(
        question=f"Does dataset {name} have one least-squares answer?",
        answer=(
            f"{d['verdict_class']}: rank {d['rank']} of {d['n_params']} parameters, scaled condition number "
            f"{'infinite' if cond is None else sig(cond, 3)}{how}"
        ),
        value=cond,
        article=None,
        verdict=d["verdict_class"],
        section=f"dataset-{name}",
        source=art.source("diagnostics", name, "condition_scaled"),
        label="condition number of [1, X] with unit-norm columns",
    )


def _run(art: Artifacts, name: str) -> Finding:
    k = art.keras[name]
    dist = (k.get("distance") or {}).get("closed_form")
    diverged = bool(k.get("diverged"))
    state = (
        f"diverged in {k.get('n_diverged', 1)} of {k.get('n_repeats', 1)} repeat(s)"
        if diverged
        else f"trained {k.get('epochs_run')} epochs"
    )
    return Finding(
        question=f"How close does Keras run {name} get to the closed form?",
        answer=f"{state}; Euclidean distance of its coefficients to the closed form: "
        f"{'—' if dist is None else sig(dist, 3)}",
        value=dist,
        article=None,
        verdict="diverged" if diverged else "trained",
        section=f"keras-{k.get('dataset', '')}",
        source=art.source("keras", name, "distance", "closed_form"),
        label="distance to the closed-form coefficients",
    )


def _study(art: Artifacts, name: str) -> Finding:
    s = art.studies[name]
    tol = s.get("tolerance") or {}
    # the study's trained runs (its reference solvers are yardsticks, not candidates)
    runs = [r for r in s.get("runs") or [] if r.get("family", "keras") == "keras"]
    reached = [
        (r["time_to_tolerance"]["seconds"], i, r)
        for i, r in enumerate(runs)
        if (r.get("time_to_tolerance") or {}).get("reached")
    ]
    target = f"{tol.get('metric')} ≤ {sig(tol.get('value'), 3)}"
    if not reached:
        return Finding(
            question=f"Which optimizer reaches {target} first in study {name}?",
            answer=f"none of its {len(runs)} runs reaches it in the epochs given",
            value=None,
            article=None,
            verdict="not reached",
            section=f"study-{name}",
            source=art.source("convergence", name, "runs"),
        )
    seconds, i, r = min(reached, key=lambda t: (t[0], t[1]))
    optimizer = r.get("optimizer", r.get("solver"))
    what = f"{optimizer} at learning rate {r.get('learning_rate')}, batch {r.get('batch_size')}"
    return Finding(
        question=f"Which optimizer reaches {target} first in study {name}?",
        answer=f"{what}, after {r['time_to_tolerance']['epochs']} epochs "
        f"({len(reached)} of {len(runs)} runs reach it)",
        value=seconds,
        article=None,
        verdict="reached",
        section=f"study-{name}",
        source=art.source(
            "convergence", name, "runs", (s.get("runs") or []).index(r), "time_to_tolerance", "seconds"
        ),
        label="seconds to the tolerance",
        unit="s",
    )


def findings(art: Artifacts, asked: Sequence[Question]) -> list[Finding]:
    """A finding for every dataset (with diagnostics), Keras run and convergence study in ``art`` that no
    question in ``asked`` reads, in that order, each sorted by name."""
    datasets = {d for q in asked for d in q.datasets}
    runs = {r for q in asked for r in q.runs}
    studies = {s for q in asked for s in q.studies}
    return [
        *(_dataset(art, n) for n in sorted(art.diag) if n not in datasets),
        *(_run(art, n) for n in sorted(art.keras) if n not in runs),
        *(_study(art, n) for n in sorted(art.studies) if n not in studies),
    ]
