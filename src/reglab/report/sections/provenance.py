"""How this report was made: package versions, machine, threads, commit, config digest, date."""

from __future__ import annotations

import datetime as dt
from typing import Any

from reglab.core import provenance
from reglab.report.inputs import Inputs
from reglab.report.sections.base import Section


def build(inputs: Inputs) -> dict[str, Any]:
    p = inputs.params
    workflow_dir = p.get("workflow_dir")
    return {
        "versions": provenance.versions(),
        "cpu": provenance.cpu_model(),
        "threads": p.get("threads"),
        "commit": provenance.git_commit(workflow_dir) if workflow_dir else None,
        "config_digest": p.get("config_digest"),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


SECTION = Section("provenance", "Provenance", build)
