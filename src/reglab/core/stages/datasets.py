"""The dataset stage (synthesis and user files): its artifacts are read by path, not indexed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reglab.core.config import ConfigError
from reglab.core.stages import Stage


def check(config: Mapping[str, Any]) -> None:
    """Only user files stream from disk."""
    for name, spec in config["datasets"].items():
        if spec.get("streaming") and spec.get("kind", "file") != "file":
            raise ConfigError(
                f"config error at datasets.{name}.streaming: only user files (kind file) stream"
            )


STAGE = Stage("datasets", key=None, check=check, order=30)
