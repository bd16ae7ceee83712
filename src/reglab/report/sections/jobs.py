"""The jobs: Snakemake's own benchmark of every stage job (wall time and peak memory), per resource family
the largest measured peak beside what a cluster job of that family asks for, and per rule where its jobs'
seconds went (start-up, reading, training, writing: the timing line every job log ends with,
:mod:`reglab.core.timing`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from reglab.core.logs import read_timing
from reglab.core.timing import NAMES
from reglab.report.inputs import Inputs
from reglab.report.sections.base import Section

COLUMNS = ["family", "rule", "job", "seconds", "max_rss_mb", "cpu_seconds"]


def _number(v: Any) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return math.nan
    return x


def read_benchmarks(root: str | Path) -> pd.DataFrame:
    """One row per ``results/benchmarks/<family>/<rule>[/<job>].tsv`` (Snakemake's ``benchmark:`` files:
    ``s`` wall seconds, ``max_rss`` MB, ``cpu_time`` seconds; ``NA`` where a job was too short to sample)."""
    rows = []
    root = Path(root)
    for f in sorted(root.glob("*/**/*.tsv")):
        rel = f.relative_to(root).with_suffix("").parts
        table = pd.read_csv(f, sep="\t", na_values=["NA", "-"])
        if table.empty:
            continue
        last = table.iloc[-1]  # one line per repeat; reglab runs each once
        rows.append(
            {
                "family": rel[0],
                "rule": rel[1],
                "job": "/".join(rel[2:]),
                "seconds": _number(last.get("s")),
                "max_rss_mb": _number(last.get("max_rss")),
                "cpu_seconds": _number(last.get("cpu_time")),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def read_timings(root: str | Path) -> pd.DataFrame:
    """One row per job log under ``root`` that ends with a timing record: ``rule``, ``log`` and the
    seconds of every phase of :data:`reglab.core.timing.NAMES`, ``startup`` and ``total``."""
    rows = []
    for f in sorted(Path(root).glob("**/*.log")) if root and Path(root).is_dir() else []:
        record = read_timing(f)
        if not record or "rule" not in record:
            continue
        seconds = record.get("seconds") or {}
        rows.append(
            {"rule": record["rule"], "log": str(f.relative_to(root))}
            | {k: _number(seconds.get(k)) for k in (*NAMES, "startup", "total")}
        )
    return pd.DataFrame(rows, columns=["rule", "log", *NAMES, "startup", "total"])


def phases_by_rule(benchmarks: pd.DataFrame, timings: pd.DataFrame) -> list[dict[str, Any]]:
    """Per rule (families in order, the largest wall time first): its jobs' wall time in all (Snakemake's
    benchmark), the phases in all (the jobs' own clocks), and start-up's share of the wall time."""
    if timings.empty:
        return []
    family = benchmarks.groupby("rule")["family"].first() if not benchmarks.empty else pd.Series(dtype=str)
    wall = benchmarks.groupby("rule")["seconds"].sum() if not benchmarks.empty else pd.Series(dtype=float)
    out = []
    for rule, g in timings.groupby("rule", sort=True):
        sums = {k: float(g[k].sum(min_count=1)) for k in (*NAMES, "startup", "total")}
        w = float(wall.get(rule, math.nan))
        out.append(
            {
                "rule": rule,
                "family": family.get(rule, ""),
                "jobs": len(g),
                "wall_seconds": w,
                **sums,
                "startup_share": sums["startup"] / w if w and w > 0 else math.nan,
            }
        )
    out.sort(key=lambda r: (r["family"], -(r["wall_seconds"] if math.isfinite(r["wall_seconds"]) else 0)))
    return out


def families(table: pd.DataFrame, sizes: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per family: job count, largest wall time and peak, the first attempt's request, and the headroom."""
    out = []
    for fam, g in table.groupby("family", sort=True):
        mem, minutes = sizes.get(fam) or (math.nan, math.nan)
        peak = float(g["max_rss_mb"].max()) if g["max_rss_mb"].notna().any() else math.nan
        longest = float(g["seconds"].max()) if g["seconds"].notna().any() else math.nan
        out.append(
            {
                "family": fam,
                "jobs": len(g),
                "max_seconds": longest,
                "max_rss_mb": peak,
                "mem_mb": mem,
                "runtime_min": minutes,
                "mem_headroom": mem / peak if peak and peak > 0 else math.nan,
                "time_headroom": minutes * 60 / longest if longest and longest > 0 else math.nan,
            }
        )
    return out


def build(inputs: Inputs) -> dict[str, Any] | None:
    root = inputs.params.get("benchmarks")
    if not root or not Path(root).is_dir():
        return None
    table = read_benchmarks(root)
    if table.empty:
        return None
    sizes = inputs.params.get("job_sizes") or {}
    logs = inputs.params.get("logs")
    timings = read_timings(logs or "")  # no folder: no rows
    jobs = table.sort_values(["seconds"], ascending=False, na_position="last").to_dict("records")
    return {
        "families": families(table, sizes),
        "jobs": jobs,
        "total_seconds": float(table["seconds"].sum()),
        "root": str(root),
        "phases": phases_by_rule(table, timings),
        "phase_names": list(NAMES),
        "logs": str(logs or ""),
    }


SECTION = Section("jobs", "Jobs: measured wall time and peak memory", build)
