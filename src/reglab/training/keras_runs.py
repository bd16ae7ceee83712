"""The Keras stage: turn config runs into :func:`reglab.training.keras_train.train` calls and tidy artifacts.

One job trains one config run (:func:`run_one`, all its repeats) and one job per dataset puts the runs'
histories into one table (:func:`merge_histories`). Every run of a dataset is seeded by the dataset, never
by the run or its job, so runs on one dataset start from the same initialisations. References (closed-form
and minimum-norm solutions, logistic MLE) are read from the closed-form artifact, never recomputed here.
Importing this module does not import TensorFlow.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from reglab.core.rng import derive_seed
from reglab.core.stats import bce, divergence, mse
from reglab.data.datasets import Dataset
from reglab.training.keras_train import FitResult, FitSpec, train

#: Keys of a run entry in config that are not FitSpec fields.
RUN_ONLY_KEYS = ("dataset", "target", "standardize")


def fit_spec(run: Mapping[str, Any]) -> FitSpec:
    """The :class:`FitSpec` a config run describes (unknown keys are an error)."""
    fields = {f.name for f in dataclasses.fields(FitSpec)}
    extra = set(run) - fields - set(RUN_ONLY_KEYS)
    if extra:
        raise ValueError(f"keras run has unknown key(s) {sorted(extra)}; expected some of {sorted(fields)}")
    kwargs = {k: v for k, v in run.items() if k in fields}
    if "hidden" in kwargs:
        kwargs["hidden"] = tuple(kwargs["hidden"])
    if "optimizer_options" in kwargs:
        kwargs["optimizer_options"] = dict(kwargs["optimizer_options"])
    return FitSpec(**kwargs)


@dataclasses.dataclass(frozen=True)
class Scaling:
    """Column standardization fitted on the training rows: x_std = (x - mean) / scale."""

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def identity(cls, p: int) -> Scaling:
        return cls(np.zeros(p), np.ones(p))

    @classmethod
    def fit(cls, X: np.ndarray) -> Scaling:
        scale = X.std(axis=0)
        if np.any(scale == 0):
            raise ValueError("cannot standardize a constant column")
        return cls(X.mean(axis=0), scale)

    def apply(self, X: np.ndarray) -> np.ndarray:
        return (X - self.mean) / self.scale

    def to_trained(self, w: np.ndarray, b: float | None) -> tuple[np.ndarray, float | None]:
        """Raw-unit parameters -> the standardized parametrization the network trains."""
        return w * self.scale, (None if b is None else b + float(w @ self.mean))

    def to_raw(self, w: np.ndarray, b: float | None) -> tuple[np.ndarray, float | None]:
        """Trained (standardized) parameters -> raw units."""
        w_raw = w / self.scale
        return w_raw, (None if b is None else b - float(w_raw @ self.mean))


def _vector(fit: Mapping[str, Any], features: list[str], use_bias: bool) -> np.ndarray | None:
    if fit.get("status") != "ok" or fit.get("coef") is None:
        return None
    values = [fit["coef"][f] for f in features]
    if use_bias:
        values.append(fit.get("intercept") or 0.0)
    return np.array(values, dtype=float)


def references(
    closed: Mapping[str, Any], target: str, spec: FitSpec, features: list[str], scaling: Scaling
) -> dict[str, np.ndarray]:
    """Reference parameter vectors in the trained parametrization, from the closed-form artifact.

    Linear models: ``closed_form`` (the recommended answer) and ``min_norm`` (SVD/lstsq);
    without a bias on a dataset fitted with one, the artifact's no-intercept fits are used.
    Logistic: ``mle`` when the MLE exists. MLPs: none.
    """
    if spec.is_mlp:
        return {}
    entry = closed["targets"][target]
    if spec.model == "logistic":
        logistic = entry.get("logistic") or {}
        fit = (logistic.get("solvers") or {}).get("statsmodels_logit", {})
        pairs = {"mle": fit} if logistic.get("mle_exists") else {}
    else:
        ls = (
            entry["least_squares"]
            if spec.use_bias == closed["intercept"]
            else entry.get("least_squares_no_intercept")
        )
        if ls is None:
            return {}
        pairs = {"closed_form": ls["solvers"][ls["recommended"]], "min_norm": ls["solvers"]["lstsq"]}
    out = {}
    for name, fit in pairs.items():
        vec = _vector(fit, features, spec.use_bias)
        if vec is None:
            continue
        w, b = scaling.to_trained(vec[: len(features)], vec[-1] if spec.use_bias else None)
        out[name] = np.append(w, b) if spec.use_bias else w
    return out


def _float64_loss(spec: FitSpec, X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float | None) -> float:
    """The final weights' training loss recomputed in float64 (as the seed articles do with numpy)."""
    eta = X @ w.astype(np.float64) + (b or 0.0)
    return bce(eta, y) if spec.model == "logistic" else mse(eta - y)


