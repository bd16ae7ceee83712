"""Where a job's seconds go: exclusive phases on one clock (reglab.core.timing), the line every job log
ends with (reglab.core.logs.log_to), and the report's per-rule table (reglab.report.sections.jobs)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time

import pytest
from test_report_jobs import bench

from reglab.core import logs, timing
from reglab.report.sections import jobs


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(timing.time, "perf_counter", c)
    return c


def test_nested_phases_count_exclusive_seconds(clock):
    p = timing.Phases()
    with p.phase("trace"):
        clock.now += 1.0
        with p.phase("tensorflow"):
            clock.now += 4.0
            with p.phase("read"):
                clock.now += 0.5
        clock.now += 2.0
    with p.phase("read"):
        clock.now += 0.25
    assert p.seconds == {"read": 0.75, "tensorflow": 4.0, "trace": 3.0}
    p.add("imports", 1.5)
    assert p.seconds["imports"] == 1.5


def test_the_summary_adds_up_to_the_total_since_the_process_started():
    p = timing.Phases()
    p.add("train", 0.002)
    time.sleep(0.01)  # more real time than the phases claim: the rest is "other"
    s = p.summary()
    assert set(timing.NAMES) <= set(s) and s["train"] == 0.002
    parts = sum(s[k] for k in timing.NAMES)
    assert math.isclose(parts, s["total"], rel_tol=1e-9, abs_tol=1e-9)
    assert s["startup"] == pytest.approx(sum(s[k] for k in timing.STARTUP))


def test_process_age_counts_from_the_process_start_not_the_boot_seconds():
    # a fresh interpreter that sleeps 0.3 s before asking: its age is at least that, and well under 1 s
    # more (psutil's create_time is up to 1 s off; this clock is not)
    code = "import time; time.sleep(0.3); from reglab.core.timing import process_age; print(process_age())"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    )
    age = float(out.stdout)
    assert 0.3 <= age < 0.9


class Job:
    rule = "keras_runs_fuel"

    class wildcards:  # noqa: N801  (duck-typed Snakemake wildcards)
        @staticmethod
        def items():
            return [("dataset", "fuel")]


def test_a_job_log_ends_with_its_timing_even_when_the_job_fails(tmp_path):
    ok, failed = tmp_path / "ok.log", tmp_path / "failed.log"
    with logs.log_to(str(ok), Job()):
        print("working")
    with pytest.raises(ValueError), logs.log_to(str(failed)):
        raise ValueError("bad input")
    lines = ok.read_text().splitlines()
    assert lines[0] == "working" and lines[-1].startswith(timing.LOG_PREFIX)
    record = logs.read_timing(ok)
    assert record["rule"] == "keras_runs_fuel" and record["wildcards"] == {"dataset": "fuel"}
    assert record["seconds"]["imports"] >= 0 and record["seconds"]["total"] > 0
    assert "ValueError: bad input" in failed.read_text() and "rule" not in logs.read_timing(failed)
    (tmp_path / "plain.log").write_text("no timing here\n")
    assert logs.read_timing(tmp_path / "plain.log") is None


def _log(root, rel, rule, **seconds):
    f = root / rel
    f.parent.mkdir(parents=True, exist_ok=True)
    full = {k: 0.0 for k in timing.NAMES} | seconds
    full["startup"] = sum(full[k] for k in timing.STARTUP)
    full["total"] = sum(full[k] for k in timing.NAMES)

    f.write_text("work\n" + timing.LOG_PREFIX + json.dumps({"rule": rule, "seconds": full}) + "\n")


def test_the_jobs_section_sums_phases_per_rule_beside_the_wall_time(tmp_path):
    bench(tmp_path / "bench", "keras/keras_runs_fuel.tsv", 10.0, 500.0, 9.0)
    bench(tmp_path / "bench", "light/report.tsv", 2.0, 80.0, 1.0)
    _log(tmp_path / "logs", "keras/fuel/runs.log", "keras_runs_fuel", start=0.5, tensorflow=4.0, train=3.0)
    _log(tmp_path / "logs", "report.log", "report", start=0.5, imports=0.5, other=0.5)
    (tmp_path / "logs" / "old.log").write_text("a log from before timing\n")
    ctx = jobs.build(
        jobs.Inputs(groups={}, params={"benchmarks": str(tmp_path / "bench"), "logs": str(tmp_path / "logs")})
    )
    rows = {r["rule"]: r for r in ctx["phases"]}
    assert set(rows) == {"keras_runs_fuel", "report"}
    fuel = rows["keras_runs_fuel"]
    assert fuel["family"] == "keras" and fuel["jobs"] == 1 and fuel["wall_seconds"] == 10.0
    assert fuel["startup"] == 4.5 and fuel["train"] == 3.0 and fuel["startup_share"] == pytest.approx(0.45)
    assert rows["report"]["startup"] == 1.0 and rows["report"]["family"] == "light"
    assert [r["rule"] for r in ctx["phases"]] == ["keras_runs_fuel", "report"]  # by family


def test_a_job_process_exits_without_collecting_its_objects(tmp_path):
    """A job (its script inside log_to) freezes the heap at exit, so Python's last collections do not walk
    the objects it made; an atexit handler registered before it runs after it and sees them frozen."""
    code = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print('frozen', gc.get_freeze_count(), file=sys.stderr))\n"
        "from reglab.core.logs import log_to\n"
        f"with log_to({str(tmp_path / 'job.log')!r}):\n"
        "    kept = [[i] for i in range(50_000)]\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stderr.split("frozen")[-1]) >= 50_000, out.stderr  # the job's own objects among them
