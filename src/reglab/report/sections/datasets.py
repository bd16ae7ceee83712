"""Every configured dataset: provenance, closed-form solvers, diagnostics, figures."""

from __future__ import annotations

from typing import Any

from reglab.report.inputs import Inputs
from reglab.report.sections.base import Section


def build(inputs: Inputs) -> dict[str, Any] | None:
    art, figs = inputs.art, inputs.figures("datasets")
    names = inputs.params.get("datasets") or sorted(art.closed)
    entries = [
        {"name": n, "closed": art.closed.get(n), "diag": art.diag.get(n), "figures": figs.get(n, {})}
        for n in names
        if n in art.closed
    ]
    return {"datasets": entries} if entries else None


SECTION = Section("datasets", "Datasets", build)
