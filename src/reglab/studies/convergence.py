"""Convergence studies: Keras optimizers x learning rates x batch sizes x dtypes, reference solvers,
and theory (Hessian spectrum, predicted step counts, float floors, implicit bias) beside them.

benchopt's shape: one tidy table with a row per curve point (``curves``) and a JSON summary per
study. A study runs as jobs: one per group of Keras configurations (:func:`run_group`, the grid cut by
the study's ``group_by``, see :mod:`reglab.studies.grid`), one for the reference solvers and theory
(:func:`run_references`), and :func:`merge`, which builds the study's table and summary from them
exactly as one job would (:func:`run_study` does all three in one process). Every Keras run of a study
is seeded by the study's name, never by its position in a group. Importing this module does not import
TensorFlow.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from reglab.core.rng import derive_seed, generator
from reglab.core.select import keyed_runs  # noqa: F401  (part of this module's API for summaries)
from reglab.core.stats import divergence, mse, thin_positions
from reglab.data.datasets import Dataset
from reglab.linalg import reference_solvers as ref
from reglab.linalg import theory
from reglab.linalg.lsq.design import design_matrix
from reglab.studies.grid import (
    OPTIMIZERS,
    Variant,
    configurations,
    group_by,
    group_entry,
    group_id,
    groups,
    reference_entry,
    variants,
)
from reglab.training.keras_runs import Scaling, references
from reglab.training.keras_train import FitSpec, initial_parameters, train

#: Reference solvers a study may ask for (``reference_solvers``), in the order they are run.
REFERENCE_SOLVERS = ("gd", "cg", "lbfgs", "sgd_averaged", "sklearn_sgd")
#: Tolerance metrics (``tolerance.metric``): the training MSE, or the relative coefficient error.
TOLERANCE_METRICS = ("mse", "rel_coef_error")
MAX_CURVE_POINTS = 600
#: Epochs at which full-batch SGD runs record measured and predicted loss (when reached).
CHECKPOINTS = (100, 1000, 10_000, 20_000, 100_000)
CURVE_COLUMNS = [
    "study",
    "solver",
    "family",
    "learning_rate",
    "batch_size",
    "dtype",
    "standardize",
    "repeat",
    "epoch",
    "seconds",
    "loss",
    "dist_closed_form",
    "dist_min_norm",
    "rel_coef_error",
]


def time_to_tolerance(
    epochs: np.ndarray, values: np.ndarray, seconds: np.ndarray, tol: float
) -> dict[str, Any]:
    """First epoch (and seconds) where ``values <= tol``; else where it stalled: best value and its epoch."""
    finite = np.isfinite(values)
    hit = np.flatnonzero(finite & (values <= tol))
    best = int(np.nanargmin(np.where(finite, values, np.nan))) if finite.any() else None
    return {
        "reached": bool(hit.size),
        "epochs": int(epochs[hit[0]]) if hit.size else None,
        "seconds": float(seconds[hit[0]]) if hit.size else None,
        "best": float(values[best]) if best is not None else None,
        "best_epoch": int(epochs[best]) if best is not None else None,
        "final": float(values[-1]) if len(values) else None,
    }


def thin(frame: pd.DataFrame, max_points: int = MAX_CURVE_POINTS) -> pd.DataFrame:
    """Keep at most ``max_points`` rows of one curve (:func:`reglab.core.stats.thin_positions`)."""
    return frame if len(frame) <= max_points else frame.iloc[thin_positions(len(frame), max_points)]


def update_ulp_ratio(
    A: np.ndarray, b: np.ndarray, w: np.ndarray, lr: float, dtype: str, batch_size: int | None = None
) -> float:
    """Median over weights (and consecutive batches) of |lr * gradient_i| / (half an ulp of w_i in ``dtype``),
    at ``w``.

    Below 1, a step rounds back to the same weight in that dtype: the update is lost, and
    training stalls however far the loss is from its floor. ``batch_size`` uses the batch
    gradients (batch mean, as Keras) of consecutive row blocks instead of the full gradient.
    """
    n = len(b)
    size = n if batch_size is None else min(int(batch_size), n)
    r = A @ w - b
    grads = [(2.0 / len(r[i : i + size])) * (A[i : i + size].T @ r[i : i + size]) for i in range(0, n, size)]
    half_ulp = np.spacing(np.abs(w).astype(dtype)).astype(np.float64) / 2
    return float(np.median(np.abs(lr * np.array(grads)) / half_ulp))


@dataclasses.dataclass
class Problem:
    """One parametrization of the study's least-squares problem (raw or standardized features)."""

    standardize: bool
    A: np.ndarray  # (n, p) design incl. the intercept column when fitted
    b: np.ndarray  # (n,)
    X: np.ndarray  # (n, f) features in the trained parametrization
    w_cf: np.ndarray  # closed-form (recommended) solution, trained parametrization
    w_mn: np.ndarray  # minimum-norm solution
    spectrum: theory.Spectrum

    def metric(self, kind: str, losses: np.ndarray, dist_cf: np.ndarray) -> np.ndarray:
        return losses if kind == "mse" else dist_cf / np.linalg.norm(self.w_cf)


