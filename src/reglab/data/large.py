"""Designs too large for memory: a chunked Parquet writer with known coefficients, and streaming readers.

* :func:`write_large` writes an ``n × d`` regression design (columns ``x1..xd`` and ``y``) chunk by chunk
  with :class:`pyarrow.parquet.ParquetWriter` (one row group per chunk; the whole matrix is never held),
  to one file or to a directory of shard files ``part-000.parquet ...`` each generated from its own seed
  (``reglab.core.rng.generator(seed, "large", shard_index)``) so shards can be written by separate jobs.
  The coefficients, intercept, noise sd and generation parameters are stored as JSON in the Parquet
  key-value metadata under ``b"reglab"`` (:func:`read_meta`).
* :func:`iter_chunks` streams float64 ``(X_chunk, y_chunk, first_row_index)`` from a Parquet file, a
  directory of Parquet shards (sorted names) or a CSV file, validating each chunk vectorised: a
  non-numeric, missing, NaN or infinite cell raises :class:`ValueError` naming the file, the column,
  the 1-based data row (header not counted) and the value.
* :class:`BufferPool` lends chunk buffers out and takes them back, so a long stream reuses two buffers
  instead of faulting in a fresh 80 MB one per chunk.
* :class:`RowGroups` reads a Parquet source's row groups by index, from several threads at once.
* :func:`shard_ranges` splits a Parquet file's row groups into contiguous ranges for several readers.
* :func:`check_fits_in_memory` refuses files whose uncompressed size exceeds a fraction of RAM.

Design of the generator: rows are ``x = mean + (z @ M) * scales`` with ``z`` iid standard normal and ``M``
a fixed ``d × d`` matrix (drawn from ``generator(seed, "large", "design")``) whose singular values are
log-spaced from 1 to ``1/condition``; the population condition number of the centred, unscaled design is
therefore ``condition``. ``y = intercept + x @ coef + noise * e``.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from reglab.core.rng import generator
from reglab.data.cells import decimal_comma_hint, parses

__all__ = [
    "META_KEY",
    "BufferPool",
    "RowGroups",
    "check_fits_in_memory",
    "design_matrix",
    "feature_columns",
    "is_csv",
    "iter_chunks",
    "make_design",
    "parquet_files",
    "read_meta",
    "shard_paths",
    "shard_ranges",
    "write_large",
    "write_large_shard",
]

META_KEY = b"reglab"
_SHARD_NAME = "part-{:03d}.parquet"


# --------------------------------------------------------------------------------------------- writing


def design_matrix(seed: int, d: int, condition: float | None) -> np.ndarray:
    """The fixed ``d × d`` mixing matrix ``M`` (singular values log-spaced 1 .. 1/condition), or identity."""
    if not condition or condition <= 1 or d == 1:
        return np.eye(d)
    rng = generator(seed, "large", "design")
    u, _ = np.linalg.qr(rng.standard_normal((d, d)))
    v, _ = np.linalg.qr(rng.standard_normal((d, d)))
    s = np.logspace(0.0, -math.log10(float(condition)), d)
    return (u * s) @ v.T


def _params(
    n: int, d: int, seed: int, condition, scale_spread, mean, constant_column, noise, coef, intercept
) -> dict[str, Any]:
    if coef is None:
        coef = generator(seed, "large", "coef").standard_normal(d)
        coef = np.round(coef, 6)
    coef = np.asarray(coef, dtype=float).reshape(-1)
    if coef.shape != (d,):
        raise ValueError(f"coef has {coef.size} entries, expected d={d}")
    if constant_column:
        coef = coef.copy()
        coef[-1] = 0.0  # not identifiable apart from the intercept: the generating value is 0
    scales = np.logspace(0.0, float(scale_spread), d) if scale_spread else np.ones(d)
    return {
        "n": int(n),
        "d": int(d),
        "seed": int(seed),
        "condition": condition,
        "scale_spread": scale_spread,
        "mean": float(mean),
        "constant_column": bool(constant_column),
        "noise": float(noise),
        "coef": [float(c) for c in coef],
        "intercept": float(intercept),
        "scales": [float(s) for s in scales],
        "features": [f"x{j + 1}" for j in range(d)],
        "target": "y",
    }


def _chunk(
    rng: np.random.Generator, m: int, params: dict[str, Any], mix: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    d = params["d"]
    z = rng.standard_normal((m, d))
    x = np.asfortranarray(z @ mix)
    x *= np.asarray(params["scales"])
    if params["mean"]:
        x += params["mean"]
    if params["constant_column"]:
        x[:, -1] = 3.0 + params["mean"]
    e = rng.standard_normal(m)
    y = params["intercept"] + x @ np.asarray(params["coef"]) + params["noise"] * e
    return x, y


def _split(n: int, shards: int) -> list[int]:
    base, extra = divmod(n, shards)
    return [base + (1 if i < extra else 0) for i in range(shards)]


def _write_one(
    path: Path,
    rng: np.random.Generator,
    rows: int,
    params: dict[str, Any],
    mix: np.ndarray,
    chunk_rows: int,
    compression: str,
    meta: dict[str, Any],
) -> Path:
    names = params["features"] + [params["target"]]
    schema = pa.schema(
        [pa.field(c, pa.float64(), nullable=False) for c in names],
        metadata={META_KEY: json.dumps(meta).encode()},
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with pq.ParquetWriter(
        tmp, schema, use_dictionary=False, compression=compression, write_statistics=False
    ) as writer:
        done = 0
        while done < rows:
            m = min(chunk_rows, rows - done)
            x, y = _chunk(rng, m, params, mix)
            arrays = [pa.array(x[:, j]) for j in range(x.shape[1])] + [pa.array(y)]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema), row_group_size=m)
            done += m
    os.replace(tmp, path)
    return path


def shard_paths(path: str | os.PathLike, shards: int) -> list[Path]:
    """The shard file names of a sharded dataset directory."""
    return [Path(path) / _SHARD_NAME.format(i) for i in range(shards)]


def write_large_shard(
    path: str | os.PathLike,
    shard_index: int,
    *,
    n: int,
    d: int,
    seed: int,
    shards: int,
    chunk_rows: int = 100_000,
    condition: float | None = None,
    scale_spread: float = 0,
    mean: float = 0.0,
    constant_column: bool = False,
    noise: float = 0.1,
    coef: Sequence[float] | None = None,
    intercept: float = 0.5,
    compression: str = "none",
) -> Path:
    """Write shard ``shard_index`` of ``shards`` of the dataset directory ``path`` (one job per shard)."""
    if not 0 <= shard_index < shards:
        raise ValueError(f"shard_index {shard_index} outside 0..{shards - 1}")
    params = _params(n, d, seed, condition, scale_spread, mean, constant_column, noise, coef, intercept)
    rows = _split(n, shards)
    meta = dict(
        params,
        shards=shards,
        shard_index=shard_index,
        shard_rows=rows[shard_index],
        first_row=sum(rows[:shard_index]),
    )
    mix = design_matrix(seed, d, condition)
    return _write_one(
        shard_paths(path, shards)[shard_index],
        generator(seed, "large", shard_index),
        rows[shard_index],
        params,
        mix,
        chunk_rows,
        compression,
        meta,
    )


def write_large(
    path: str | os.PathLike,
    *,
    n: int,
    d: int,
    seed: int,
    chunk_rows: int = 100_000,
    condition: float | None = None,
    scale_spread: float = 0,
    mean: float = 0.0,
    constant_column: bool = False,
    noise: float = 0.1,
    coef: Sequence[float] | None = None,
    intercept: float = 0.5,
    shards: int | None = None,
    compression: str = "none",
) -> dict[str, Any]:
    """Write an ``n × d`` design chunk by chunk; returns the stored metadata.

    ``shards=None`` writes the single file ``path`` (rows from ``generator(seed, "large", 0)``);
    ``shards=k`` writes the directory ``path`` with ``part-000.parquet`` .. (shard ``i`` from
    ``generator(seed, "large", i)``; a 1-shard directory holds the same rows as the single file).
    Float columns are stored plainly (no dictionary; ``compression="none"`` by default: random
    float64 does not compress and decompression would cost read time).
    """
    if n < 1 or d < 1 or chunk_rows < 1:
        raise ValueError("n, d and chunk_rows must be positive")
    if shards is None:
        params = _params(n, d, seed, condition, scale_spread, mean, constant_column, noise, coef, intercept)
        _write_one(
            Path(path),
            generator(seed, "large", 0),
            n,
            params,
            design_matrix(seed, d, condition),
            chunk_rows,
            compression,
            params,
        )
        return params
    for i in range(shards):
        write_large_shard(
            path,
            i,
            n=n,
            d=d,
            seed=seed,
            shards=shards,
            chunk_rows=chunk_rows,
            condition=condition,
            scale_spread=scale_spread,
            mean=mean,
            constant_column=constant_column,
            noise=noise,
            coef=coef,
            intercept=intercept,
            compression=compression,
        )
    return read_meta(shard_paths(path, shards)[0])


def make_design(
    *,
    n: int,
    d: int,
    seed: int,
    condition: float | None = None,
    scale_spread: float = 0,
    mean: float = 0.0,
    constant_column: bool = False,
    noise: float = 0.1,
    coef: Sequence[float] | None = None,
    intercept: float = 0.5,
    chunk_rows: int = 100_000,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """In memory, the same rows :func:`write_large` (single file, same ``chunk_rows``) writes:
    ``(X, y, meta)``."""
    params = _params(n, d, seed, condition, scale_spread, mean, constant_column, noise, coef, intercept)
    rng, mix = generator(seed, "large", 0), design_matrix(seed, d, condition)
    xs, ys = [], []
    for start in range(0, n, chunk_rows):
        x, y = _chunk(rng, min(chunk_rows, n - start), params, mix)
        xs.append(x)
        ys.append(y)
    return np.vstack(xs), np.concatenate(ys), params


def read_meta(path: str | os.PathLike) -> dict[str, Any]:
    """The ``b"reglab"`` JSON metadata of a file written by :func:`write_large` (first shard of a
    directory)."""
    p = Path(path)
    if p.is_dir():
        p = parquet_files(p)[0]
    md = read_schema(p).metadata or {}
    if META_KEY not in md:
        raise ValueError(f"{p}: no reglab metadata (not written by write_large)")
    return json.loads(md[META_KEY])


# --------------------------------------------------------------------------------------------- reading


def _unreadable(path: Path, exc: Exception) -> ValueError:
    """A Parquet file that cannot be opened (truncated, empty, not Parquet, unreadable), by its name."""
    size = path.stat().st_size if path.exists() else None
    what = "empty (0 bytes)" if size == 0 else f"not a readable Parquet file ({type(exc).__name__}: {exc})"
    return ValueError(f"{path}: {what}")


def read_schema(path: Path) -> pa.Schema:
    """The Parquet file's schema; a ValueError naming the file when it cannot be read."""
    try:
        return pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        raise _unreadable(path, exc) from None


