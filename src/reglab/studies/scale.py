"""Seed 001's large design: exact least squares streamed from disk, one statistic per shard job, merged in
a fixed order and solved; beside it Keras Adam streaming from the same files.

A dataset of kind ``large`` is written as shard files ``part-000.parquet`` … (one job each); a user
dataset with ``streaming: true`` is a Parquet file (``shards: k`` row-group ranges), a directory of
Parquet shards, or a CSV (one shard). Jobs: one statistic per shard (:func:`shard_stat`), a merge
(:func:`merge_shards`) that decides whether digits are at risk; only then a second scatter of one
refinement job per shard (:func:`refine_stat`, the TSQR pass); a solve (:func:`solve_merged`) that also
re-solves the whole source in one process: its wall time is the solve's (reading included), and its
answer must equal the merged shards'. (Keras Adam on the same files is :func:`reglab.training.streamed.
adam_runs`, scored here by :func:`score_adam`: nothing here imports TensorFlow, so these jobs' code digests
do not cover Keras code.)
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from reglab.core.provenance import peak_rss_mb
from reglab.data import large
from reglab.linalg import streaming
from reglab.linalg.lsq.digits import METRIC, lre
from reglab.linalg.lsq.result import coef_vector, from_streamed


def source_of(spec: Mapping[str, Any], first_input: str) -> str:
    """The source a streamed dataset is read from, given the first file its job reads: the shard folder
    for kind large, else the user's file or folder itself."""
    return str(Path(first_input).parent) if spec.get("kind") == "large" else str(first_input)


def parts_of(source: str, spec: Mapping[str, Any]) -> tuple[list[streaming.Part], list[str]]:
    shards = spec.get("shards") if spec.get("kind", "file") == "file" else None
    return streaming.source_parts(
        source,
        target=spec.get("target", "y"),
        features=spec.get("features"),
        chunk_rows=spec.get("chunk_rows"),
        shards=shards,
    )


def shard_count(spec: Mapping[str, Any]) -> int:
    return int(spec.get("shards") or 1)


def shard_stat(
    source: str, spec: Mapping[str, Any], index: int, threads: int | None = None
) -> dict[str, Any]:
    """The mergeable statistic of part ``index`` of the source (one shard job, on ``threads`` threads: the
    bits do not depend on them)."""
    t0 = time.perf_counter()
    parts, feats = parts_of(source, spec)
    if not 0 <= index < len(parts):
        raise ValueError(f"{source}: shard {index} of {len(parts)} parts does not exist")
    stat = streaming.accumulate_part(parts[index], features=feats, threads=threads)
    return {
        "shard": index,
        "parts": len(parts),
        "rows": int(stat.n),
        "features": feats,
        "seconds": time.perf_counter() - t0,
        "peak_rss_mb": peak_rss_mb(),
        "stat": stat.to_dict(),
    }


def merge_shards(shard_docs: Sequence[Mapping[str, Any]], *, threshold: float = 1e8) -> dict[str, Any]:
    """The merge job: combine the shard statistics in shard order and solve from the merged Gram. Says
    whether a second pass is needed (``needs_second_pass``, with the ``plan`` the refinement jobs use)."""
    docs = sorted(shard_docs, key=lambda s: s["shard"])
    feats = list(docs[0]["features"])
    t0 = time.perf_counter()
    stat = streaming.merge_in_order([streaming.GramStat.from_dict(s["stat"]) for s in docs])
    res = streaming.solve(stat, features=feats, threshold=threshold)
    needed = bool(res["k"] and res["needs_second_pass"])
    return {
        "features": feats,
        "shards": len(docs),
        "n": int(stat.n),
        "stat": stat.to_dict(),
        "needs_second_pass": needed,
        "plan": res["plan"],
        "why": res["why"],
        "first_pass_method": res["method"],
        "first_pass_digits": res["correct_digits_estimate"],
        "merge_seconds": time.perf_counter() - t0,
        "peak_rss_mb": peak_rss_mb(),
    }


def refine_stat(
    source: str, spec: Mapping[str, Any], index: int, plan: Mapping[str, Any], threads: int | None = None
) -> dict[str, Any]:
    """One refinement job of the optional second scatter: the TSQR statistic (R factor) of part ``index``,
    centred and scaled by the merge job's ``plan`` (on ``threads`` threads: the bits do not depend on
    them)."""
    t0 = time.perf_counter()
    parts, _ = parts_of(source, spec)
    if not 0 <= index < len(parts):
        raise ValueError(f"{source}: shard {index} of {len(parts)} parts does not exist")
    rstat = streaming.accumulate_r_part(parts[index], dict(plan), threads=threads)
    return {
        "shard": index,
        "rows": int(rstat.n),
        "seconds": time.perf_counter() - t0,
        "peak_rss_mb": peak_rss_mb(),
        "rstat": rstat.to_dict(),
    }