def _problem(data: Dataset, closed: Mapping[str, Any], *, standardize: bool, use_bias: bool) -> Problem:
    X = data.X("train")
    scaling = Scaling.fit(X) if standardize else Scaling.identity(X.shape[1])
    Xt = scaling.apply(X)
    spec = FitSpec(model="linear", epochs=1, learning_rate=1.0, use_bias=use_bias)
    refs = references(closed, data.target, spec, data.features, scaling)
    A = design_matrix(Xt, use_bias)
    return Problem(
        standardize,
        A,
        data.y(split="train"),
        Xt,
        refs["closed_form"],
        refs["min_norm"],
        theory.hessian_spectrum(A),
    )


def _curve(
    study: str,
    solver: str,
    family: str,
    lr: float | None,
    bs: int | None,
    dtype: str,
    standardize: bool,
    repeat: int,
    epochs: np.ndarray,
    seconds: np.ndarray,
    loss: np.ndarray,
    dist_cf: np.ndarray,
    dist_mn: np.ndarray,
    w_cf_norm: float,
) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "epoch": epochs,
            "seconds": seconds,
            "loss": loss,
            "dist_closed_form": dist_cf,
            "dist_min_norm": dist_mn,
            "rel_coef_error": dist_cf / w_cf_norm,
        }
    )
    frame = thin(frame)
    for col, value in (
        ("study", study),
        ("solver", solver),
        ("family", family),
        ("learning_rate", lr),
        ("batch_size", -1 if bs is None else bs),
        ("dtype", dtype),
        ("standardize", standardize),
        ("repeat", repeat),
    ):
        frame[col] = value
    return frame[CURVE_COLUMNS]


def _problems(
    data: Dataset, closed: Mapping[str, Any], standardize: Iterable[bool], *, use_bias: bool
) -> dict[bool, Problem]:
    """One :class:`Problem` per feature scaling, in the order given."""
    return {s: _problem(data, closed, standardize=s, use_bias=use_bias) for s in standardize}