def read_metadata(path: Path) -> pq.FileMetaData:
    """The Parquet file's metadata; a ValueError naming the file when it cannot be read."""
    try:
        return pq.read_metadata(path)
    except (pa.ArrowException, OSError) as exc:
        raise _unreadable(path, exc) from None


def is_csv(path: Path) -> bool:
    """Whether a file is read as CSV (``.csv``, ``.txt``, ``.csv.gz``); anything else is Parquet."""
    return path.suffix.lower() in (".csv", ".txt") or path.name.lower().endswith(".csv.gz")


def parquet_files(directory: Path) -> list[Path]:
    """The ``*.parquet`` files of a shard directory, sorted by name (an error when there are none)."""
    files = sorted(f for f in directory.iterdir() if f.suffix == ".parquet" and f.is_file())
    if not files:
        raise ValueError(f"{directory}: no .parquet files")
    return files


def shard_ranges(path: str | os.PathLike, shards: int) -> list[list[int]]:
    """Split the row groups of one Parquet file into ``shards`` contiguous, near-equal index lists
    (some empty when there are fewer row groups than shards); together they cover each group once."""
    if shards < 1:
        raise ValueError("shards must be >= 1")
    groups = read_metadata(path).num_row_groups
    sizes = _split(groups, shards)
    out, start = [], 0
    for s in sizes:
        out.append(list(range(start, start + s)))
        start += s
    return out


