"""Seed 000's encoder job: train one configured amortized encoder (TensorFlow) and evaluate it with
:mod:`reglab.studies.amortized`. Kept apart from that module so the references' and the evaluation's
jobs (exact least squares on the held-out datasets) do not import TensorFlow, and their code digests
do not cover Keras code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from reglab.core.rng import derive_seed, generator
from reglab.data.amortized import Batch
from reglab.linalg import batched
from reglab.studies.amortized import EXAMPLES, METRIC_COLUMNS, SEED_KEY, Evaluation, metrics, none_if_nan
from reglab.training import amortized as am

#: the rows per dataset at which every encoder's FLOPs are counted (the seed's n)
FLOPS_N = 100


def run_encoder(
    name: str, entry: Mapping[str, Any], *, evaluation: Mapping[str, Any], seed: int, fixed: Batch | None
) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """Train one configured encoder and evaluate it: (artifact document, evaluation rows, history)."""
    enc, tr = am.from_config(entry)
    if tr.data == "fixed" and fixed is None:
        raise ValueError(f"amortized.encoders.{name}: data 'fixed' needs the training dataset")
    trained = am.train(enc, tr, seed=derive_seed(seed, "amortized", "train", name), fixed=fixed)
    ev = Evaluation.from_config(evaluation, seed)
    d = ev.batches[SEED_KEY].X.shape[2]
    skipped = ev.affordable(lambda n: am.flops(enc, d, n), Evaluation.max_flops(evaluation))
    refined = None
    if enc.refine:
        refined = {k: trained.refined(b.X, b.y) for k, b in ev.batches.items() if k not in skipped}
        table = ev.table_of(name, enc.kind, "encoder", {k: r.betas[-1] for k, r in refined.items()})
        coefficients = lambda X, y: trained.refined(X, y).betas[-1]  # noqa: E731
    else:
        table = ev.table(name, enc.kind, "encoder", trained.coefficients, skip=skipped)
        coefficients = trained.coefficients
    perm = ev.permutation_change(
        coefficients,
        int(evaluation.get("permutations", 10)),
        generator(seed, "amortized", "permutation", name),
    )
    seed_row = table[table["condition"] == SEED_KEY].iloc[0]
    example_beta = coefficients(ev.batches[SEED_KEY].X[:EXAMPLES], ev.batches[SEED_KEY].y[:EXAMPLES])
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
        "flops_per_dataset": am.flops(enc, d, FLOPS_N),
        "flops_n": FLOPS_N,
        "skipped_conditions": skipped,
        "permutation_invariant": enc.kind != "lstm",
        "example_beta": example_beta.tolist(),
        "conditions": {
            r["condition"]: {c: none_if_nan(r[c]) for c in METRIC_COLUMNS} for _, r in table.iterrows()
        },
    }
    if refined is not None:
        doc["refine"] = refinement_doc(ev, trained, refined)
    return doc, table, history


def refinement_doc(ev: Evaluation, trained: Any, refined: Mapping[str, Any]) -> dict[str, Any]:
    """Per condition: the metrics after each pass (pass 0 is the network alone), the contraction per pass
    (median, and how many datasets do not contract), and the standard errors the network's inverse
    implies (alone and refined) against OLS's."""
    passes, d = trained.encoder.refine, ev.batches[SEED_KEY].X.shape[2]
    out: dict[str, Any] = {
        "passes": passes,
        "flops_per_dataset": [
            am.flops(replace(trained.encoder, refine=k), d, FLOPS_N) for k in range(passes + 1)
        ],
        "by_condition": {},
    }
    for key, r in refined.items():
        b = ev.batches[key]
        per_pass = [metrics(b, beta, ev.floor[key], ev.ols[key]) for beta in r.betas]
        c = r.contraction[np.isfinite(r.contraction)]
        # noise-free data have standard errors of rounding size: no ratio to compare
        se: dict[str, float | None] = {"learned": None, "refined": None}
        if per_pass[0]["excess_pct"] is not None:
            se_ols = batched.standard_errors(b.X, b.y, ev.ols[key])
            for label, k in (("learned", 0), ("refined", passes)):
                v = batched.standard_errors(b.X, b.y, r.betas[-1], trained.inverse_gram(b.X, k))
                se[label] = _se_err_pct(v, se_ols)
        out["by_condition"][key] = {
            "datasets": len(b.X),
            "excess_pct": [none_if_nan(p["excess_pct"]) for p in per_pass],
            "excess_mean": [p["excess_mean"] for p in per_pass],
            "slope_rel_err_median": [p["slope_rel_err_median"] for p in per_pass],
            "step_median": [float(np.median(s)) for s in r.steps],
            "contraction_median": float(np.median(c)) if len(c) else None,
            "contraction_p95": float(np.quantile(c, 0.95)) if len(c) else None,
            "not_contracting": int(np.sum(c >= 1.0)),
            "se_err_pct_median": se,
        }
    return out


def _se_err_pct(se: np.ndarray, se_ols: np.ndarray) -> float | None:
    """Median over datasets and coefficients of 100·|se / se_OLS − 1|, in % (where both are finite)."""
    ok = np.isfinite(se) & np.isfinite(se_ols) & (se_ols > 0)
    return float(100.0 * np.median(np.abs(se[ok] / se_ols[ok] - 1.0))) if ok.any() else None
