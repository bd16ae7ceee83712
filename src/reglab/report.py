"""The HTML report: Jinja2 over JSON artifacts and PNG figures, one self-contained file."""

from __future__ import annotations

import base64
import datetime as _dt
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2

from reglab.io import read_json, write_text


def fmt(value: Any, digits: int = 4) -> str:
    """Numbers for tables: significant digits, scientific for very large/small, '∞'/'—' for None."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
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


def context(*, title: str, datasets: Sequence[str], closed_form: Sequence[str], diagnostics: Sequence[str],
            figures: Sequence[str]) -> dict[str, Any]:
    """Everything the template shows, read from artifacts."""
    closed = _by_dataset(closed_form)
    diag = _by_dataset(diagnostics)
    figs: dict[str, dict[str, str]] = {}
    for path in figures:
        p = Path(path)
        figs.setdefault(p.parent.name, {})[p.stem] = png_data_uri(p)
    sections = [{"name": name, "closed": closed.get(name), "diag": diag.get(name), "figures": figs.get(name, {})}
                for name in datasets]
    return {"title": title, "sections": sections,
            "generated": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def render(*, title: str, datasets: Sequence[str], closed_form: Sequence[str], diagnostics: Sequence[str],
           figures: Sequence[str], template: str, css: str, output: str) -> None:
    """Render ``template`` with the artifacts' context and inline ``css``; write ``output`` atomically."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(Path(template).parent)),
                             autoescape=jinja2.select_autoescape(["html", "j2"]),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["fmt"] = fmt
    ctx = context(title=title, datasets=datasets, closed_form=closed_form, diagnostics=diagnostics, figures=figures)
    html = env.get_template(Path(template).name).render(css=Path(css).read_text(encoding="utf-8"), **ctx)
    write_text(output, html)