def _bad_cell_error(
    file: Path,
    names: list[str],
    block: np.ndarray,
    first_row: int,
    nulls: dict[int, np.ndarray] | None = None,
) -> ValueError:
    """The first non-finite cell of ``block`` (rows × columns, column order ``names``), as an error."""
    bad = ~np.isfinite(block)
    rows = np.flatnonzero(bad.any(axis=1))
    i = int(rows[0])
    j = int(np.flatnonzero(bad[i])[0])
    value = block[i, j]
    shown = "missing (null)" if nulls and j in nulls and nulls[j][i] else repr(float(value))
    return ValueError(
        f"{file}: column {names[j]!r}, data row {first_row + i + 1}: value {shown} is not a finite number"
    )


def _column_to_numpy(col: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray | None]:
    """float64 values of a column (a view of Arrow's buffer when it is float64 already) and its null mask.
    Not ``Array.to_numpy``: its first call imports pandas (0.27 s and about 45 MB measured)."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    nulls = None
    if col.null_count:
        nulls = np.asarray(col.is_null().to_numpy(zero_copy_only=False))
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        col = col.cast(pa.float64())  # numbers stored as text; a cell that is none raises ArrowInvalid
    elif col.type != pa.float64():
        col = col.cast(pa.float64())
    if len(col) == 0:
        return np.empty(0), nulls
    # the values under a null are unspecified; callers see them through ``nulls``
    return np.frombuffer(col.buffers()[1], dtype=np.float64, count=len(col), offset=col.offset * 8), nulls


class BufferPool:
    """Chunk buffers to reuse. :meth:`take` hands out a Fortran-ordered ``(rows, cols)`` float64 array (a
    given-back one that is large enough, else a new one); :meth:`give` takes a spent chunk's array (or a
    view of it) back. A fresh 80 MB buffer per chunk pays its page faults on first touch: measured 0.04 s
    per 10 chunks of 1e5 × 100, a sixth of one in-memory ``X.T @ X``. Thread-safe.

    ``offset`` (``None``, or one value per column read: the features, then the target) is subtracted from
    each value as it is copied in, in the same pass (the streaming solver's shift, saving it a pass over
    every chunk); :meth:`offset_of` says which offset a chunk's buffer holds."""

    def __init__(self) -> None:
        self._free: list[np.ndarray] = []
        self._lock = threading.Lock()
        self._offsets: dict[int, np.ndarray | None] = {}
        self.allocated = 0
        self.offset: np.ndarray | None = None

    @staticmethod
    def _owner(array: np.ndarray) -> np.ndarray:
        return array if array.base is None else array.base

    def mark(self, array: np.ndarray, offset: np.ndarray | None) -> None:
        self._offsets[id(self._owner(array))] = offset

    def offset_of(self, array: np.ndarray) -> np.ndarray | None:
        """The offset subtracted from the chunk whose buffer ``array`` views (``None``: none)."""
        return self._offsets.get(id(self._owner(array)))

    def take(self, rows: int, cols: int) -> np.ndarray:
        need = rows * cols
        with self._lock:
            fits = [i for i, flat in enumerate(self._free) if flat.size >= need]
            flat = self._free.pop(fits[0]) if fits else None
            self.allocated += flat is None
        if flat is None:
            flat = np.empty(need)
        return flat[:need].reshape((rows, cols), order="F")

    def give(self, array: np.ndarray) -> None:
        flat = self._owner(array)
        if (
            isinstance(flat, np.ndarray)
            and flat.ndim == 1
            and flat.dtype == np.float64
            and flat.flags.writeable
        ):
            with self._lock:
                if all(f is not flat for f in self._free):
                    self._free.append(flat)


