"""A convergence study's grid and how it is cut into jobs: configurations, groups, and each job's config
slice.

A study's Keras configurations are the product optimizers x learning rates x batch sizes x dtypes x
feature scalings. ``group_by`` names the grid fields whose distinct value combinations make one job
each (the rest of the grid runs inside that job); the reference solvers and the theory are one more
job, and a merge job puts the study's tables together. Each job's slice holds only what that job
computes from, so a config change reruns only the jobs whose slice it changes. Pure config logic:
no numpy, no TensorFlow, cheap to import while the workflow is parsed.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

#: Study optimizer name -> (Keras optimizer, constructor options).
OPTIMIZERS: dict[str, tuple[str, dict[str, Any]]] = {
    "sgd": ("sgd", {}),
    "momentum": ("sgd", {"momentum": 0.9}),
    "nesterov": ("sgd", {"momentum": 0.9, "nesterov": True}),
    "adam": ("adam", {}),
    "rmsprop": ("rmsprop", {}),
    "adagrad": ("adagrad", {}),
}
#: Grid fields a study's ``group_by`` may name (one job per distinct combination of their values).
GROUP_FIELDS = ("optimizer", "learning_rate", "batch_size", "dtype", "standardize")
#: ``group_by`` when a study does not set it (as in the config schema).
DEFAULT_GROUP_BY = ("learning_rate", "batch_size")
#: The name of the one group of a study with ``group_by: []``.
SINGLE_GROUP = "all"
#: Study keys every Keras configuration's runs read, besides the configuration itself (the dataset reaches a
#: job as its input file).
RUN_KEYS = ("repeats", "use_bias", "initializer", "tolerance")


@dataclasses.dataclass(frozen=True)
class Variant:
    """One Keras configuration of a study (its repeats share it)."""

    optimizer: str
    learning_rate: float
    batch_size: int | None
    dtype: str
    standardize: bool
    epochs: int

    @property
    def solver(self) -> str:
        return f"keras_{self.optimizer}"


def variants(study: Mapping[str, Any]) -> list[Variant]:
    """The grid a study declares; full-batch runs may get their own epoch count (``epochs_full_batch``)."""
    out = []
    for opt, lr, bs, dt, std in itertools.product(
        study["optimizers"],
        study["learning_rates"],
        study["batch_sizes"],
        study["dtypes"],
        study["standardize"],
    ):
        if opt not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer '{opt}'; expected one of {sorted(OPTIMIZERS)}")
        epochs = (
            study.get("epochs_full_batch")
            if bs is None and study.get("epochs_full_batch")
            else study["epochs"]
        )
        out.append(Variant(opt, float(lr), bs, dt, bool(std), int(epochs)))
    return out


def _token(field: str, value: Any) -> str:
    if field == "learning_rate":
        return f"lr{float(value)!r}"
    if field == "batch_size":
        return "full" if value is None else f"bs{int(value)}"
    if field == "standardize":
        return "std" if value else "raw"
    return str(value)


def group_by(study: Mapping[str, Any]) -> tuple[str, ...]:
    """The study's ``group_by`` fields (checked)."""
    fields = tuple(study.get("group_by", DEFAULT_GROUP_BY))
    unknown = [f for f in fields if f not in GROUP_FIELDS]
    if unknown or len(set(fields)) != len(fields):
        raise ValueError(f"group_by {list(fields)}: expected distinct fields among {list(GROUP_FIELDS)}")
    return fields


def group_id(variant: Variant, fields: Sequence[str]) -> str:
    """The name of the group (job) holding ``variant``: its values of ``fields``, e.g. ``lr0.01_bs32``.

    Built from the values, never from positions in the grid, so adding a grid value adds groups and leaves
    the names (and jobs) of the others as they are.
    """
    return "_".join(_token(f, getattr(variant, f)) for f in fields) or SINGLE_GROUP


def groups(study: Mapping[str, Any]) -> dict[str, list[Variant]]:
    """Group name -> its configurations, both in grid order (the order of :func:`variants`)."""
    fields = group_by(study)
    out: dict[str, list[Variant]] = {}
    for v in variants(study):
        out.setdefault(group_id(v, fields), []).append(v)
    return out


def group_entry(study: Mapping[str, Any], group: str) -> dict[str, Any]:
    """What the job of ``group`` computes from: its own configurations and the study keys their runs read."""
    members = groups(study).get(group)
    if members is None:
        raise ValueError(f"study has no group '{group}'; its groups are {sorted(groups(study))}")
    return {**{k: study[k] for k in RUN_KEYS}, "configurations": [dataclasses.asdict(v) for v in members]}


def configurations(entry: Mapping[str, Any]) -> list[Variant]:
    """The configurations of a :func:`group_entry`."""
    return [Variant(**c) for c in entry["configurations"]]


def reference_entry(study: Mapping[str, Any]) -> dict[str, Any]:
    """What the reference-solver and theory job computes from (not the Keras grid beyond its smallest
    learning rate and batch size, which the reference SGD uses): adding a Keras configuration leaves it."""
    finite = [b for b in study["batch_sizes"] if b is not None]
    return {
        "standardize": list(study["standardize"]),
        "use_bias": study["use_bias"],
        "dtypes": sorted(set(study["dtypes"])),
        "tolerance": dict(study["tolerance"]),
        "reference_solvers": list(study["reference_solvers"]),
        "epochs": int(study["epochs"]),
        "epochs_full_batch": study.get("epochs_full_batch"),
        "sgd_learning_rate": float(min(study["learning_rates"])),
        "sgd_batch_size": min(finite) if finite else None,
        "article": study.get("article"),
    }
