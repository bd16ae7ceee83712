"""Answers first: one row per question, with the decisive number, the article's, the verdict and a source."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from reglab import questions
from reglab.questions import own
from reglab.report.inputs import Inputs
from reglab.report.sections.base import Section


def build(inputs: Inputs) -> dict[str, Any]:
    ids = inputs.params.get("questions")
    # the asked seed questions first, then the study's own datasets, runs and studies
    found = questions.findings(inputs.art, ids=ids) + own.findings(inputs.art, questions.asked(ids))
    return {"findings": [asdict(f) for f in found]} if found else None


SECTION = Section("findings", "Findings", build)