def _configuration_runs(
    name: str,
    v: Variant,
    entry: Mapping[str, Any],
    data: Dataset,
    prob: Problem,
    *,
    seed: int,
    threads: int | None,
) -> tuple[list[pd.DataFrame], list[dict[str, Any]]]:
    """The curves and run records of one Keras configuration (all its repeats)."""
    curves, runs = [], []
    tol, kind = entry["tolerance"]["value"], entry["tolerance"]["metric"]
    # seeded by the study, as all its configurations: comparisons inside a study are paired
    run_seed = derive_seed(seed, "convergence", name)
    opt, options = OPTIMIZERS[v.optimizer]
    spec = FitSpec(
        model="linear",
        epochs=v.epochs,
        learning_rate=v.learning_rate,
        optimizer=opt,
        optimizer_options=options,
        batch_size=v.batch_size,
        dtype=v.dtype,
        use_bias=entry["use_bias"],
        initializer=entry["initializer"],
        repeats=entry["repeats"],
    )
    refs = {"closed_form": prob.w_cf, "min_norm": prob.w_mn}
    for res in train(
        spec, prob.X, prob.b, seed=run_seed, feature_names=data.features, references=refs, threads=threads
    ):
        h = res.history
        epochs, secs = h["epoch"].to_numpy(), h["seconds"].to_numpy()
        loss = h["loss_end"].to_numpy(np.float64)
        dcf, dmn = h["dist_closed_form"].to_numpy(), h["dist_min_norm"].to_numpy()
        w_final = np.append(res.coef, res.intercept) if spec.use_bias else np.asarray(res.coef)
        w_final = w_final.astype(np.float64)
        # one definition of divergence (reglab.core.stats.divergence): the loss against the zero model's
        div_epoch, nonfinite = divergence(
            loss, float(np.mean(prob.b * prob.b)), stopped_at=res.diverged_epoch if res.diverged else None
        )
        diverged = div_epoch is not None
        record = {
            "solver": v.solver,
            "family": "keras",
            **dataclasses.asdict(v),
            "repeat": res.repeat,
            "diverged": diverged,
            "diverged_epoch": div_epoch,
            "nonfinite_epoch": nonfinite,
            "epochs_run": res.epochs_run,
            "seconds": res.seconds,
            "final_loss_float64": mse(prob.A @ w_final - prob.b) if np.all(np.isfinite(w_final)) else None,
            "final_rel_coef_error": float(dcf[-1] / np.linalg.norm(prob.w_cf)) if len(dcf) else None,
            "time_to_tolerance": time_to_tolerance(epochs, prob.metric(kind, loss, dcf), secs, tol),
            "w_final": w_final.tolist() if w_final.size <= 50 else None,
        }
        w0 = initial_parameters(spec, prob.X.shape[1], seed=run_seed, repeat=res.repeat)
        record["implicit_bias_distance"] = (
            None
            if diverged or not np.all(np.isfinite(w_final))
            else float(np.linalg.norm(theory.implicit_bias_limit(prob.A, prob.b, w0) - w_final))
        )
        if v.optimizer == "sgd" and np.all(np.isfinite(w_final)):
            record["update_ulp_ratio"] = update_ulp_ratio(
                prob.A, prob.b, w_final, v.learning_rate, v.dtype, v.batch_size
            )
        if v.optimizer == "sgd" and v.batch_size is None:
            # a full-batch Keras SGD epoch is one gradient-descent step: theory predicts its loss exactly
            checks = np.array(sorted({k for k in CHECKPOINTS if k <= res.epochs_run} | {res.epochs_run}))
            predicted = theory.gd_loss_curve(prob.A, prob.b, w0, v.learning_rate, checks)
            measured = h.set_index("epoch")["loss_end"]
            record["loss_at"] = {int(k): float(measured.get(k, np.nan)) for k in checks}
            record["predicted_loss_at"] = {int(k): float(x) for k, x in zip(checks, predicted)}
            if kind == "mse":
                record["predicted_steps"] = theory.predicted_gd_steps(
                    prob.A, prob.b, w0, v.learning_rate, tol
                )
        wcols = [c for c in h.columns if c.startswith("w_")]
        if v.batch_size is not None and wcols and len(h) >= 2:
            iterates = h[wcols].to_numpy(np.float64)
            for label, avg in (
                ("polyak", theory.polyak_average(iterates)),
                ("tail", theory.polyak_average(iterates, tail=True)),
            ):
                record[f"rel_coef_error_{label}"] = theory.relative_coef_error(avg, prob.w_cf)
        runs.append(record)
        curves.append(
            _curve(
                name,
                v.solver,
                "keras",
                v.learning_rate,
                v.batch_size,
                v.dtype,
                v.standardize,
                res.repeat,
                epochs,
                secs,
                loss,
                dcf,
                dmn,
                float(np.linalg.norm(prob.w_cf)),
            )
        )
    return curves, runs


