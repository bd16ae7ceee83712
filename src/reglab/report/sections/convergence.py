"""Every convergence study: theory beside measurement, its answer in words, its figures."""

from __future__ import annotations

from typing import Any

from reglab import questions
from reglab.report.inputs import Inputs
from reglab.report.sections.base import Section
from reglab.report.tables import predicted_vs_measured


def build(inputs: Inputs) -> dict[str, Any] | None:
    studies = inputs.art.studies
    if not studies:
        return None
    figs = inputs.figures("convergence")
    out = []
    for name in sorted(studies):
        summary = studies[name]
        table = predicted_vs_measured(summary)
        out.append(
            {
                "name": name,
                "summary": summary,
                "answer": questions.study_answer(name, summary),
                "figures": figs.get(name, {}),
                "predicted": table.to_dict("records") if len(table) else [],
            }
        )
    return {"studies": out}


SECTION = Section("convergence", "Convergence studies", build)
