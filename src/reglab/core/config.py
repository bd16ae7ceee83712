"""Config checks: the error every check raises, the rules several stages share, and :func:`check`, which
runs each stage's own cross-key checks (those a JSON schema cannot express; :mod:`reglab.core.stages`).
Run by the Snakefile before any job."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Dataset kinds a Keras run can train on (the amortized dataset of datasets is not one design).
KERAS_KINDS = {"collinear_toy", "collinear", "underdetermined", "balloons", "fuel", "file"}


class ConfigError(ValueError):
    """A config value is unusable; the message names the key and what was expected."""


def single_design(where: str, ds: str, datasets: Mapping[str, Any]) -> str:
    """The kind of dataset ``ds``, which a Keras run or a study at ``where`` trains on in memory."""
    if ds not in datasets:
        raise ConfigError(
            f"config error at {where}.dataset: '{ds}' is not a dataset; expected one of {sorted(datasets)}"
        )
    if datasets[ds].get("streaming"):
        raise ConfigError(
            f"config error at {where}.dataset: '{ds}' streams from disk (streaming: true), "
            "which only the scale stage reads"
        )
    kind = datasets[ds].get("kind", "file")
    if kind not in KERAS_KINDS:
        raise ConfigError(
            f"config error at {where}.dataset: dataset '{ds}' is of kind '{kind}', "
            f"which is not a single design; expected a dataset of kind {sorted(KERAS_KINDS)}"
        )
    return kind


def check(config: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigError` naming the first bad key: every stage's own check
    (:mod:`reglab.core.stages`), in their order."""
    from reglab.core import stages

    stages.check(config)
