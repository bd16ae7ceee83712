"""Where a job's seconds go: named phases on one clock, counted from the process's own start.

A job's wall time splits into

* ``start``: the interpreter and Snakemake's script preamble, up to the first reglab import (this
  module is imported by :mod:`reglab.core.logs`, which every adapter imports first);
* ``imports``: the adapter's imports, up to :func:`reglab.core.logs.log_to`;
* ``tensorflow``: importing TensorFlow and Keras (:func:`reglab.training.session.tensorflow`);
* ``trace``: building models and tracing the compiled training loops;
* ``read`` / ``write``: artifacts read and written through :mod:`reglab.core.io` and
  :mod:`reglab.data.datasets`;
* ``train``: the timed training itself;
* ``other``: the rest (closed forms, statistics, plotting, the framework).

Phases nest; a phase's seconds exclude the phases inside it, so the parts add up to ``total``.
Importing this module costs nothing measurable; the recorder is one per process (:data:`PHASES`).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator

#: The phases :meth:`Phases.summary` always reports, in order (``other`` closes the sum).
NAMES = ("start", "imports", "tensorflow", "trace", "read", "train", "write", "other")

#: The start-up part of a job: everything before its first useful work.
STARTUP = ("start", "imports", "tensorflow", "trace")

#: The prefix of the line :func:`reglab.core.logs.log_to` writes at the end of every job log.
LOG_PREFIX = "reglab timing: "


def process_age() -> float | None:
    """Seconds since this process started, or None where the platform does not say.

    Linux: the kernel's start time of the process (``/proc/self/stat``, clock ticks since boot) against
    ``CLOCK_BOOTTIME``, the same clock (psutil's ``create_time`` adds the boot time in whole seconds,
    which is up to 1 s off)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22 of proc(5)
        return max(time.clock_gettime(time.CLOCK_BOOTTIME) - started, 0.0)
    except (OSError, ValueError, IndexError, AttributeError):
        return None


class Phases:
    """Exclusive seconds per named phase, plus the time since the process started."""

    def __init__(self) -> None:
        self.loaded = time.time()
        self.age_at_load = process_age()
        self.seconds: dict[str, float] = {}
        self._stack: list[list[float]] = []  # [start, seconds of the phases nested inside]

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + float(seconds)
        if self._stack:
            self._stack[-1][1] += float(seconds)

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Count the block's seconds under ``name`` (less those of the phases inside it)."""
        self._stack.append([time.perf_counter(), 0.0])
        try:
            yield
        finally:
            start, inner = self._stack.pop()
            whole = time.perf_counter() - start
            self.add(name, whole - inner)
            if self._stack:  # the parent excludes this whole block, not only its exclusive part
                self._stack[-1][1] += inner

    def summary(self) -> dict[str, float | None]:
        """Seconds per phase of :data:`NAMES`, ``startup`` (their :data:`STARTUP` part) and ``total``
        (since the process started; where that is unknown, ``start`` is None and ``total`` counts from
        this module's import)."""
        since_load = time.time() - self.loaded
        out: dict[str, float | None] = {name: self.seconds.get(name, 0.0) for name in NAMES}
        out.update({k: v for k, v in self.seconds.items() if k not in out})
        out["start"] = self.age_at_load
        total = since_load + (self.age_at_load or 0.0)
        counted = sum(v for k, v in out.items() if k != "other" and v is not None)
        out["other"] = max(total - counted, 0.0)
        out["startup"] = sum(out[k] or 0.0 for k in STARTUP)
        out["total"] = total
        return out


#: This process's recorder.
PHASES = Phases()


def phase(name: str) -> contextlib.AbstractContextManager[None]:
    """``with phase("read"): ...`` on this process's recorder."""
    return PHASES.phase(name)
