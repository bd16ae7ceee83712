"""The report's sections, in page order. A stage adds a module here with a ``SECTION`` and one line below;
its template fragment is ``report/templates/sections/<name>.html.j2`` and its files arrive as the report
rule's input group ``<name>`` (filled by the stage's rule file)."""

from __future__ import annotations

from reglab.report.sections import (
    amortized,
    convergence,
    datasets,
    findings,
    jobs,
    keras_runs,
    provenance,
    questions,
    reproduction,
    scale,
)
from reglab.report.sections.base import Section

SECTIONS: tuple[Section, ...] = (
    findings.SECTION,
    questions.SECTION,
    reproduction.SECTION,
    datasets.SECTION,
    keras_runs.SECTION,
    convergence.SECTION,
    amortized.SECTION,
    scale.SECTION,
    jobs.SECTION,
    provenance.SECTION,
)

__all__ = ["SECTIONS", "Section"]
