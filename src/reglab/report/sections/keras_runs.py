"""Every Keras run, seed or not, by dataset: where it ended against the references, and its figures."""

from __future__ import annotations

from typing import Any

from reglab.report.inputs import Inputs
from reglab.report.sections.base import Section
from reglab.report.tables import final_vs_reference_table


def build(inputs: Inputs) -> dict[str, Any] | None:
    docs = [inputs.art.keras[k] for k in sorted(inputs.art.keras)]
    if not docs:
        return None
    figs = inputs.figures("keras")
    by_dataset: dict[str, list] = {}
    for doc in docs:
        by_dataset.setdefault(doc["dataset"], []).append(doc)
    return {
        "datasets": [
            {
                "name": ds,
                "runs": final_vs_reference_table(ds_docs).to_dict("records"),
                "figures": figs.get(ds, {}),
            }
            for ds, ds_docs in sorted(by_dataset.items())
        ]
    }


SECTION = Section("keras", "Keras runs", build)
