"""The HTML report: each section's context rendered into its template fragment, one self-contained file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2

from reglab.core.io import write_text
from reglab.core.numbers import fmt
from reglab.report.inputs import Inputs
from reglab.report.sections import SECTIONS


def environment(template_dir: str | Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = fmt
    return env


def context(inputs: Inputs) -> list[dict[str, Any]]:
    """The sections that have something to show, each with its name, title, template and context."""
    out = []
    for section in SECTIONS:
        ctx = section.build(inputs)
        if ctx is not None:
            out.append(
                {"name": section.name, "title": section.title, "template": section.template, "ctx": ctx}
            )
    return out


def render(
    *,
    groups: Mapping[str, Sequence[str]],
    template: str,
    css: str,
    output: str,
    title: str,
    params: Mapping[str, Any] | None = None,
) -> None:
    """Render ``template`` (which includes the section fragments beside it) and inline ``css``;
    write ``output`` atomically."""
    inputs = Inputs(groups=groups, params=dict(params or {}))
    env = environment(Path(template).parent)
    html = env.get_template(Path(template).name).render(
        title=title, css=Path(css).read_text(encoding="utf-8"), sections=context(inputs)
    )
    write_text(output, html)
