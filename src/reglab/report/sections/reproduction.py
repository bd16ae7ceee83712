"""The reproduction table, read from results/reproduction.csv."""

from __future__ import annotations

from typing import Any

from reglab.report.inputs import Inputs
from reglab.report.sections.base import Section


def build(inputs: Inputs) -> dict[str, Any] | None:
    rows = inputs.reproduction
    return {"rows": rows} if rows else None


SECTION = Section("reproduction", "Reproduction table", build)
