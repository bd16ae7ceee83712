"""What every seed-question module shares: the artifacts it reads, its rows, its findings.

A question module declares a :class:`Question`: the question in a line, the datasets, Keras runs and
convergence studies it reads, and three functions of an :class:`Artifacts` index — its plain answer
(sentences), its reproduction rows and its findings (the answer in one sentence with the decisive
number). Every number carries its source: the artifact path and an RFC 6901 JSON pointer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from reglab.core import stages
from reglab.core.io import read_json
from reglab.core.numbers import sig, unit_of
from reglab.core.select import keyed_runs
from reglab.core.stats import median

COLUMNS = [
    "document",
    "quantity",
    "article",
    "reglab",
    "reference",
    "verdict",
    "criterion",
    "source",
    "method",
]

Docs = Mapping[str, Mapping[str, Any]]


def pointer(*path: str | int) -> str:
    """An RFC 6901 JSON pointer to ``path`` ('~' and '/' escaped)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def resolve(doc: Any, ptr: str) -> Any:
    """The value at JSON pointer ``ptr`` in ``doc`` (None when absent)."""
    node = doc
    for token in ptr.split("/")[1:] if ptr else []:
        key = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping):
            node = node.get(key)
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return None
    return node


class Artifacts:
    """JSON artifacts by kind and key (Keras runs by run name, closed forms and diagnostics by dataset,
    convergence summaries by study), with the path each came from, so every value can name its source."""

    def __init__(
        self, docs: Mapping[str, Docs] | None = None, paths: Mapping[str, Mapping[str, str]] | None = None
    ):
        kinds = stages.artifact_kinds()  # each stage registers its own (reglab.core.stages)
        self.docs: dict[str, dict[str, Any]] = {k: dict((docs or {}).get(k, {})) for k in kinds}
        self.paths: dict[str, dict[str, str]] = {k: dict((paths or {}).get(k, {})) for k in kinds}

    @classmethod
    def from_paths(cls, paths: Iterable[str]) -> Artifacts:
        """Index JSON files by where they lie: ``results/<kind>/…``."""
        art = cls()
        kinds = stages.artifact_kinds()
        for p in paths:
            path = Path(p)
            if path.suffix != ".json":
                continue
            parts = path.parts
            # the folder right under results/ names the kind (a dataset may be called 'amortized')
            kind = (
                parts[parts.index("results") + 1]
                if "results" in parts[:-1]
                else next((k for k in kinds if k in parts), None)
            )
            if kind not in kinds:
                continue
            key = path.stem if kinds[kind] == "stem" else path.parent.name
            art.docs[kind][key] = read_json(path)
            art.paths[kind][key] = str(p)
        return art

    @property
    def keras(self) -> dict[str, Any]:
        return self.docs["keras"]

    @property
    def closed(self) -> dict[str, Any]:
        return self.docs["closed_form"]

    @property
    def diag(self) -> dict[str, Any]:
        return self.docs["diagnostics"]

    @property
    def studies(self) -> dict[str, Any]:
        return self.docs["convergence"]

    @property
    def amortized(self) -> dict[str, Any]:
        return self.docs["amortized"]

    @property
    def scale(self) -> dict[str, Any]:
        return self.docs["scale"]

    def get(self, kind: str, key: str, *path: str | int) -> Any:
        doc = self.docs[kind].get(key)
        return None if doc is None else resolve(doc, pointer(*path))

    def source(self, kind: str, key: str, *path: str | int) -> str:
        """``results/…/file.json#/json/pointer`` for a value; '' when the artifact is not there."""
        where = self.paths[kind].get(key)
        if where is None:
            where = _default_path(kind, key, self.docs[kind].get(key))
        return "" if where is None else f"{where}#{pointer(*path)}"


def _default_path(kind: str, key: str, doc: Mapping[str, Any] | None) -> str | None:
    """Where the workflow writes an artifact (for indexes built from documents in memory)."""
    return None if doc is None else stages.artifact_path(kind, key, doc)


@dataclass(frozen=True)
class Row:
    """One number a seed article printed, beside reglab's and the reference."""

    document: str
    quantity: str
    article: float
    reglab: float | str | None
    reference: float | None
    verdict: str
    criterion: str
    method: str
    source: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {c: getattr(self, c) for c in COLUMNS}

    @property
    def outcome(self) -> str:
        """'reproduced', 'differs' or 'not run' (the verdict's first words)."""
        return self.verdict.split(":")[0]


@dataclass(frozen=True)
class Finding:
    """A question answered in a sentence, with its decisive number beside the article's."""

    question: str
    answer: str
    value: float | str | None
    article: float | None
    verdict: str
    section: str
    source: str
    label: str = ""
    unit: str = ""


