"""The seed questions: one module per question, each declaring what it reads, its answer and its rows.

To add a question, write a module with a ``QUESTION`` (:class:`reglab.questions.base.Question`) and
add it to :data:`QUESTIONS` below. Pure Python over JSON documents: no numerical stack, no TensorFlow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from reglab.questions import seed000, seed001, seed002, seed003, seed004
from reglab.questions.base import (
    COLUMNS,
    Artifacts,
    Finding,
    Question,
    Row,
    study_generic,
)

__all__ = [
    "QUESTIONS",
    "COLUMNS",
    "asked",
    "Artifacts",
    "Finding",
    "Question",
    "Row",
    "build_rows",
    "build_table",
    "findings",
    "missing_inputs",
    "reads",
    "study_answer",
]

#: every question, in the order the report shows them
QUESTIONS: tuple[Question, ...] = (
    seed000.QUESTION,
    seed001.QUESTION,
    seed002.QUESTION,
    seed003.QUESTION,
    seed004.QUESTION,
)


def asked(selection: Mapping[str, Any] | str | Sequence[str] | None) -> tuple[Question, ...]:
    """The questions a study asks, in report order: ``selection`` is a config (its ``questions`` key:
    ``"all"`` or a list of ids, none when absent), ``"all"``, a list of ids, or None (every question).

    >>> [q.doc_id for q in asked({"questions": ["002", "000"]})], asked({}), len(asked("all"))
    (['000', '002'], (), 5)
    """
    if selection is None:
        return QUESTIONS
    if isinstance(selection, Mapping):
        selection = selection.get("questions") or []
    if selection == "all":
        return QUESTIONS
    ids = set(selection)
    unknown = sorted(ids - {q.doc_id for q in QUESTIONS})
    if unknown:
        raise ValueError(
            f"unknown seed question(s) {unknown}; expected some of {[q.doc_id for q in QUESTIONS]}"
        )
    return tuple(q for q in QUESTIONS if q.doc_id in ids)


def build_rows(art: Artifacts, ids: str | Sequence[str] | None = None) -> dict[str, list[Row]]:
    """Each asked question's reproduction rows, by document id (``ids``: :func:`asked`)."""
    return {q.doc_id: q.rows(art) for q in asked(ids)}


def build_table(art: Artifacts, ids: str | Sequence[str] | None = None) -> pd.DataFrame:
    """The reproduction table: every asked question's rows, with their sources."""
    rows = [r.as_dict() for rs in build_rows(art, ids).values() for r in rs]
    return pd.DataFrame(rows, columns=COLUMNS)


def findings(
    art: Artifacts, rows: Mapping[str, list[Row]] | None = None, ids: str | Sequence[str] | None = None
) -> list[Finding]:
    """One finding per asked question (seed 001 has two), in report order."""
    rows = build_rows(art, ids) if rows is None else rows
    return [f for q in asked(ids) for f in q.findings(art, list(rows.get(q.doc_id, [])))]


def study_answer(name: str, summary: Mapping[str, Any]) -> list[str]:
    """Sentences about a convergence study: its question's answer for a seed study, else a generic summary."""
    for q in QUESTIONS:
        if name in q.study_answers:
            return q.study_answers[name](summary)
    return study_generic(summary)


def reads(config: Mapping[str, Any]) -> dict[str, list[str]]:
    """The configured datasets, Keras runs and studies the asked questions read (inputs of the
    reproduction table)."""
    runs = (config.get("keras") or {}).get("runs", {})
    studies = (config.get("convergence") or {}).get("studies", {})
    encoders = (config.get("amortized") or {}).get("encoders", {})
    qs = asked(config)
    return {
        "datasets": sorted({d for q in qs for d in q.datasets if d in config["datasets"]}),
        "runs": sorted({r for q in qs for r in q.runs if r in runs}),
        "studies": sorted({s for q in qs for s in q.studies if s in studies}),
        "encoders": sorted({e for q in qs for e in q.encoders if e in encoders}),
        "scale": sorted({d for q in qs for d in q.scale if d in config["datasets"]}),
    }


def missing_inputs(config: Mapping[str, Any]) -> list[str]:
    """One warning for each asked question that reads a dataset, run or study the config does not have,
    naming them all."""
    have = {
        "dataset": set(config["datasets"]),
        "Keras run": set((config.get("keras") or {}).get("runs", {})),
        "convergence study": set((config.get("convergence") or {}).get("studies", {})),
        "amortized encoder": set((config.get("amortized") or {}).get("encoders", {})),
        "large dataset": {
            n for n, s in config["datasets"].items() if s.get("kind") == "large" or s.get("streaming")
        },
    }
    out = []
    for q in asked(config):
        lacking = [
            f"{what} '{n}'"
            for what, names in (
                ("dataset", q.datasets),
                ("Keras run", q.runs),
                ("convergence study", q.studies),
                ("amortized encoder", q.encoders),
                ("large dataset", q.scale),
            )
            for n in names
            if n not in have[what]
        ]
        if lacking:
            out.append(
                f"seed {q.doc_id} ({q.title}) is asked but this config does not define "
                f"{', '.join(lacking)}: its answer and reproduction rows will say 'not run'"
            )
    return out
