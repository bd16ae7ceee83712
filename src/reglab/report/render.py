"""The HTML report: Jinja2 over JSON artifacts and PNG figures, one self-contained file."""

from __future__ import annotations

import base64
import datetime as _dt
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd

from reglab.core.io import read_json, write_text


def fmt(value: Any, digits: int = 4) -> str:
    """Numbers for tables: significant digits, scientific for very large/small, '∞'/'—' for None."""
    if value is None or value is pd.NA:
        return "—"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        if value == 0.0:
            return "0"
        if abs(value) >= 1e5 or abs(value) < 1e-3:
            return f"{value:.{digits - 1}e}"
        return f"{value:.{digits}g}"
    return str(value)


def png_data_uri(path: str | Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def _by_dataset(paths: Sequence[str]) -> dict[str, dict[str, Any]]:
    return {Path(p).stem: read_json(p) for p in paths}


SEED_QUESTIONS = {
    "001": "Why does Keras' Dense(1) trained with Adam land on about (1.15, 0.85) instead of (1, 1)?",
    "002": "Why does Keras' SGD not reach MSE 1e-10 on a 200 x 300 system numpy solves exactly, "
           "and why does batch 32 help?",
    "003": "Linear and logistic regression as degenerate networks, against real MLPs (balloons).",
    "004": "Closed form against Keras gradient descent on the FuelConsumption data, raw and standardized.",
}
SEED_DATASETS = {"001": ["collinear_toy"], "002": ["underdetermined", "underdetermined_small"],
                 "003": ["balloons"], "004": ["fuel"]}


def keras_sections(keras: dict[str, dict[str, Any]], closed: dict[str, Any], diag: dict[str, Any],
                   figs: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    """One section per seed question: runs table, figures, and the plain answer."""
    from reglab.questions.answers import all_answers
    from reglab.plotting.keras import final_vs_reference_table

    answers = all_answers(keras, closed, diag)
    sections = []
    for doc_id, question in SEED_QUESTIONS.items():
        names = SEED_DATASETS[doc_id]
        docs = [d for d in keras.values() if d["dataset"] in names and d["run"].startswith(f"s{doc_id}")]
        if not docs and not answers[doc_id]:
            continue
        table = final_vs_reference_table(docs).to_dict("records") if docs else []
        sections.append({"id": doc_id, "question": question, "answer": answers[doc_id], "runs": table,
                         "figures": {n: figs.get(n, {}) for n in names if figs.get(n)}})
    return sections


def convergence_sections(studies: dict[str, dict[str, Any]], figs: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    """One section per convergence study: theory beside measurement, answers, figures."""
    from reglab.questions.answers import convergence_answers
    from reglab.plotting.convergence import predicted_vs_measured

    answers = convergence_answers(studies)
    out = []
    for name, summary in studies.items():
        table = predicted_vs_measured(summary)
        out.append({"name": name, "summary": summary, "answer": answers[name], "figures": figs.get(name, {}),
                    "predicted": table.to_dict("records") if len(table) else []})
    return out


def context(*, title: str, datasets: Sequence[str], closed_form: Sequence[str], diagnostics: Sequence[str],
            figures: Sequence[str], keras: Sequence[str] = (), reproduction: str | None = None,
            studies: Sequence[str] = ()) -> dict[str, Any]:
    """Everything the template shows, read from artifacts."""
    closed = _by_dataset(closed_form)
    diag = _by_dataset(diagnostics)
    keras_docs = {Path(p).stem: read_json(p) for p in keras}
    study_docs = {Path(p).parent.name: read_json(p) for p in studies}
    figs: dict[str, dict[str, str]] = {}
    study_figs: dict[str, dict[str, str]] = {}
    for path in figures:
        p = Path(path)
        target = study_figs if p.parent.parent.name == "convergence" else figs
        target.setdefault(p.parent.name, {})[p.stem] = png_data_uri(p)
    sections = [{"name": name, "closed": closed.get(name), "diag": diag.get(name), "figures": figs.get(name, {})}
                for name in datasets]
    rows = pd.read_csv(reproduction, dtype={"document": str}).to_dict("records") if reproduction else []
    return {"title": title, "sections": sections, "reproduction": rows,
            "keras_sections": keras_sections(keras_docs, closed, diag, figs),
            "convergence_sections": convergence_sections(study_docs, study_figs),
            "generated": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def render(*, title: str, datasets: Sequence[str], closed_form: Sequence[str], diagnostics: Sequence[str],
           figures: Sequence[str], template: str, css: str, output: str, keras: Sequence[str] = (),
           reproduction: str | None = None, studies: Sequence[str] = ()) -> None:
    """Render ``template`` with the artifacts' context and inline ``css``; write ``output`` atomically."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(Path(template).parent)),
                             autoescape=jinja2.select_autoescape(["html", "j2"]),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["fmt"] = fmt
    ctx = context(title=title, datasets=datasets, closed_form=closed_form, diagnostics=diagnostics, figures=figures,
                  keras=keras, reproduction=reproduction, studies=studies)
    html = env.get_template(Path(template).name).render(css=Path(css).read_text(encoding="utf-8"), **ctx)
    write_text(output, html)
