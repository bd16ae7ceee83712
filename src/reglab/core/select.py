"""Selecting records from artifact documents (pure dict code, no numerical packages)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def keyed_runs(summary: Mapping[str, Any], **match: Any) -> list[dict[str, Any]]:
    """The runs of a study summary whose fields equal every ``match`` value (e.g. solver='keras_sgd')."""
    return [r for r in summary["runs"] if all(r.get(k) == v for k, v in match.items())]