def solve_merged(
    source: str,
    spec: Mapping[str, Any],
    merged: Mapping[str, Any],
    shard_docs: Sequence[Mapping[str, Any]],
    refine_docs: Sequence[Mapping[str, Any]] = (),
    threads: int | None = None,
) -> dict[str, Any]:
    """The solve job: the merged statistic (and, when the merge job asked for it, the merged refinement
    statistics) solved, beside a timed single-process streaming solve of the same source (on ``threads``
    threads) that must agree."""
    docs = sorted(shard_docs, key=lambda s: s["shard"])
    refines = sorted(refine_docs, key=lambda s: s["shard"])
    feats = list(merged["features"])
    if merged["needs_second_pass"] and len(refines) != len(docs):
        raise ValueError(
            f"{source}: the merge job asked for a second pass over {len(docs)} shards, "
            f"but {len(refines)} refinement statistics were given"
        )
    stat = streaming.GramStat.from_dict(merged["stat"])
    rstat = (
        streaming.merge_in_order([streaming.RStat.from_dict(r["rstat"]) for r in refines])
        if merged["needs_second_pass"]
        else None
    )
    res = streaming.solve(stat, rstat=rstat, features=feats)
    parts, _ = parts_of(source, spec)
    single = streaming.solve_stream(parts, features=feats, threads=threads)
    merged_vec, single_vec = coef_vector(res, feats), coef_vector(single, feats)
    agree = float(np.max(np.abs(merged_vec - single_vec)) / max(np.max(np.abs(single_vec)), 1e-300))
    by_job = {
        "merge": merged["peak_rss_mb"],
        "solve": peak_rss_mb(),
        **{f"shard_{s['shard']}": s["peak_rss_mb"] for s in docs},
        **{f"refine_{r['shard']}": r["peak_rss_mb"] for r in refines},
    }
    doc = from_streamed({k: v for k, v in res.items() if k not in ("plan",)}, feats)
    doc.update(
        {
            "n": int(stat.n),
            "d": len(feats),
            "features": feats,
            "shards": len(docs),
            "second_scatter": bool(refines),
            "shard_seconds": [s["seconds"] for s in docs],
            "refine_seconds": [r["seconds"] for r in refines],
            "merge_seconds": merged["merge_seconds"],
            "seconds": single["seconds"],
            "seconds_pass1": single["seconds_pass1"],
            "seconds_pass2": single["seconds_pass2"],
            "single_process_passes": single["passes"],
            "threads": single["threads"],
            "merged_vs_single_rel_diff": agree,
            # the in-memory reader's policy: a column with no number is left out, with the reason
            "columns_left_out": large.column_policy(
                source, target=spec.get("target", "y"), features=spec.get("features")
            )[1],
            "peak_rss_mb": max(by_job.values()),
            "peak_rss_mb_by_job": by_job,
        }
    )
    # the yardstick: one in-memory X.T @ X pass of this n × d design at the machine's measured rate
    yard = streaming.gram_yardstick(len(feats), threads=single["threads"])
    work = float(stat.n) * len(feats) ** 2
    solve_rate = work / single["seconds_pass1"] if single["seconds_pass1"] > 0 else math.nan
    doc["roofline"] = {
        "gram": yard,
        "solve_pass1_flops_per_s": solve_rate,
        "fraction_of_gram": solve_rate / yard["flops_per_s"],
        "floor_seconds": work / yard["flops_per_s"],
    }
    return doc


def solve_sharded(source: str, spec: Mapping[str, Any], threads: int | None = None) -> dict[str, Any]:
    """The stage's jobs in one process, in their order: a statistic per shard, the merge, the second
    scatter when the merge asks for it, the solve (for tests and benchmarks)."""
    shards = [shard_stat(source, spec, i, threads) for i in range(len(parts_of(source, spec)[0]))]
    merged = merge_shards(shards)
    refines = (
        [refine_stat(source, spec, s["shard"], merged["plan"], threads) for s in shards]
        if merged["needs_second_pass"]
        else []
    )
    return solve_merged(source, spec, merged, shards, refines, threads)


def score_adam(doc: Mapping[str, Any], ols: Mapping[str, Any]) -> dict[str, Any]:
    """The streamed Adam runs (:func:`reglab.training.streamed.adam_runs`'s document) with each run's
    coefficients (slopes and intercept) in correct digits (:func:`reglab.linalg.lsq.digits.lre`) against
    the streamed least-squares fit ``ols`` (a ``results/scale/<dataset>.json`` document)."""
    runs = {}
    for name, res in doc["runs"].items():
        est = np.array([*res["coef"].values(), res["intercept"]])
        reference = coef_vector(ols, list(res["coef"]))
        runs[name] = {
            **res,
            "coef_digits": lre(est, reference) if np.all(np.isfinite(est)) else None,
            "coef_digits_metric": METRIC,
        }
    return {
        "runs": runs,
        "reference": "streamed least squares (results/scale/<dataset>.json)",
        "peak_rss_mb": doc["peak_rss_mb"],
    }