def _trace_rows(
    name: str,
    trace: ref.SolverTrace,
    prob: Problem,
    *,
    family: str,
    lr: float | None,
    bs: int | None,
    tol: float,
    kind: str,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    steps = np.asarray(trace.steps)
    losses = np.asarray(trace.losses, dtype=np.float64)
    if trace.weights is not None:
        W = np.asarray(trace.weights)
        dcf, dmn = np.linalg.norm(W - prob.w_cf, axis=1), np.linalg.norm(W - prob.w_mn, axis=1)
    else:
        dcf = dmn = np.full(len(steps), np.nan)
        dcf[-1] = np.linalg.norm(trace.w_final - prob.w_cf)
        dmn[-1] = np.linalg.norm(trace.w_final - prob.w_mn)
    curve = _curve(
        name,
        trace.name,
        family,
        lr,
        bs,
        "float64",
        prob.standardize,
        0,
        steps,
        np.asarray(trace.seconds),
        losses,
        dcf,
        dmn,
        float(np.linalg.norm(prob.w_cf)),
    )
    w = np.asarray(trace.w_final, dtype=np.float64)
    div_epoch, nonfinite = divergence(losses, float(np.mean(prob.b * prob.b)))
    diverged = (
        bool(trace.extra.get("diverged"))
        or div_epoch is not None
        or not np.all(np.isfinite(w))
        or not np.isfinite(mse(prob.A @ w - prob.b))
    )
    record = {
        "solver": trace.name,
        "family": family,
        "learning_rate": lr,
        "batch_size": bs,
        "dtype": "float64",
        "standardize": prob.standardize,
        "repeat": 0,
        "epochs_run": int(steps[-1]) if len(steps) else 0,
        "seconds": float(trace.seconds[-1]) if len(trace.seconds) else 0.0,
        "diverged": diverged,
        "diverged_epoch": div_epoch,
        "nonfinite_epoch": nonfinite,
        "final_loss_float64": None if diverged else mse(prob.A @ w - prob.b),
        "final_rel_coef_error": theory.relative_coef_error(w, prob.w_cf) if np.all(np.isfinite(w)) else None,
        "time_to_tolerance": time_to_tolerance(
            steps, prob.metric(kind, losses, dcf), np.asarray(trace.seconds), tol
        )
        if trace.weights is not None or kind == "mse"
        else None,
        "w_final": w.tolist() if w.size <= 50 else None,
        "extra": {k: v for k, v in trace.extra.items() if np.ndim(v) == 0 or np.size(v) <= 50},
    }
    if trace.weights is not None and len(steps) > 3:
        # stationary fluctuation of the iterates: sd over the logged iterates of the second half of the run
        tail = np.asarray(trace.weights)[steps > steps[-1] / 2]
        record["iterate_sd_tail"] = tail.std(axis=0).tolist() if len(tail) > 1 else None
    return curve, record


def _reference_runs(
    name: str, entry: Mapping[str, Any], problems: dict[bool, Problem], *, seed: int
) -> tuple[list[pd.DataFrame], list[dict[str, Any]]]:
    curves, runs = [], []
    tol, kind = entry["tolerance"]["value"], entry["tolerance"]["metric"]
    wanted = entry["reference_solvers"]
    epochs = int(entry["epochs_full_batch"] or entry["epochs"])
    for prob in problems.values():
        p = prob.A.shape[1]
        w0 = np.zeros(p)
        traces: list[tuple[ref.SolverTrace, str, float | None, int | None]] = []
        if "gd" in wanted:
            eta = 1.0 / prob.spectrum.lambda_max
            traces.append((ref.gradient_descent(prob.A, prob.b, w0, eta, epochs), "reference", eta, None))
        if "cg" in wanted:
            traces.append(
                (ref.conjugate_gradient(prob.A, prob.b, min(epochs, 20 * p)), "reference", None, None)
            )
        if "lbfgs" in wanted:
            traces.append((ref.lbfgs(prob.A, prob.b, w0, min(epochs, 2000)), "reference", None, None))
        # the study's smallest batch (the full batch when it has none) and smallest learning rate
        bs = len(prob.b) if entry["sgd_batch_size"] is None else entry["sgd_batch_size"]
        lr = entry["sgd_learning_rate"]
        if "sgd_averaged" in wanted:
            rng = generator(seed, "convergence", name, "sgd_averaged", int(prob.standardize))
            traces.append(
                (
                    ref.sgd_numpy(prob.A, prob.b, w0, lr, bs, entry["epochs"], rng, averaging=True),
                    "reference",
                    lr,
                    bs,
                )
            )
        if "sklearn_sgd" in wanted:
            traces.append(
                (
                    ref.sklearn_sgd(
                        prob.X,
                        prob.b,
                        intercept=entry["use_bias"],
                        eta0=2 * lr,
                        epochs=entry["epochs"],
                        rng_seed=derive_seed(seed, "convergence", name, "sklearn"),
                    ),
                    "reference",
                    lr,
                    bs,
                )
            )
        for trace, family, lr_, bs_ in traces:
            curve, record = _trace_rows(name, trace, prob, family=family, lr=lr_, bs=bs_, tol=tol, kind=kind)
            curves.append(curve)
            runs.append(record)
    return curves, runs


def _article_runs(
    name: str, article: Mapping[str, Any], problems: dict[bool, Problem], *, seed: int, tol: float, kind: str
) -> tuple[list[pd.DataFrame], list[dict[str, Any]]]:
    """Seed 004's own algorithms as printed (sum-of-squares loss, w0 = ones), on raw and standardized
    features."""
    curves, runs = [], []
    for prob in problems.values():
        w0 = np.ones(prob.A.shape[1])
        gd = ref.article_gd(prob.A, prob.b, w0, article["gd_eta"], article["steps"])
        rng = generator(seed, "convergence", name, "article_sgd", int(prob.standardize))
        sgd = ref.article_sgd(
            prob.A, prob.b, w0, article["sgd_eta"], article["sgd_batch"], article["steps"], rng
        )
        for trace, lr, bs in ((gd, article["gd_eta"], None), (sgd, article["sgd_eta"], article["sgd_batch"])):
            curve, record = _trace_rows(name, trace, prob, family="article", lr=lr, bs=bs, tol=tol, kind=kind)
            curves.append(curve)
            runs.append(record)
    return curves, runs


def run_group(
    name: str,
    group: str,
    entry: Mapping[str, Any],
    data: Dataset,
    closed: Mapping[str, Any],
    *,
    seed: int,
    threads: int | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The Keras runs of one group of study ``name`` (``entry``: :func:`reglab.studies.grid.group_entry`).

    Returns the group's curve rows and a document with, per configuration in order, its curve row count
    and its run records: what :func:`merge` puts back into the study's order.
    """
    members = configurations(entry)
    problems = _problems(
        data, closed, dict.fromkeys(v.standardize for v in members), use_bias=entry["use_bias"]
    )
    curves: list[pd.DataFrame] = []
    rows, runs = [], []
    for v in members:
        c, r = _configuration_runs(name, v, entry, data, problems[v.standardize], seed=seed, threads=threads)
        curves += c
        rows.append(int(sum(len(f) for f in c)))
        runs.append(r)
    doc = {
        "study": name,
        "group": group,
        "dataset": data.name,
        "configurations": [dataclasses.asdict(v) for v in members],
        "curve_rows": rows,
        "runs": runs,
    }
    return pd.concat(curves, ignore_index=True), doc


def run_references(
    name: str, entry: Mapping[str, Any], data: Dataset, closed: Mapping[str, Any], *, seed: int
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Study ``name``'s reference solvers, seed 004's article runs and its theory (``entry``:
    :func:`reglab.studies.grid.reference_entry`); the document carries the summary's study-level keys."""
    tol, kind = entry["tolerance"]["value"], entry["tolerance"]["metric"]
    problems = _problems(data, closed, entry["standardize"], use_bias=entry["use_bias"])
    curves, runs = _reference_runs(name, entry, problems, seed=seed)
    if entry.get("article"):
        c3, r3 = _article_runs(name, entry["article"], problems, seed=seed, tol=tol, kind=kind)
        curves += c3
        runs += r3
    theory_doc = {}
    for s, prob in problems.items():
        doc: dict[str, Any] = {
            "spectrum": prob.spectrum.as_dict(),
            "w_closed_form": prob.w_cf.tolist() if prob.w_cf.size <= 50 else None,
            "w_min_norm": prob.w_mn.tolist() if prob.w_mn.size <= 50 else None,
        }
        for dt in sorted(set(entry["dtypes"]) - {"float64"}):
            doc[f"float_floor_{dt}"] = theory.float_floor(prob.A, prob.b, prob.w_mn, dt)
        doc["float_floor_float64"] = theory.float_floor(prob.A, prob.b, prob.w_mn, "float64")
        theory_doc["standardized" if s else "raw"] = doc
    summary = {
        "study": name,
        "dataset": data.name,
        "tolerance": dict(entry["tolerance"]),
        "use_bias": entry["use_bias"],
        "features": data.features,
        "n": len(problems[next(iter(problems))].b),
        "theory": theory_doc,
        "runs": runs,
    }
    return pd.concat(curves, ignore_index=True), summary


def merge(
    name: str,
    study: Mapping[str, Any],
    parts: Sequence[tuple[pd.DataFrame, Mapping[str, Any]]],
    references: tuple[pd.DataFrame, Mapping[str, Any]],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Study ``name``'s curve table and summary from its groups' (:func:`run_group`) and references'
    (:func:`run_references`) outputs: the Keras runs in grid order, then references, as one job writes them.

    Refuses a group missing, extra, or computed for other configurations than ``study`` now declares.
    """
    expected = groups(study)
    by_group = {doc["group"]: (curves, doc) for curves, doc in parts}
    if set(by_group) != set(expected):
        raise ValueError(f"study '{name}': groups {sorted(by_group)} given, its grid has {sorted(expected)}")
    pending: dict[str, list[tuple[pd.DataFrame, list[dict[str, Any]]]]] = {}
    for gid, members in expected.items():
        curves, doc = by_group[gid]
        if configurations(doc) != members:
            raise ValueError(
                f"study '{name}': group '{gid}' holds other configurations than the study declares"
            )
        ends = np.cumsum(doc["curve_rows"])
        if len(curves) != (ends[-1] if len(ends) else 0):
            raise ValueError(
                f"study '{name}': group '{gid}' has {len(curves)} curve rows, its document {ends[-1]}"
            )
        pending[gid] = [
            (curves.iloc[end - k : end], runs) for k, end, runs in zip(doc["curve_rows"], ends, doc["runs"])
        ]
    frames: list[pd.DataFrame] = []
    runs: list[dict[str, Any]] = []
    fields = group_by(study)
    for v in variants(study):
        c, r = pending[group_id(v, fields)].pop(0)
        frames.append(c)
        runs += r
    ref_curves, ref_doc = references
    summary = {k: v for k, v in ref_doc.items() if k != "produced_by"}
    summary["runs"] = runs + list(ref_doc["runs"])
    return pd.concat([*frames, ref_curves], ignore_index=True), summary


def run_study(
    name: str,
    study: Mapping[str, Any],
    data: Dataset,
    closed: Mapping[str, Any],
    *,
    seed: int,
    threads: int | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Run one study in one process (its groups, its references, the merge); return its tidy curve table and
    its JSON summary (keys in docs/results.md)."""
    parts = [
        run_group(name, gid, group_entry(study, gid), data, closed, seed=seed, threads=threads)
        for gid in groups(study)
    ]
    return merge(name, study, parts, run_references(name, reference_entry(study), data, closed, seed=seed))
