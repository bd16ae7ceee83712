"""Send a job's prints and warnings to its Snakemake log file (errors still reach stderr)."""

from __future__ import annotations

import contextlib
import logging
import traceback
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def log_to(path: str) -> Iterator[None]:
    """Redirect stdout and the logging module to ``path``; on error, write the traceback there too."""
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
