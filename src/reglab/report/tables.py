"""Tables the report shows, built from artifact documents (pandas only; no plotting, no TensorFlow)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from reglab.core.stats import median

RUN_COLUMNS = [
    "run",
    "dataset",
    "model",
    "optimizer",
    "learning_rate",
    "batch_size",
    "dtype",
    "epochs_run",
    "final_train_loss",
    "final_mse_float64",
    "dist_closed_form",
    "dist_min_norm",
    "n_diverged",
    "n_repeats",
    "seconds",
]
PREDICTED_COLUMNS = [
    "learning_rate",
    "dtype",
    "standardize",
    "repeat",
    "predicted_steps",
    "measured_epochs",
    "reached",
    "best",
    "implicit_bias_distance",
    "diverged",
]


def _med(values: list[Any]) -> float:
    m = median(values)
    return math.nan if m is None else m


def final_vs_reference_table(docs: list[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per Keras run: its configuration and where it ended, against the references.

    ``epochs_run`` is the median over all repeats; ``final_train_loss``, ``final_mse_float64`` and the
    distances (trained parametrization) are medians over the repeats that did not diverge (NaN when none
    is left); ``n_diverged`` / ``n_repeats`` say how many were left out; ``seconds`` is the total wall
    time of all repeats. ``batch_size`` is ``"full"`` for full-batch training.
    """
    rows = []
    for doc in docs:
        spec = doc.get("spec") or {}
        reps = doc.get("repeats") or []
        ok = [r for r in reps if not r.get("diverged")]
        bs = spec.get("batch_size")
        rows.append(
            {
                "run": doc["run"],
                "dataset": doc.get("dataset"),
                "model": spec.get("model"),
                "optimizer": spec.get("optimizer"),
                "learning_rate": spec.get("learning_rate"),
                "batch_size": (
                    "full"
                    if bs is None
                    else f"{bs} (= full batch: {doc['batch_size_effective']} rows)"
                    if doc.get("full_batch")
                    else bs
                ),
                "dtype": spec.get("dtype"),
                "epochs_run": _med([r.get("epochs_run") for r in reps]),
                "final_train_loss": _med([r.get("final_train_loss") for r in ok]),
                "final_mse_float64": _med([r.get("final_mse_float64") for r in ok]),
                "dist_closed_form": _med([(r.get("distance") or {}).get("closed_form") for r in ok]),
                "dist_min_norm": _med([(r.get("distance") or {}).get("min_norm") for r in ok]),
                "n_diverged": int(sum(bool(r.get("diverged")) for r in reps)),
                "n_repeats": len(reps),
                "seconds": float(sum(r.get("seconds") or 0.0 for r in reps)),
            }
        )
    return pd.DataFrame(rows, columns=RUN_COLUMNS)


def _int_or_none(value: Any) -> Any:
    if value is None:
        return None
    v = float(value)
    if math.isnan(v):
        return None
    return int(v) if v.is_integer() else v


def predicted_vs_measured(summary: Mapping[str, Any]) -> pd.DataFrame:
    """One row per repeat of each full-batch ``keras_sgd`` run of a convergence study: the steps theory
    predicts to the tolerance, the measured epochs (None when not reached), ``reached``, the ``best``
    value, ``implicit_bias_distance`` and ``diverged``; sorted by parametrization, dtype, learning rate
    and repeat. The step columns hold Python ints and None."""
    rows = []
    for r in summary.get("runs") or []:
        if r.get("solver") != "keras_sgd" or r.get("batch_size") is not None:
            continue
        tt = r.get("time_to_tolerance") or {}
        rows.append(
            {
                "learning_rate": r.get("learning_rate"),
                "dtype": r.get("dtype"),
                "standardize": bool(r.get("standardize")),
                "repeat": int(r.get("repeat", 0)),
                "predicted_steps": _int_or_none(r.get("predicted_steps")),
                "measured_epochs": _int_or_none(tt.get("epochs") if tt.get("reached") else None),
                "reached": bool(tt.get("reached", False)),
                "best": np.nan if tt.get("best") is None else float(tt["best"]),
                "implicit_bias_distance": np.nan
                if r.get("implicit_bias_distance") is None
                else float(r["implicit_bias_distance"]),
                "diverged": bool(r.get("diverged")),
            }
        )
    table = pd.DataFrame(rows, columns=PREDICTED_COLUMNS)
    table = table.sort_values(
        ["standardize", "dtype", "learning_rate", "repeat"], kind="stable", ignore_index=True
    )
    for col in ("predicted_steps", "measured_epochs"):
        table[col] = pd.Series([_int_or_none(v) for v in table[col]], index=table.index, dtype=object)
    return table
