"""What each stage knows of itself: its config checks and the kind of artifact its results are indexed by.

Each stage is one module in this package that defines ``STAGE = Stage(...)``; :func:`stages` finds them
all, so a new stage adds one file here and edits no list (not :mod:`reglab.core.config`, not the
report's artifact index, :class:`reglab.questions.base.Artifacts`). The checks are the cross-key rules a
JSON schema cannot express, run by the Snakefile before any job; they read plain config mappings and
import nothing heavy.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

__all__ = ["Stage", "artifact_kinds", "artifact_path", "check", "stages"]


@dataclass(frozen=True)
class Stage:
    """One stage of the workflow.

    ``name`` is the folder under ``results/`` its JSON artifacts lie in; ``key`` how an artifact's key
    is read from its path (``stem``: ``results/<name>/<key>.json``; ``parent``:
    ``results/<name>/<key>/summary.json``; None: the report indexes none of its files); ``check`` raises
    :class:`reglab.core.config.ConfigError` naming the first bad key of the stage's config; checks run
    in ``order`` (then by name), so the first bad key of a config is always the same one; ``path`` gives
    where an artifact is written from its key and document when that is not ``results/<name>/<key>.json``.
    """

    name: str
    key: Literal["stem", "parent"] | None = "stem"
    check: Callable[[Mapping[str, Any]], None] | None = None
    order: int = 50
    path: Callable[[str, Mapping[str, Any]], str] | None = None


@cache
def stages() -> tuple[Stage, ...]:
    """Every stage defined in this package, in check order."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        stage = getattr(module, "STAGE", None)
        if not isinstance(stage, Stage):
            raise TypeError(f"{module.__name__} defines no STAGE = Stage(...)")
        found.append(stage)
    names = [s.name for s in found]
    if len(set(names)) != len(names):
        raise ValueError(f"two stage modules name the same stage: {sorted(names)}")
    return tuple(sorted(found, key=lambda s: (s.order, s.name)))


def artifact_kinds() -> dict[str, str]:
    """``{stage name: "stem" | "parent"}`` for every stage whose JSON artifacts the report indexes."""
    return {s.name: s.key for s in stages() if s.key is not None}


def artifact_path(kind: str, key: str, doc: Mapping[str, Any]) -> str:
    """Where the workflow writes the ``kind`` artifact ``key`` (for indexes built from documents)."""
    stage = next(s for s in stages() if s.name == kind)
    if stage.path is not None:
        return stage.path(key, doc)
    return f"results/{kind}/{key}/summary.json" if stage.key == "parent" else f"results/{kind}/{key}.json"


def check(config: Mapping[str, Any]) -> None:
    """Every stage's check, in order: raise :class:`reglab.core.config.ConfigError` at the first bad key."""
    for stage in stages():
        if stage.check is not None:
            stage.check(config)
