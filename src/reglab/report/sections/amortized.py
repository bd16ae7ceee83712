"""Seed 000's amortized encoders: each encoder's held-out numbers beside the references, the answer
in words (from the seed-000 question module), the figures."""

from __future__ import annotations

from typing import Any

from reglab.questions.seed000 import answer, built_in
from reglab.report.inputs import Inputs
from reglab.report.sections.base import Section


def build(inputs: Inputs) -> dict[str, Any] | None:
    art = inputs.art
    summary, refs = art.amortized.get("summary"), art.amortized.get("references")
    if not summary or not refs:
        return None
    encoders = [
        {"name": n, **art.amortized[n], "source": art.source("amortized", n, "eval_loss")}
        for n in summary["encoders"]
        if n in art.amortized
    ]
    conditions = sorted({k for e in encoders for k in e["conditions"]}, key=lambda k: (k != "seed", k))
    return {
        "answer": answer(art),
        "encoders": encoders,
        "references": refs["references"],
        "conditions": conditions,
        "best": summary["best_encoder"],
        "m": refs["m"],
        "datasets_by_condition": refs.get("datasets_by_condition", {}),
        "built_in": built_in(art),
        "figures": inputs.figures("amortized").get("amortized", {}),
    }


SECTION = Section("amortized", "Seed 000: amortized regression encoders", build)
