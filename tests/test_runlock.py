"""One live run per folder (an OS lock the kernel releases however the run dies), and what a dead run
left removed by the next one."""

from __future__ import annotations

import subprocess
import sys
import time

from reglab.core import runlock

HOLDER = (
    "import sys, time; from reglab.core import runlock; runlock.hold(sys.argv[1]); "
    "print('held', flush=True); time.sleep(600)"
)


def _wait_for_line(proc: subprocess.Popen, text: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if text in line:
            return
        if proc.poll() is not None:
            break
    raise AssertionError(f"'{text}' not printed within {timeout} s")


def test_a_live_run_holds_the_folder_and_a_killed_one_releases_it(tmp_path):
    lock = tmp_path / ".snakemake" / "reglab.lock"
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(lock)], stdout=subprocess.PIPE, text=True)
    try:
        _wait_for_line(proc, "held")
        probe = [
            sys.executable,
            "-c",
            "import sys; from reglab.core import runlock; runlock.hold(sys.argv[1])",
            str(lock),
        ]
        busy = subprocess.run(probe, capture_output=True, text=True, timeout=60)
        assert (
            busy.returncode != 0 and f"pid {proc.pid}" in busy.stderr and "another reglab run" in busy.stderr
        )
    finally:
        proc.kill()  # kill -9: no clean-up code runs
        proc.wait(timeout=60)
    free = subprocess.run(probe, capture_output=True, text=True, timeout=60)
    assert free.returncode == 0, free.stderr


def test_leftovers_of_a_dead_run_are_removed(tmp_path):
    locks = tmp_path / ".snakemake" / "locks"
    locks.mkdir(parents=True)
    (locks / "0.input.lock").write_text("x")
    half = tmp_path / "results" / "data" / ".collinear.parquet.abc123.tmp"
    half.parent.mkdir(parents=True)
    half.write_text("half")
    keep = tmp_path / "results" / "data" / "collinear.parquet"
    keep.write_text("done")
    removed = runlock.clear_leftovers(tmp_path)
    assert len(removed) == 2 and not locks.exists() and not half.exists() and keep.exists()
    assert runlock.clear_leftovers(tmp_path) == []


def test_hold_is_idempotent_in_one_process(tmp_path):
    lock = tmp_path / "l"
    assert runlock.hold(lock) == runlock.hold(lock)
    other = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from reglab.core import runlock; runlock.hold(sys.argv[1])",
            str(lock),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert other.returncode != 0 and "RunLockError" in other.stderr  # another process cannot take it