def _to_block(
    file: Path,
    batch: Any,
    features: list[str],
    target: str,
    first_row: int,
    rows: int | None = None,
    pool: BufferPool | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``X`` and ``y`` from a batch, or from a callable ``name -> column`` (then ``rows`` gives the length),
    column by column (only one decoded column alive beside the output), each column checked while it is
    still in cache. Both are views of one Fortran-ordered ``(m, p + 2)`` buffer ``[X, spare, y]`` (fresh,
    or taken from ``pool``) that :class:`reglab.linalg.streaming.GramStat` can turn into
    ``[X − a, 1, y − b]`` without a copy."""
    get = batch if callable(batch) else batch.column
    m = batch.num_rows if rows is None else rows
    p = len(features)
    buf = np.empty((m, p + 2), order="F") if pool is None else pool.take(m, p + 2)
    offset = None if pool is None else pool.offset
    names = features + [target]
    for j, name in enumerate(names):
        jj = j if j < p else p + 1
        raw = get(name)
        try:
            values, nm = _column_to_numpy(raw)
        except pa.ArrowInvalid:
            raise _text_cell_error(file, name, raw, first_row) from None
        col = buf[:, jj]
        if offset is None:
            col[:] = values
        else:
            np.subtract(values, offset[j], out=col)
        # a NaN or infinite cell makes the column's dot product non-finite (an overflowing one is checked
        # cell by cell): one BLAS pass instead of isfinite's mask; a NaN or infinity stays one when offset
        with np.errstate(over="ignore", invalid="ignore"):
            bad = nm is not None or (not math.isfinite(float(col @ col)) and not np.isfinite(values).all())
        del values
        if bad:
            block = buf[:, list(range(p)) + [p + 1]][:, : j + 1].copy()
            if nm is not None:
                block[nm, j] = np.nan
            raise _bad_cell_error(file, names[: j + 1], block, first_row, None if nm is None else {j: nm})
    if pool is not None:
        pool.mark(buf, offset)
    return buf[:, :p], buf[:, p + 1]


def _numeric(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)


def _text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _text_cell_error(file: Path, name: str, col: Any, first_row: int) -> ValueError:
    """The first cell of a text column that is not a number, by file, column and data row."""
    values = col.to_pylist()
    i = next((i for i, v in enumerate(values) if v is not None and not parses(v)), 0)
    v = values[i] if values else None
    return ValueError(
        f"{file}: column {name!r}, data row {first_row + i + 1}: value {v!r} is not a number"
        f"{decimal_comma_hint(v)}"
    )


def _classify_text(file: Path, name: str, values: list[Any]) -> str | None:
    """None when every cell of a text column reads as a number (the column is used), else the reason it is
    left out; raises for one numeric but for some cells and for one written with decimal commas (the
    in-memory reader's rules, :func:`reglab.data.datasets.from_file`)."""
    cells = [(i, v) for i, v in enumerate(values) if v is not None]
    bad = [(i, v) for i, v in cells if not parses(v)]
    if not cells:
        return "empty: no value in any row"
    if not bad:
        return None
    i, v = bad[0]
    if len(bad) < len(cells) or decimal_comma_hint(v):
        some = (
            f" ({len(bad)} non-numeric cell(s) in this otherwise numeric column)"
            if len(bad) < len(cells)
            else ""
        )
        hint = decimal_comma_hint(v)
        raise ValueError(
            f"{file}: column {name!r}, data row {i + 1}: value {v!r} is not a number{hint}{some}"
        )
    return f"not numeric: no cell is a number (first value {v!r})"


def _pick_features(
    file: Path,
    schema: pa.Schema,
    target: str,
    features: Sequence[str] | None,
    text_values: Any = None,
) -> tuple[list[str], dict[str, str]]:
    """The feature columns and the columns left out, each with the reason.

    Named ``features`` are used as named, never left out: numeric or text (a text cell that is not a number
    is an error at read time, by file, column and row); any other type is an error. Without ``features``
    every other column is a candidate: numeric ones are used, a text column is used when every cell reads
    as a number (``text_values(name)`` gives its cells) and is otherwise left out with the reason, any
    other type is left out. The target must be numeric or text."""
    names = list(schema.names)
    if target not in names:
        raise ValueError(f"{file}: no target column {target!r} (columns: {names[:10]}...)")
    usable = [target] if features is None else [*features, target]
    missing = [f for f in usable if f not in names]
    if missing:
        raise ValueError(f"{file}: feature columns {missing} not found")
    for c in usable:
        t = schema.field(c).type
        if not (_numeric(t) or _text(t)):
            raise ValueError(f"{file}: column {c!r} is {t}, not numeric")
    if features is not None:
        return list(features), {}
    feats, left_out = [], {}
    for c in names:
        if c == target:
            continue
        t = schema.field(c).type
        if _numeric(t):
            feats.append(c)
        elif _text(t) and text_values is not None:
            reason = _classify_text(file, c, text_values(c))
            if reason is None:
                feats.append(c)
            else:
                left_out[c] = reason
        else:
            left_out[c] = f"not numeric: column type {t}"
    if not feats:
        raise ValueError(f"{file}: no numeric feature columns (left out: {left_out})")
    return feats, left_out


def column_policy(
    source: str | os.PathLike, *, target: str, features: Sequence[str] | None = None
) -> tuple[list[str], dict[str, str]]:
    """The feature columns :func:`iter_chunks` will yield for ``source`` and the columns left out with the
    reason (the in-memory reader's policy); a ValueError naming the file when it cannot be read or holds no
    data rows."""
    src = Path(source)
    if src.is_dir():
        files = parquet_files(src)
        if not files:
            raise ValueError(f"{src}: no *.parquet file in this folder")
        src = files[0]
    if not src.exists():
        raise ValueError(f"{src}: file not found")
    if not is_csv(src):
        md = read_metadata(src)
        if md.num_rows == 0:
            raise ValueError(f"{src}: the file has a schema ({md.num_columns} columns) but no data rows")
        schema = md.schema.to_arrow_schema()

        def text_values(c: str) -> list[Any]:
            return pq.read_table(src, columns=[c]).column(c).to_pylist()
    else:
        try:
            reader = pacsv.open_csv(src, read_options=pacsv.ReadOptions(block_size=1 << 20))
            schema = reader.schema
            first = reader.read_next_batch()
        except StopIteration:
            raise ValueError(f"{src}: the file has a header but no data rows") from None
        except pa.ArrowInvalid as exc:
            raise ValueError(f"{src}: cannot be read as CSV ({exc})") from None
        if first.num_rows == 0:
            raise ValueError(f"{src}: the file has a header but no data rows")

        def text_values(c: str) -> list[Any]:  # the first block: the reader's type inference saw as much
            return first.column(c).to_pylist()

    return _pick_features(src, schema, target, features, text_values)


def feature_columns(
    source: str | os.PathLike, *, target: str, features: Sequence[str] | None = None
) -> list[str]:
    """The feature columns :func:`iter_chunks` will yield for ``source`` (:func:`column_policy`)."""
    return column_policy(source, target=target, features=features)[0]


class RowGroups:
    """The row groups of a Parquet file (``row_groups``: only those) or of a directory of shards (sorted by
    name; rows numbered across them), one chunk each, read by index from any thread: each thread opens
    its own :class:`pyarrow.parquet.ParquetFile`, so several threads read a stream's chunks at once.

    Feature columns are ``features`` or every numeric column but the target in the first file's schema;
    every file must hold them. A chunk is decoded column by column into its buffer (peak: the buffer and
    one decoded column; a whole-group decode would hold the decoded table beside it, measured 500 vs
    220 MB at 1e5 × 100); files are not memory-mapped (mapped pages count as resident memory) and not
    pre-buffered (464 vs 336 MB measured)."""

    def __init__(
        self,
        source: str | os.PathLike,
        *,
        target: str,
        features: Sequence[str] | None = None,
        row_groups: Sequence[int] | None = None,
    ) -> None:
        src = Path(source)
        if src.is_dir() and row_groups is not None:
            raise ValueError("row_groups= applies to one Parquet file, not a directory")
        if not src.exists():
            raise FileNotFoundError(src)
        files = parquet_files(src) if src.is_dir() else [src]
        self.target = target
        self.features: list[str] | None = None
        #: (file, row group, 0-based first row in the whole source, rows) per chunk
        self.index: list[tuple[Path, int, int, int]] = []
        # parsed footers of the files in use, shared by the threads' readers: a footer costs about 1.5 KB
        # per column chunk (15 MB for 100 row groups of 101 columns), so it is parsed once and only the
        # two files in use are kept (the first two, to begin with)
        self._meta: dict[Path, pq.FileMetaData] = {}
        first = 0
        for i, f in enumerate(files):
            md = read_metadata(f)
            # the first file fixes the feature columns; every later one must hold them
            self.features = _pick_features(
                f, md.schema.to_arrow_schema(), target, self.features if i else features
            )[0]
            starts = np.concatenate(
                [[0], np.cumsum([md.row_group(g).num_rows for g in range(md.num_row_groups)])]
            )
            for g in range(md.num_row_groups) if row_groups is None else row_groups:
                self.index.append((f, int(g), first + int(starts[g]), md.row_group(g).num_rows))
            first += md.num_rows
            if len(self._meta) < 2:
                self._meta[f] = md
            del md
        self._local = threading.local()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.index)

    @property
    def max_rows(self) -> int:
        return max((rows for *_, rows in self.index), default=0)

    def _file(self, path: Path) -> pq.ParquetFile:
        local = self._local.__dict__
        if local.get("path") != path:
            local.pop("file", None)
            with self._lock:
                md = self._meta.get(path)
                if md is None:
                    md = self._meta[path] = read_metadata(path)
                    while len(self._meta) > 2:
                        self._meta.pop(next(iter(self._meta)))
            local["path"], local["file"] = path, pq.ParquetFile(path, metadata=md, pre_buffer=False)
        return local["file"]

    def read(self, k: int, pool: BufferPool | None = None) -> tuple[np.ndarray, np.ndarray, int]:
        """Chunk ``k``: ``(X, y, first_row)``, as :func:`iter_chunks` yields it."""
        path, g, row, m = self.index[k]
        pf = self._file(path)

        def column(name: str) -> pa.ChunkedArray:
            return pf.read_row_group(g, columns=[name], use_threads=False).column(0)

        x, y = _to_block(path, column, self.features, self.target, row, rows=m, pool=pool)
        return x, y, row

    def chunks(
        self, chunk_rows: int | None = None, pool: BufferPool | None = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
        """Every chunk in order: a row group each, or batches of at most ``chunk_rows`` rows of it."""
        for k, (path, g, row, m) in enumerate(self.index):
            if chunk_rows is None or chunk_rows >= m:
                yield self.read(k, pool)
                continue
            batches = self._file(path).iter_batches(
                batch_size=chunk_rows, row_groups=[g], columns=self.features + [self.target], use_threads=True
            )
            for batch in batches:
                x, y = _to_block(path, batch, self.features, self.target, row, pool=pool)
                rows = batch.num_rows
                del batch
                yield x, y, row
                row += rows


def _iter_csv(
    file: Path,
    target: str,
    features: Sequence[str] | None,
    chunk_rows: int | None,
    block_size: int,
    pool: BufferPool | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
    read_opts = pacsv.ReadOptions(block_size=block_size)
    probe = pacsv.open_csv(file, read_options=read_opts)
    schema = probe.schema
    probe.close() if hasattr(probe, "close") else None
    del probe
    feats = _pick_features(file, schema, target, features)[0]
    cols = feats + [target]
    # only an empty cell is missing: "nan"/"NA" are reported as written, not silently nulled
    conv = pacsv.ConvertOptions(
        include_columns=cols,
        column_types={c: pa.float64() for c in cols},
        null_values=[""],
        strings_can_be_null=False,
    )
    try:  # the reader converts its first block on opening
        reader = pacsv.open_csv(file, read_options=read_opts, convert_options=conv)
    except pa.ArrowInvalid as exc:
        raise _locate_csv_error(file, cols, 0, block_size, exc) from None
    row = 0
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except pa.ArrowInvalid as exc:
            raise _locate_csv_error(file, cols, row, block_size, exc) from None
        m = batch.num_rows
        start = 0
        step = chunk_rows or m
        while start < m:
            part = batch.slice(start, min(step, m - start))
            x, y = _to_block(file, part, feats, target, row + start, pool=pool)
            yield x, y, row + start
            start += part.num_rows
        row += m


def _locate_csv_error(
    file: Path, cols: list[str], rows_done: int, block_size: int, exc: Exception
) -> ValueError:
    """Re-read from the failing block as text and find the first unparsable cell (vectorised per block)."""
    import pandas as pd

    conv = pacsv.ConvertOptions(
        include_columns=cols, column_types={c: pa.string() for c in cols}, strings_can_be_null=True
    )
    reader = pacsv.open_csv(
        file,
        read_options=pacsv.ReadOptions(block_size=block_size, skip_rows_after_names=rows_done),
        convert_options=conv,
    )
    row = rows_done
    for batch in reader:
        block = np.column_stack(
            [
                pd.to_numeric(
                    pd.Series(batch.column(c).to_numpy(zero_copy_only=False)), errors="coerce"
                ).to_numpy(dtype=float, na_value=np.nan)
                for c in cols
            ]
        )
        bad = ~np.isfinite(block)
        if bad.any():
            i = int(np.flatnonzero(bad.any(axis=1))[0])
            j = int(np.flatnonzero(bad[i])[0])
            raw = batch.column(cols[j])[i].as_py()
            shown = "missing (empty)" if raw in (None, "") else repr(raw)
            return ValueError(
                f"{file}: column {cols[j]!r}, data row {row + i + 1}: value {shown} is not a finite number"
            )
        row += batch.num_rows
    return ValueError(f"{file}: could not read CSV after data row {rows_done}: {exc}")


def iter_chunks(
    source: str | os.PathLike,
    *,
    target: str,
    features: Sequence[str] | None = None,
    chunk_rows: int | None = None,
    row_groups: Sequence[int] | None = None,
    block_size: int = 1 << 24,
    pool: BufferPool | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
    """Stream float64 ``(X_chunk, y_chunk, first_row_index)`` (0-based row of the chunk's first row in the
    whole source) from a Parquet file, a directory of ``*.parquet`` shards (sorted by name; rows numbered
    across shards) or a ``.csv`` file.

    Chunks are Parquet row groups (``chunk_rows=None``) or at most ``chunk_rows`` rows; for CSV, blocks of
    ``block_size`` bytes cut to at most ``chunk_rows`` rows. ``X_chunk`` is Fortran-ordered and owned by
    the caller (``X`` and ``y`` are views of one ``(m, d + 2)`` buffer whose spare column the streaming
    solver fills with ones): a fresh buffer each chunk, or one taken from ``pool`` (give it back with
    :meth:`BufferPool.give` once the chunk is spent, and it is reused). Feature columns are ``features``
    or, by default, every numeric column but the target in the first file's schema; a later file must
    hold the same columns.
    ``row_groups`` (one Parquet file only) reads just those groups (see :func:`shard_ranges`).
    """
    src = Path(source)
    if src.is_file() and is_csv(src):
        if row_groups is not None:
            raise ValueError("row_groups= applies to Parquet files only")
        yield from _iter_csv(src, target, features, chunk_rows, block_size, pool)
        return
    yield from RowGroups(src, target=target, features=features, row_groups=row_groups).chunks(
        chunk_rows, pool
    )


# --------------------------------------------------------------------------------------------- size guard


def _total_ram() -> int:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover - non-Linux
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def estimated_bytes(path: Path) -> int:
    """The uncompressed size of a Parquet file or folder (row-group byte sizes, at least rows × columns × 8)
    or of a CSV file (its size), in bytes."""
    if path.is_dir():
        return sum(estimated_bytes(f) for f in parquet_files(path))
    if path.suffix.lower() == ".parquet":
        md = read_metadata(path)
        total = sum(md.row_group(g).total_byte_size for g in range(md.num_row_groups))
        return max(int(total), int(md.num_rows) * int(md.num_columns) * 8)
    return path.stat().st_size


def check_fits_in_memory(path: str | os.PathLike, fraction: float = 0.25) -> int:
    """Raise :class:`MemoryError` when the uncompressed size of ``path`` (Parquet: row-group byte sizes or
    rows × columns × 8; CSV: file size) exceeds ``fraction`` of total RAM; returns the estimate in bytes."""
    p = Path(path)
    need, ram = estimated_bytes(p), _total_ram()
    if need > fraction * ram:
        raise MemoryError(
            f"{p}: about {need / 2**30:.2f} GiB uncompressed, more than {fraction:.0%} of this machine's "
            f"{ram / 2**30:.1f} GiB RAM; set `streaming: true` for this dataset to fit it chunk by chunk"
        )
    return need
