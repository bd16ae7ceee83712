"""Seed 000's encoder job: train one configured amortized encoder (TensorFlow) and evaluate it with
:mod:`reglab.studies.amortized`. Kept apart from that module so the references' and the evaluation's
jobs (exact least squares on the held-out datasets) do not import TensorFlow, and their code digests
do not cover Keras code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from reglab.core.rng import derive_seed, generator
from reglab.data.amortized import Batch
from reglab.studies.amortized import EXAMPLES, METRIC_COLUMNS, SEED_KEY, Evaluation, none_if_nan
from reglab.training import amortized as am


def run_encoder(
    name: str, entry: Mapping[str, Any], *, evaluation: Mapping[str, Any], seed: int, fixed: Batch | None
) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """Train one configured encoder and evaluate it: (artifact document, evaluation rows, history)."""
    enc, tr = am.from_config(entry)
    if tr.data == "fixed" and fixed is None:
        raise ValueError(f"amortized.encoders.{name}: data 'fixed' needs the training dataset")
    trained = am.train(enc, tr, seed=derive_seed(seed, "amortized", "train", name), fixed=fixed)
    ev = Evaluation(seed, evaluation.get("factors", {}), int(evaluation.get("m", 1000)))
    table = ev.table(name, enc.kind, "encoder", trained.coefficients)
    perm = ev.permutation_change(
        trained.coefficients,
        int(evaluation.get("permutations", 10)),
        generator(seed, "amortized", "permutation", name),
    )
    seed_row = table[table["condition"] == SEED_KEY].iloc[0]
    example_beta = trained.coefficients(ev.batches[SEED_KEY].X[:EXAMPLES], ev.batches[SEED_KEY].y[:EXAMPLES])
    history = pd.DataFrame(trained.history, columns=["epoch", "step", "loss", "val_loss", "seconds"])
    history.insert(0, "name", name)
    last = trained.history[-1] if trained.history else {}
    doc = {
        "name": name,
        "kind": enc.kind,
        "params": trained.params,
        "spec": am.spec_dict(enc, tr),
        "train_seconds": trained.seconds,
        "steps_run": trained.steps_run,
        "train_datasets": len(fixed.X) if tr.data == "fixed" else None,
        "epochs_run": last.get("epoch"),
        "final_train_loss": last.get("loss"),
        "final_val_loss": last.get("val_loss"),
        "loss_units": "normalized" if enc.normalize and tr.loss_units == "normalized" else "raw",
        "eval_loss": float(seed_row["loss"]),
        "floor_loss": float(seed_row["floor"]),
        "excess_pct": none_if_nan(seed_row["excess_pct"]),
        "excess_p95": float(seed_row["excess_p95"]),
        "slope_rel_err_median": float(seed_row["slope_rel_err_median"]),
        "permutation": perm,
        "permutation_invariant": enc.kind != "lstm",
        "example_beta": example_beta.tolist(),
        "conditions": {
            r["condition"]: {c: none_if_nan(r[c]) for c in METRIC_COLUMNS} for _, r in table.iterrows()
        },
    }
    return doc, table, history