@dataclass(frozen=True)
class Question:
    """A seed article's question: what it reads and how it is answered."""

    doc_id: str
    title: str
    datasets: Sequence[str]
    runs: Sequence[str] = ()
    studies: Sequence[str] = ()
    encoders: Sequence[str] = ()
    scale: Sequence[str] = ()
    study_answers: Mapping[str, Callable[[Mapping[str, Any]], list[str]]] = field(default_factory=dict)
    answer: Callable[[Artifacts], list[str]] = field(default=lambda art: [])
    rows: Callable[[Artifacts], list[Row]] = field(default=lambda art: [])
    findings: Callable[[Artifacts, list[Row]], list[Finding]] = field(default=lambda art, rows: [])

    @property
    def section(self) -> str:
        return f"seed-{self.doc_id}"


# ------------------------------------------------------------------ shared row helpers


def num(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def missing(run: str) -> str:
    return f"not run: no Keras run named '{run}' in this config"


def within_decade(a: float, b: float) -> bool:
    """Same order of magnitude: |log10(a / b)| <= 1 (for positive a, b)."""
    return a > 0 and b > 0 and abs(math.log10(a / b)) <= 1.0


def within_relative(a: float, b: float, rel: float) -> bool:
    return abs(a - b) <= rel * abs(b)


def fmt4(x: float | None) -> str:
    return sig(x, 4)


def finding_from_row(q: Question, row: Row | None, question: str, answer: str, label: str = "") -> Finding:
    """A finding whose decisive number is a reproduction row's."""
    if row is None:
        return Finding(question, answer, None, None, "not run", q.section, "", label)
    article = None if isinstance(row.article, float) and math.isnan(row.article) else row.article
    unit = unit_of(row.quantity)
    return Finding(question, answer, row.reglab, article, row.outcome, q.section, row.source, label, unit)


def row_by(rows: Sequence[Row], quantity: str) -> Row | None:
    return next((r for r in rows if r.quantity == quantity), None)


def dig(docs: Any, key: str, *path: str) -> Any:
    """``docs[key][path[0]][path[1]]…``, None as soon as a level is missing."""
    node: Any = docs.get(key) if isinstance(docs, Mapping) else None
    for p in path:
        if node is None:
            return None
        node = node.get(p) if isinstance(node, Mapping) else None
    return node


def runs_of(summary: Mapping[str, Any] | None, **match: Any) -> list[dict[str, Any]]:
    """A study's runs matching ``match``; none when the study is absent."""
    return keyed_runs(summary, **match) if summary else []


def spectrum_sentence(summary: Mapping[str, Any], key: str) -> str:
    sp = summary["theory"][key]["spectrum"]
    return (
        f"The Hessian of the MSE ({key} features) has largest eigenvalue {sig(sp['lambda_max'])} and "
        f"smallest nonzero eigenvalue {sig(sp['lambda_min_nonzero'])} (rank {sp['rank']}), a condition "
        f"number of {sig(sp['condition_number'])}; gradient descent is stable only for learning rates below "
        f"2/λmax = {sig(sp['stability_limit'])}."
    )


def averaging_sentence(summary: Mapping[str, Any]) -> list[str]:
    """Last iterate vs Polyak (all epochs) vs tail (second half) averages of minibatch Keras SGD runs."""
    runs = [
        r
        for r in summary["runs"]
        if r["family"] == "keras"
        and r.get("optimizer") == "sgd"
        and r.get("rel_coef_error_polyak") is not None
        and not r["diverged"]
    ]
    if not runs:
        return []
    last = median([r["final_rel_coef_error"] for r in runs])
    pol = median([r["rel_coef_error_polyak"] for r in runs])
    tail = median([r["rel_coef_error_tail"] for r in runs])
    return [
        f"Averaging minibatch Keras SGD ({len(runs)} runs): relative coefficient error of the last iterate "
        f"{sig(last)}, of the average of all epoch-end iterates {sig(pol)}, of the second half's average "
        f"{sig(tail)} (medians): averaging all iterates keeps the early, far-off ones; the tail average "
        "removes most of the noise without that bias."
    ]


def study_generic(summary: Mapping[str, Any]) -> list[str]:
    out = [spectrum_sentence(summary, k) for k in summary["theory"]]
    runs = [r for r in summary["runs"] if r["time_to_tolerance"]]
    hit = [r for r in runs if r["time_to_tolerance"]["reached"]]
    out.append(
        f"{len(hit)}/{len(runs)} runs reached {summary['tolerance']['metric']} "
        f"{summary['tolerance']['value']:g}."
    )
    return out + averaging_sentence(summary)


def with_sources(
    rows: list[Row], art: Artifacts, where: Mapping[str, tuple[str, str, tuple[str | int, ...]] | None]
) -> list[Row]:
    """Give each row the source of its reglab value: ``where[quantity] = (kind, key, path)``."""
    out = []
    for row in rows:
        loc = where.get(row.quantity)
        src = art.source(loc[0], loc[1], *loc[2]) if loc and row.reglab is not None else ""
        out.append(replace(row, source=src))
    return out


def run_index(summary: Mapping[str, Any] | None, **match: Any) -> int | None:
    """Position in ``summary['runs']`` of the first run matching ``match`` (for JSON pointers)."""
    for i, r in enumerate((summary or {}).get("runs", [])):
        if all(r.get(k) == v for k, v in match.items()):
            return i
    return None
