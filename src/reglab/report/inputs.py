"""What a report section reads: the report rule's named input groups, indexed once."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from reglab.questions import Artifacts


def png_data_uri(path: str | Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


@dataclass
class Inputs:
    """The report's inputs: ``groups[name]`` are the files the stage ``name`` registered for the report."""

    groups: Mapping[str, Sequence[str]]
    params: Mapping[str, Any] = field(default_factory=dict)

    def files(self, group: str, suffix: str | None = None) -> list[str]:
        return [str(p) for p in self.groups.get(group, ()) if suffix is None or str(p).endswith(suffix)]

    def all_files(self, suffix: str | None = None) -> list[str]:
        return [p for g in self.groups for p in self.files(g, suffix)]

    @cached_property
    def art(self) -> Artifacts:
        """Every JSON artifact of every group, by kind and key."""
        return Artifacts.from_paths(self.all_files(".json"))

    def figures(self, group: str) -> dict[str, dict[str, str]]:
        """PNG figures of a group as data URIs, by the folder they lie in (dataset or study) and file stem."""
        out: dict[str, dict[str, str]] = {}
        for p in self.files(group, ".png"):
            path = Path(p)
            out.setdefault(path.parent.name, {})[path.stem] = png_data_uri(path)
        return out

    @cached_property
    def reproduction(self) -> list[dict[str, Any]]:
        """Rows of the reproduction CSV (empty when the report was not given one)."""
        csv = self.all_files(".csv")
        if not csv:
            return []
        return pd.read_csv(csv[0], dtype={"document": str}, keep_default_na=True).to_dict("records")