def _repeat_record(
    spec: FitSpec,
    res: FitResult,
    features: list[str],
    scaling: Scaling,
    X: np.ndarray,
    y: np.ndarray,
    refs: Mapping[str, np.ndarray],
) -> dict[str, Any]:
    # one definition of divergence (reglab.core.stats.divergence), from the loss against the zero model's;
    # the trainer itself stops only where the loss or a weight became non-finite
    baseline = math.log(2.0) if spec.model in ("logistic", "mlp_classification") else float(np.mean(y * y))
    div_epoch, nonfinite = divergence(
        res.history["train_loss"].to_numpy(),
        baseline,
        stopped_at=res.diverged_epoch if res.diverged else None,
    )
    rec: dict[str, Any] = {
        "repeat": res.repeat,
        "seed": res.seed,
        "final_train_loss": res.final_train_loss,
        "final_val_loss": res.final_val_loss,
        "epochs_run": res.epochs_run,
        "diverged": div_epoch is not None,
        "diverged_epoch": div_epoch,
        "nonfinite_epoch": nonfinite,
        "divergence_baseline": baseline,
        "seconds": res.seconds,
        "optimizer_steps": res.optimizer_steps,
        "coef": None,
        "intercept": None,
        "final_mse_float64": None,
        "distance": {},
    }
    if res.coef is not None:
        w_t = np.asarray(res.coef, dtype=np.float64)
        w_raw, b_raw = scaling.to_raw(w_t, res.intercept)
        rec["coef"] = dict(zip(features, w_raw.tolist()))
        rec["intercept"] = b_raw
        rec["coef_trained"] = dict(zip(features, w_t.tolist()))
        rec["intercept_trained"] = res.intercept
        rec["final_mse_float64"] = (
            _float64_loss(spec, X, y, w_t, res.intercept) if np.all(np.isfinite(w_t)) else None
        )
        theta = np.append(w_t, res.intercept) if spec.use_bias else w_t
        rec["distance"] = {name: float(np.linalg.norm(theta - ref)) for name, ref in refs.items()}
    return rec


def _summary(records: list[dict[str, Any]], names: list[str]) -> dict[str, dict[str, float]]:
    """Median and 5-95% range over the repeats that did not diverge, per parameter (raw units)."""
    ok = [r for r in records if not r["diverged"] and r["coef"] is not None]
    if not ok:
        return {}
    table = np.array(
        [
            [
                *(r["coef"][f] for f in names if f != "intercept"),
                *([r["intercept"]] if "intercept" in names else []),
            ]
            for r in ok
        ],
        dtype=float,
    )
    q05, med, q95 = np.quantile(table, [0.05, 0.5, 0.95], axis=0)
    return {
        n: {"median": float(med[i]), "q05": float(q05[i]), "q95": float(q95[i])} for i, n in enumerate(names)
    }


def run_one(
    name: str,
    run: Mapping[str, Any],
    data: Dataset,
    closed: Mapping[str, Any],
    *,
    seed: int,
    threads: int | None = None,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Train one config run (all its repeats); return its JSON document and tidy history."""
    spec = fit_spec(run)
    target = run.get("target") or data.target
    if target not in data.targets:
        raise ValueError(
            f"keras run '{name}': target '{target}' is not a target of dataset '{data.name}' ({data.targets})"
        )
    X, y = data.X("train"), data.y(target, "train")
    scaling = Scaling.fit(X) if run.get("standardize") else Scaling.identity(X.shape[1])
    Xt = scaling.apply(X)
    X_val = y_val = None
    if data.has_split:
        if spec.validation_split:
            raise ValueError(
                f"keras run '{name}': dataset '{data.name}' has its own validation part; "
                "leave validation_split at 0"
            )
        X_val, y_val = scaling.apply(data.X("validation")), data.y(target, "validation")
    refs = references(closed, target, spec, data.features, scaling)
    # Seeded by dataset, not run name: runs on one dataset start from the same initialisations
    # (same architecture and dtype), so optimizer/batch/dtype comparisons are paired.
    run_seed = derive_seed(seed, "keras", data.name)
    results = train(
        spec,
        Xt,
        y,
        seed=run_seed,
        feature_names=data.features,
        X_val=X_val,
        y_val=y_val,
        references=refs,
        threads=threads,
    )
    records = [_repeat_record(spec, r, data.features, scaling, Xt, y, refs) for r in results]
    names = [*data.features, *(["intercept"] if spec.use_bias else [])]
    first = records[0]
    doc = {
        "run": name,
        "dataset": data.name,
        "target": target,
        "standardize": bool(run.get("standardize")),
        "spec": {**dataclasses.asdict(spec), "hidden": list(spec.hidden)},
        "seed": run_seed,
        "param_names": names if not spec.is_mlp else [],
        **{
            k: first[k]
            for k in (
                "coef",
                "intercept",
                "final_train_loss",
                "final_val_loss",
                "epochs_run",
                "diverged",
                "diverged_epoch",
                "nonfinite_epoch",
                "seconds",
                "final_mse_float64",
                "distance",
            )
        },
        # a batch larger than the data is full batch: say so rather than let it pass silently
        "batch_size_effective": len(y) if spec.batch_size is None else min(int(spec.batch_size), len(y)),
        "full_batch": spec.batch_size is None or int(spec.batch_size) >= len(y),
        "n_repeats": len(records),
        "n_diverged": sum(r["diverged"] for r in records),
        "references": {k: dict(zip(names, v.tolist())) for k, v in refs.items()},
        "summary": _summary(records, names) if not spec.is_mlp else {},
        "repeats": records,
    }
    frames = []
    for res in results:
        h = res.history.copy()
        h.insert(0, "repeat", res.repeat)
        h.insert(0, "run", name)
        frames.append(h)
    return doc, pd.concat(frames, ignore_index=True)


def merge_histories(histories: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """One dataset's history table from its runs' histories (:func:`run_one`), in the order given (run
    name)."""
    if not histories:
        raise ValueError("no run histories to merge")
    return pd.concat(histories, ignore_index=True)
