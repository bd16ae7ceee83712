"""Send a job's prints and warnings to its Snakemake log file (errors still reach stderr), and end the log
with where the job's seconds went (:mod:`reglab.core.timing`)."""

from __future__ import annotations

import contextlib
import json
import logging
import math
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reglab.core.timing import LOG_PREFIX, PHASES


@contextlib.contextmanager
def log_to(path: str, job: Any = None) -> Iterator[None]:
    """Redirect stdout and the logging module to ``path``; on error, write the traceback there too.

    The time from the first reglab import to here counts as the job's ``imports``; the log's last line
    is :data:`reglab.core.timing.LOG_PREFIX` and the job's phases as JSON (with ``rule`` and
    ``wildcards`` when ``job``, the Snakemake object, is given)."""
    PHASES.add("imports", max(time.time() - PHASES.loaded - sum(PHASES.seconds.values()), 0.0))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh, contextlib.redirect_stdout(fh):
        handler = logging.StreamHandler(fh)
        logging.getLogger().addHandler(handler)
        logging.captureWarnings(True)
        try:
            yield
        except BaseException:
            traceback.print_exc(file=fh)
            raise
        finally:
            logging.getLogger().removeHandler(handler)
            print(LOG_PREFIX + json.dumps(_timing_record(job)), file=fh)


def _timing_record(job: Any) -> dict[str, Any]:
    record: dict[str, Any] = {}
    if job is not None:
        record["rule"] = str(job.rule)
        record["wildcards"] = {k: str(v) for k, v in dict(job.wildcards.items()).items()}
    phases = PHASES.summary()
    record["seconds"] = {
        k: (None if v is None or not math.isfinite(v) else round(v, 4)) for k, v in phases.items()
    }
    return record


def read_timing(path: str | Path) -> dict[str, Any] | None:
    """The timing record a job log ends with (:func:`log_to`), or None if it has none."""
    found = None
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.startswith(LOG_PREFIX):
                found = line[len(LOG_PREFIX) :]
    if found is None:
        return None
    try:
        return json.loads(found)
    except json.JSONDecodeError:
        return None
