"""A report section: a name (its input group and template fragment), a title, and a context builder."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reglab.report.inputs import Inputs


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    build: Callable[[Inputs], dict[str, Any] | None]

    @property
    def template(self) -> str:
        return f"sections/{self.name}.html.j2"
