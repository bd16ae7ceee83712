"""Answers first: one row per question, with the decisive number, the article's, the verdict and a source."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from reglab import questions
from reglab.report.inputs import Inputs
from reglab.report.sections.base import Section


def build(inputs: Inputs) -> dict[str, Any]:
    return {"findings": [asdict(f) for f in questions.findings(inputs.art)]}


SECTION = Section("findings", "Findings", build)
