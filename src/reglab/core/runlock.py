"""One live run per folder, and a plain rerun after a crash.

Snakemake's lock files (``.snakemake/locks/``) carry no process id, so after ``kill -9`` the next run
stops with a LockException although nothing runs. reglab holds an OS file lock
(:func:`fcntl.flock` on ``.snakemake/reglab.lock``) for the life of every real run: the kernel
releases it when the process dies, however it dies. A run that gets the lock therefore knows that no
reglab run is alive in the folder, and may remove what a dead one left: Snakemake's stale locks and
half-written ``.*.tmp`` files of :func:`reglab.core.io.atomic_path`. A run that does not get it stops,
naming the live run's process id. (Incomplete outputs are rerun by ``rerun-incomplete`` in
``profiles/default``.)
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from pathlib import Path

__all__ = ["RunLockError", "clear_leftovers", "hold"]

_HELD: dict[str, int] = {}  # path -> fd, kept open for the life of the process


class RunLockError(RuntimeError):
    """Another run holds the folder's lock."""


def hold(path: str | Path) -> Path:
    """Take the run lock at ``path`` (non-blocking) and keep it until this process exits; write our pid
    and start time into it. Raises :class:`RunLockError` naming the holder when a live run has it."""
    path = Path(path)
    key = str(path.resolve())
    if key in _HELD:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "unknown process"
        os.close(fd)
        raise RunLockError(
            f"another reglab run is active in this folder ({holder}; lock {path}); wait for it "
            "to finish or stop it, then run the same command again"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}".encode(), 0)
    _HELD[key] = fd
    return path


def clear_leftovers(workdir: str | Path, results: str = "results") -> list[str]:
    """What a dead run left in ``workdir``: Snakemake's lock files and ``.*.tmp`` files under ``results``.
    Call only while holding the run lock. Returns what was removed."""
    workdir = Path(workdir)
    removed = []
    locks = workdir / ".snakemake" / "locks"
    if locks.is_dir() and any(locks.iterdir()):
        shutil.rmtree(locks)
        removed.append(f"{locks}/ (Snakemake's locks of a run that is no longer alive)")
    root = workdir / results
    if root.is_dir():
        for tmp in root.rglob(".*.tmp"):
            if tmp.is_file():
                tmp.unlink()
                removed.append(str(tmp))
    return removed
