"""One section per seed question: its plain answer and the table of the Keras runs it reads."""

from __future__ import annotations

from typing import Any

from reglab import questions
from reglab.report.inputs import Inputs
from reglab.report.sections.base import Section
from reglab.report.tables import final_vs_reference_table


def build(inputs: Inputs) -> dict[str, Any]:
    art = inputs.art
    out = []
    for q in questions.asked(inputs.params.get("questions")):
        answer = q.answer(art)
        docs = [art.keras[r] for r in q.runs if r in art.keras]
        out.append(
            {
                "id": q.doc_id,
                "anchor": q.section,
                "question": q.title,
                "answer": answer,
                "runs": final_vs_reference_table(docs).to_dict("records") if docs else [],
                "datasets": [d for d in q.datasets if d in art.closed],
                # only datasets with Keras runs have a Keras section to link to
                "keras_datasets": [
                    d for d in q.datasets if any(doc.get("dataset") == d for doc in art.keras.values())
                ],
                "studies": [s for s in q.studies if s in art.studies],
            }
        )
    return {"questions": out} if out else None


SECTION = Section("questions", "Questions", build)
