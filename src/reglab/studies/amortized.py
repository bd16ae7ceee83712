"""Seed 000's study: train amortized encoders, evaluate them and the untrained references on held-out
datasets, one factor at a time around the seed's setting.

Held-out datasets of each condition are drawn from the config seed and the condition's key alone, so
every job (each encoder's, the references') sees the same datasets. Every metric is computed here:

* ``loss`` — mean over datasets of the in-sample MSE of the coefficients on the rows they were given
  (the seed's loss); ``floor`` — the same for each dataset's own OLS fit (no beta does better);
* ``excess_mean`` / ``excess_p95`` — mean and 95th percentile over datasets of loss - floor;
  ``excess_pct`` = 100 · mean excess / mean floor (None where the floor is 0: noise-free data);
* ``slope_err_rms``, ``intercept_err_rms`` — RMS error of beta against each dataset's OLS beta;
  ``slope_rel_err_median`` — median over datasets of |Δslopes| / |OLS slopes|.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from reglab.core.rng import generator
from reglab.data.amortized import SEED_CONDITION, Batch, Condition, from_frame_arrays, sample
from reglab.linalg import batched

#: the untrained reference rows, in report order
REFERENCES = ("ols", "truth", "intercept_only", "zero", "gd_1", "gd_3")
#: condition factors a config may vary (one at a time around the seed's setting)
FACTORS = ("n", "coef_scale", "x_dist", "noise_max")
SEED_KEY = "seed"
EXAMPLES = 5  # held-out datasets of the seed condition whose coefficients every artifact keeps
METRIC_COLUMNS = [
    "loss",
    "floor",
    "excess_mean",
    "excess_p95",
    "excess_pct",
    "slope_err_rms",
    "intercept_err_rms",
    "slope_rel_err_median",
    "n_nonfinite",
]
EVAL_COLUMNS = [
    "name",
    "kind",
    "family",
    "condition",
    "factor",
    "value",
    "n",
    "coef_scale",
    "x_dist",
    "noise_max",
    *METRIC_COLUMNS,
]


def conditions(
    factors: Mapping[str, Sequence[Any]], base: Condition = SEED_CONDITION
) -> dict[str, Condition]:
    """The seed's condition (key ``seed``) and each factor's other values, one at a time (key ``n=30``)."""
    out = {SEED_KEY: base}
    for factor, values in factors.items():
        if factor not in FACTORS:
            raise ValueError(
                f"amortized.evaluation.factors: unknown factor '{factor}'; expected one of {list(FACTORS)}"
            )
        for v in values:
            cond = base.with_(**{factor: v})
            if cond != base:
                out[f"{factor}={v}"] = cond
    return out


def held_out(seed: int, key: str, cond: Condition, m: int) -> Batch:
    """The held-out datasets of one condition (the same in every job)."""
    return sample(cond, m, generator(seed, "amortized", "evaluation", key))


def metrics(b: Batch, beta: np.ndarray, floor: np.ndarray, beta_ols: np.ndarray) -> dict[str, Any]:
    finite = np.all(np.isfinite(beta), axis=1)
    n_bad = int((~finite).sum())
    if n_bad:
        beta = np.where(finite[:, None], beta, np.nan)
    loss = batched.mse(b.X, b.y, beta)
    excess = loss - floor
    mean_floor = float(np.mean(floor))
    ds, di = beta[:, :-1] - beta_ols[:, :-1], beta[:, -1] - beta_ols[:, -1]
    rel = np.linalg.norm(ds, axis=1) / np.maximum(np.linalg.norm(beta_ols[:, :-1], axis=1), 1e-300)
    mean_excess = float(np.mean(excess))
    # noise-free data: the floor is rounding error (relative to y's spread), and a percentage of it is noise
    floor_is_zero = mean_floor <= 1e-12 * float(np.mean(np.var(b.y, axis=1)))
    return {
        "loss": float(np.mean(loss)),
        "floor": mean_floor,
        "excess_mean": mean_excess,
        "excess_p95": float(np.quantile(excess, 0.95)) if not n_bad else math.nan,
        "excess_pct": None if floor_is_zero else 100.0 * mean_excess / mean_floor,
        "slope_err_rms": float(np.sqrt(np.mean(ds * ds))),
        "intercept_err_rms": float(np.sqrt(np.mean(di * di))),
        "slope_rel_err_median": float(np.median(rel)),
        "n_nonfinite": n_bad,
    }


def _row(
    name: str, kind: str, family: str, key: str, cond: Condition, m: Mapping[str, Any]
) -> dict[str, Any]:
    factor, value = (None, None) if key == SEED_KEY else key.split("=", 1)
    return {
        "name": name,
        "kind": kind,
        "family": family,
        "condition": key,
        "factor": factor,
        "value": value,
        **cond.as_dict(),
        **{c: m[c] for c in METRIC_COLUMNS},
    }


class Evaluation:
    """The held-out datasets of every condition with their OLS fits, computed once per job."""

    def __init__(self, seed: int, factors: Mapping[str, Sequence[Any]], m: int, max_rows: int | None = None):
        self.conditions = conditions(factors)
        # a condition of many rows gets fewer datasets (at most max_rows rows in all, at least one dataset)
        self.m = {
            k: m if max_rows is None else max(1, min(m, max_rows // c.n)) for k, c in self.conditions.items()
        }
        self.batches = {k: held_out(seed, k, c, self.m[k]) for k, c in self.conditions.items()}
        self.ols = {k: batched.ols(b.X, b.y) for k, b in self.batches.items()}
        self.floor = {k: batched.mse(b.X, b.y, self.ols[k]) for k, b in self.batches.items()}

    @classmethod
    def from_config(cls, evaluation: Mapping[str, Any], seed: int) -> Evaluation:
        """The evaluation config ``amortized.evaluation``: ``factors``, ``m``, ``max_rows``."""
        return cls(
            seed, evaluation.get("factors", {}), int(evaluation.get("m", 1000)), evaluation.get("max_rows")
        )

    @staticmethod
    def max_flops(evaluation: Mapping[str, Any]) -> float | None:
        v = evaluation.get("max_flops")
        return None if v is None else float(v)

    def affordable(self, flops_per_dataset, max_flops: float | None) -> dict[str, str]:
        """The conditions an encoder is *not* evaluated on, with why: its forward passes there
        (``flops_per_dataset(n)`` times the condition's datasets) would exceed ``max_flops``."""
        out = {}
        for key, b in self.batches.items():
            cost = flops_per_dataset(b.X.shape[1]) * len(b.X)
            if max_flops is not None and cost > max_flops:
                out[key] = (
                    f"not evaluated: {cost:.2g} FLOPs for its {len(b.X)} datasets > max_flops {max_flops:.2g}"
                )
        return out

    def table(self, name: str, kind: str, family: str, coefficients, skip=()) -> pd.DataFrame:
        """One row per condition (but those in ``skip``): the metrics of ``coefficients(X, y) -> beta``."""
        betas = {k: coefficients(b.X, b.y) for k, b in self.batches.items() if k not in skip}
        return self.table_of(name, kind, family, betas)

    def table_of(self, name: str, kind: str, family: str, betas: Mapping[str, np.ndarray]) -> pd.DataFrame:
        """One row per condition in ``betas``: the metrics of the coefficients ``betas[condition]``."""
        rows = []
        for key, b in self.batches.items():
            if key not in betas:
                continue
            beta = np.asarray(betas[key], dtype=np.float64)
            rows.append(
                _row(
                    name,
                    kind,
                    family,
                    key,
                    self.conditions[key],
                    metrics(b, beta, self.floor[key], self.ols[key]),
                )
            )
        return pd.DataFrame(rows, columns=EVAL_COLUMNS)

    def permutation_change(self, coefficients, shuffles: int, rng: np.random.Generator) -> dict[str, float]:
        """Largest change of beta over ``shuffles`` shuffles of each seed-condition dataset's rows, relative
        to |beta|: max and median over datasets."""
        b = self.batches[SEED_KEY]
        base = np.asarray(coefficients(b.X, b.y), dtype=np.float64)
        worst = np.zeros(len(b.X))
        m, n = b.y.shape
        for _ in range(shuffles):
            perm = rng.permuted(np.tile(np.arange(n), (m, 1)), axis=1)
            beta = np.asarray(
                coefficients(np.take_along_axis(b.X, perm[..., None], 1), np.take_along_axis(b.y, perm, 1)),
                dtype=np.float64,
            )
            change = np.linalg.norm(beta - base, axis=1) / np.maximum(np.linalg.norm(base, axis=1), 1e-300)
            worst = np.maximum(worst, np.where(np.isfinite(change), change, np.inf))
        return {"max": float(np.max(worst)), "median": float(np.median(worst)), "shuffles": shuffles}

    def example(self) -> dict[str, Any]:
        """The first held-out seed-condition datasets (for figures), with their truth and OLS beta."""
        b = self.batches[SEED_KEY]
        return {
            "x": b.X[:EXAMPLES, :, :-1].tolist(),
            "y": b.y[:EXAMPLES].tolist(),
            "beta_true": b.beta[:EXAMPLES].tolist(),
            "beta_ols": self.ols[SEED_KEY][:EXAMPLES].tolist(),
        }


def reference_coefficients(name: str, X: np.ndarray, y: np.ndarray, truth: np.ndarray) -> np.ndarray:
    if name == "ols":
        return batched.ols(X, y)
    if name == "truth":
        return truth
    if name == "intercept_only":
        return batched.intercept_only(y, X.shape[2])
    if name == "zero":
        return np.zeros((X.shape[0], X.shape[2]))
    if name.startswith("gd_"):
        return batched.gradient_steps(X, y, int(name[3:]))
    raise ValueError(f"unknown reference '{name}'; expected one of {list(REFERENCES)}")


def evaluate_references(ev: Evaluation) -> pd.DataFrame:
    frames = []
    for name in REFERENCES:
        rows = []
        for key, b in ev.batches.items():
            beta = reference_coefficients(name, b.X, b.y, b.beta)
            rows.append(
                _row(
                    name,
                    "reference",
                    "reference",
                    key,
                    ev.conditions[key],
                    metrics(b, beta, ev.floor[key], ev.ols[key]),
                )
            )
        frames.append(pd.DataFrame(rows, columns=EVAL_COLUMNS))
    return pd.concat(frames, ignore_index=True)


def training_batch(
    frame: pd.DataFrame, features: Sequence[str], target: str, truth: Mapping[str, Any] | None
) -> Batch:
    """The seed's fixed training datasets from the ``amortized`` dataset artifact (one row per
    observation)."""
    t = (truth or {}).get(target, {})
    return from_frame_arrays(
        frame[list(features)].to_numpy(),
        frame[target].to_numpy(),
        frame["group"].to_numpy(),
        t.get("coef_by_group"),
        t.get("noise_sd_by_group"),
    )


def none_if_nan(v: Any) -> Any:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def run_references(*, evaluation: Mapping[str, Any], seed: int) -> tuple[dict[str, Any], pd.DataFrame]:
    ev = Evaluation.from_config(evaluation, seed)
    table = evaluate_references(ev)
    seed_rows = table[table["condition"] == SEED_KEY].set_index("name")
    by_cond = {
        key: {r["name"]: {c: none_if_nan(r[c]) for c in METRIC_COLUMNS} for _, r in sub.iterrows()}
        for key, sub in table.groupby("condition", sort=False)
    }
    doc = {
        "references": {n: {c: none_if_nan(seed_rows.loc[n, c]) for c in METRIC_COLUMNS} for n in REFERENCES},
        "by_condition": by_cond,
        "conditions": {k: c.as_dict() for k, c in ev.conditions.items()},
        "datasets_by_condition": dict(ev.m),
        # the floor's own fits, per condition, in the result vocabulary (rank, claimed digits, residual SD)
        "floor_fits": {k: batched.fit_summary(b.X, b.y, ev.ols[k]) for k, b in ev.batches.items()},
        "m": int(evaluation.get("m", 1000)),
        "example": ev.example(),
    }
    return doc, table


# --------------------------------------------------------------------------- merging


def _purely_learned(doc: Mapping[str, Any]) -> bool:
    """An encoder whose answer is the network's alone (no hand-coded gradient steps or refinement)."""
    return doc["kind"] != "unrolled" and not doc["spec"]["encoder"].get("refine")


def summarize(
    encoders: Mapping[str, Mapping[str, Any]], references: Mapping[str, Any], tables: Sequence[pd.DataFrame]
) -> tuple[dict[str, Any], pd.DataFrame]:
    """The evaluation table of every encoder and reference, and the study's summary: the seed-condition
    numbers of each, and the best learned encoder (the lowest mean loss at the seed's setting among the
    trained encoders that hard-code no iteration: not ``unrolled``, no ``refine`` passes)."""
    table = pd.concat(list(tables), ignore_index=True)
    learned = {n: d for n, d in encoders.items() if _purely_learned(d) and math.isfinite(d["eval_loss"])}
    best = min(learned, key=lambda n: learned[n]["eval_loss"]) if learned else None
    refs = references["references"]
    summary = {
        "ols_floor_loss": refs["ols"]["loss"],
        "intercept_only_loss": refs["intercept_only"]["loss"],
        "zero_loss": refs["zero"]["loss"],
        "truth_loss": refs["truth"]["loss"],
        "best_encoder": best,
        "best_encoder_loss": learned[best]["eval_loss"] if best else None,
        "best_encoder_excess_pct": learned[best]["excess_pct"] if best else None,
        "encoders": {
            n: {
                k: d[k] for k in ("kind", "params", "train_seconds", "eval_loss", "excess_pct", "permutation")
            }
            for n, d in sorted(encoders.items())
        },
        "conditions": references["conditions"],
    }
    return summary, table
