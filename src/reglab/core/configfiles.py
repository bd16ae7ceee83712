"""The workflow's config, composed from files reglab reads itself: strict YAML, studies by name.

Snakemake merges ``--configfile`` files over the Snakefile's ``configfile:`` and passes them to every
job, but not ``--replace-workflow-config``, so a study that must *replace* ``config.yaml`` (the tiny
end-to-end study) was merged over it on cluster nodes. Here a study is selected by name,
``--config study=tiny``, which Snakemake passes to every job, and the workflow composes the config the
same way everywhere:

1. the base: ``config/<study>.yaml`` alone, or over ``config.yaml`` when the study file says
   ``extends: config.yaml``; ``config.yaml`` when no study is named;
2. over it, whatever came from the command line (``--configfile`` files, then ``--config``), as
   Snakemake merged them (nested mappings merged key by key, anything else replaced).

Every file read here is parsed strictly: a key given twice in one mapping, an empty file or a YAML
syntax error is a :class:`ConfigFileError` naming the file and the line.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

__all__ = ["ConfigFileError", "compose", "load", "study_path"]

STUDY_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


class ConfigFileError(ValueError):
    """A config file cannot be used; the message names the file (and the line where there is one)."""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML silently keeps the last)."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        line = key_node.start_mark.line + 1
        if key in seen:
            raise ConfigFileError(
                f"{loader.name}, line {line}: key '{key}' is given twice in one mapping "
                f"(first at line {seen[key]}); remove one"
            )
        seen[key] = line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load(path: str | Path) -> dict[str, Any]:
    """One config file as a mapping; refuses duplicate keys, empty files, syntax errors and non-mappings."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigFileError(f"{path}: cannot read the config file ({exc.strerror or exc})") from exc
    loader = _StrictLoader(text)
    loader.name = str(path)
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigFileError(f"{path}{where}: not valid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ConfigFileError(f"{path}: not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    if data is None:
        raise ConfigFileError(f"{path}: the config file is empty (expected a mapping of config keys)")
    if not isinstance(data, dict):
        raise ConfigFileError(
            f"{path}, line 1: the config file holds a {type(data).__name__}, "
            "expected a mapping of config keys"
        )
    return data


def merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` merged into a copy of ``base``: mappings key by key, anything else replaced (Snakemake's
    rule)."""
    out = copy.deepcopy(dict(base))
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def study_path(studies_dir: str | Path, study: str) -> Path:
    """``<studies_dir>/<study>.yaml``, refusing names that are not plain words or files that do not exist."""
    if not isinstance(study, str) or not STUDY_NAME.match(study):
        raise ConfigFileError(f"config key 'study': {study!r} is not a study name (letters, digits, _ and -)")
    path = Path(studies_dir) / f"{study}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in Path(studies_dir).glob("*.yaml"))
        raise ConfigFileError(f"config key 'study': no study file {path}; studies are {known}")
    return path


def compose(
    *,
    base: str | Path,
    studies_dir: str | Path,
    study: str | None,
    overrides: Mapping[str, Any],
    override_files: Sequence[str | Path] = (),
    replace: bool = False,
) -> dict[str, Any]:
    """The workflow's config (see the module docstring). ``overrides`` is what Snakemake merged from the
    command line (``--configfile`` files and ``--config``); ``override_files`` are those files, re-read
    here only to refuse duplicate keys; ``replace`` is ``--replace-workflow-config`` (no base at all)."""
    studies = Path(studies_dir).resolve()
    for f in override_files:
        data = load(f)  # strict parse: duplicate keys and syntax errors name the file and line
        if not replace and Path(f).resolve().parent == studies and "extends" not in data:
            raise ConfigFileError(
                f"{f}: this study stands alone; run it with --config study={Path(f).stem} "
                "(given as --configfile it would be merged over config.yaml)"
            )
    overrides = {k: v for k, v in overrides.items() if k != "extends"}  # a study file given as --configfile
    if replace:
        composed: dict[str, Any] = {}
    elif study:
        path = study_path(studies_dir, study)
        data = load(path)
        parent = data.pop("extends", None)
        if parent is None:
            composed = data
        elif parent == Path(base).name:
            composed = merge(load(base), data)
        else:
            raise ConfigFileError(
                f"{path}: 'extends: {parent}' is not supported; a study extends "
                f"{Path(base).name} or stands alone"
            )
    else:
        composed = load(base)
    composed = merge(composed, overrides)
    if study:
        composed["study"] = study
    return composed
