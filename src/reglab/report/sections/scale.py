"""Seed 001's large design: the streamed least-squares solution of each large dataset and what Keras
Adam, streaming the same files, reaches instead."""

from __future__ import annotations

from typing import Any

from reglab.report.inputs import Inputs
from reglab.report.sections.base import Section


def build(inputs: Inputs) -> dict[str, Any] | None:
    art = inputs.art
    names = sorted(k for k in art.scale if not k.endswith("_adam"))
    if not names:
        return None
    out = []
    for name in names:
        doc = art.scale[name]
        adam = (art.scale.get(f"{name}_adam") or {}).get("runs", {})
        out.append(
            {
                "name": name,
                "doc": doc,
                "adam": adam,
                "source": art.source("scale", name, "seconds"),
                "coef": list(doc["coef"].items())[:8] if isinstance(doc["coef"], dict) else [],
            }
        )
    return {"datasets": out}


SECTION = Section("scale", "Seed 001's large design: least squares streamed from disk", build)
