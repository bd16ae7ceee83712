"""Atomic artifact writing and JSON helpers.

Every artifact is written to a temporary name in the destination folder and renamed into
place at the end, so a killed job never leaves a file that looks finished.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from reglab.core.timing import phase

if TYPE_CHECKING:  # only for annotations: a job that writes JSON does not pay pandas' 40 MB and 0.25 s
    import pandas as pd


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def to_jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays and non-finite floats to strict-JSON values (inf/nan -> None)."""
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer, int)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        value = float(obj)
        return value if math.isfinite(value) else None
    return obj


def write_json(path: str | os.PathLike[str], data: Mapping[str, Any]) -> None:
    """Write ``data`` as strict, indented JSON, atomically."""
    with phase("write"):
        text = json.dumps(to_jsonable(data), indent=2, allow_nan=False)
        with atomic_path(path) as tmp:
            tmp.write_text(text + "\n", encoding="utf-8")


def read_json(path: str | os.PathLike[str]) -> dict[str, Any]:
    with phase("read"), open(path, encoding="utf-8") as fh:
        return json.load(fh)


def write_parquet(path: str | os.PathLike[str], frame: pd.DataFrame) -> None:
    """Write a tidy table as Parquet (pyarrow), atomically."""
    with phase("write"), atomic_path(path) as tmp:
        frame.to_parquet(tmp, engine="pyarrow", index=False)


def write_text(path: str | os.PathLike[str], text: str) -> None:
    with phase("write"), atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def json_float(x: Any) -> float | None:
    """``float(x)``, or None when it is not finite (strict JSON has no inf/nan)."""
    value = float(x)
    return value if math.isfinite(value) else None


def write_csv(path: str | os.PathLike[str], frame: pd.DataFrame) -> None:
    """Write a table as CSV (no index), atomically."""
    with phase("write"), atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)
