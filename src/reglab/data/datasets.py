"""Datasets: generators for the seed documents' data, loaders for user files, one artifact format.

A dataset artifact is one Parquet file: feature columns, target columns (the first is the
primary target), an optional ``split`` column (``train``/``validation``) and an optional
``group`` column (the amortized dataset of datasets). Its schema metadata (key ``reglab``)
holds the names, the intercept flag, the true coefficients where known, and the provenance:
generator + parameters + seed, or file + sha256.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from reglab.core.io import atomic_path
from reglab.core.rng import generator
from reglab.core.timing import phase
from reglab.data.cells import decimal_comma_hint

META_KEY = b"reglab"


class DataError(ValueError):
    """A dataset file or definition is unusable; the message names file, column and row."""


@dataclass
class Dataset:
    """A named regression problem: ``frame`` holds features, targets and optional split/group."""

    name: str
    frame: pd.DataFrame
    features: list[str]
    targets: list[str]
    intercept: bool
    provenance: dict[str, Any]
    truth: dict[str, dict[str, float]] = field(default_factory=dict)  # target -> {param: value}
    notes: str = ""

    @property
    def target(self) -> str:
        return self.targets[0]

    @property
    def has_split(self) -> bool:
        return "split" in self.frame.columns

    def part(self, split: str | None = "train") -> pd.DataFrame:
        """Rows of one split (``train``/``validation``); all rows if there is no split or split is None."""
        if split is None or not self.has_split:
            return self.frame
        return self.frame[self.frame["split"] == split]

    def X(self, split: str | None = "train") -> np.ndarray:
        """Design without intercept column, shape (n, p), float64."""
        return self.part(split)[self.features].to_numpy(dtype=np.float64)

    def y(self, target: str | None = None, split: str | None = "train") -> np.ndarray:
        """Target vector, shape (n,), float64."""
        return self.part(split)[target or self.target].to_numpy(dtype=np.float64)

    def is_binary(self, target: str | None = None) -> bool:
        values = np.unique(self.frame[target or self.target].to_numpy())
        return bool(len(values) <= 2 and set(values.tolist()) <= {0.0, 1.0})

    def metadata(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "features": self.features,
            "targets": self.targets,
            "intercept": self.intercept,
            "provenance": self.provenance,
            "truth": self.truth,
            "notes": self.notes,
        }


def save(dataset: Dataset, path: str | Path) -> None:
    """Write the dataset artifact atomically (Parquet + metadata)."""
    table = pa.Table.from_pandas(dataset.frame, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[META_KEY] = json.dumps(dataset.metadata()).encode("utf-8")
    table = table.replace_schema_metadata(meta)
    with phase("write"), atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def load(path: str | Path) -> Dataset:
    """Read a dataset artifact written by :func:`save`."""
    with phase("read"):
        return _load(path)


def _load(path: str | Path) -> Dataset:
    table = pq.read_table(path)
    raw = (table.schema.metadata or {}).get(META_KEY)
    if raw is None:
        raise DataError(f"{path}: not a reglab dataset artifact (no '{META_KEY.decode()}' metadata)")
    meta = json.loads(raw)
    return Dataset(
        name=meta["name"],
        frame=table.to_pandas(),
        features=list(meta["features"]),
        targets=list(meta["targets"]),
        intercept=bool(meta["intercept"]),
        provenance=meta["provenance"],
        truth=meta.get("truth") or {},
        notes=meta.get("notes", ""),
    )


def _provenance(kind: str, params: Mapping[str, Any], seed: int | None) -> dict[str, Any]:
    return {"generator": kind, "parameters": dict(params), "seed": seed}


# --------------------------------------------------------------------------- generators


def collinear_toy(name: str = "collinear_toy") -> Dataset:
    """Seed 001's table exactly as printed: x2 = x1 + 1 for every row, y = 2*x1 + 1."""
    x = np.array([[1, 2], [2, 3], [3, 4], [4, 5], [5, 6]], dtype=float)
    y = np.array([3, 5, 7, 9, 11], dtype=float)
    frame = pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "y": y})
    return Dataset(
        name=name,
        frame=frame,
        features=["x1", "x2"],
        targets=["y"],
        intercept=True,
        provenance=_provenance("collinear_toy", {}, None),
        notes=(
            "x2 = x1 + 1 in every row, y = 2*x1 + 1: every (w1, w2, b) with w1 + w2 = 2 and w2 + b = 1 "
            "fits exactly."
        ),
    )


def collinear(
    *,
    n: int,
    dependency_noise: float,
    coef: Sequence[float],
    intercept_value: float,
    noise: float,
    seed: int,
    name: str = "collinear",
) -> Dataset:
    """x1, x2 ~ N(0, 1); x3 = x1 + x2 + dependency_noise * N(0, 1); y = X @ coef + intercept + noise *
    N(0, 1)."""
    if n < 2:
        raise DataError(f"dataset '{name}': n must be >= 2, got {n}")
    if len(coef) != 3:
        raise DataError(f"dataset '{name}': coef must have 3 values (x1, x2, x3), got {len(coef)}")
    rng = generator(seed, "dataset", name)
    x1 = rng.standard_normal(n)
    x2 = rng.standard_normal(n)
    x3 = x1 + x2 + dependency_noise * rng.standard_normal(n)
    X = np.column_stack([x1, x2, x3])
    y = X @ np.asarray(coef, dtype=float) + intercept_value + noise * rng.standard_normal(n)
    frame = pd.DataFrame({"x1": x1, "x2": x2, "x3": x3, "y": y})
    params = {
        "n": n,
        "dependency_noise": dependency_noise,
        "coef": list(coef),
        "intercept_value": intercept_value,
        "noise": noise,
    }
    truth = {"y": {"x1": coef[0], "x2": coef[1], "x3": coef[2], "intercept": intercept_value}}
    return Dataset(
        name,
        frame,
        ["x1", "x2", "x3"],
        ["y"],
        True,
        _provenance("collinear", params, seed),
        truth,
        notes="x3 = x1 + x2 + small noise: a controllable near-linear dependency.",
    )


def underdetermined(*, n: int, d: int, seed: int, name: str = "underdetermined") -> Dataset:
    """Seed 002's system: A ~ U[0, 1)^(n x d), b ~ U[0, 1)^n, no intercept (n < d: exact fits exist)."""
    if n < 2 or d < 1:
        raise DataError(f"dataset '{name}': need n >= 2 and d >= 1, got n={n}, d={d}")
    rng = generator(seed, "dataset", name)
    A = rng.random((n, d))
    b = rng.random(n)
    features = [f"a{j + 1}" for j in range(d)]
    frame = pd.DataFrame(A, columns=features)
    frame["b"] = b
    return Dataset(
        name, frame, features, ["b"], False, _provenance("underdetermined", {"n": n, "d": d}, seed)
    )


def balloons(*, n: int, validation_fraction: float, seed: int, name: str = "balloons") -> Dataset:
    """Seed 003's data-generating process as printed.

    relationship is -0.5 (partnered) or +0.5 (single) with equal probability; children and
    age are U[-0.5, 0.5]. Partnered: balloons = 1.0*children - 0.2*age, colour = [0.8*children
    + 0.2*age > 0]; single: balloons = 0.8*children + 0.5*age, colour = [0.5*children + 0.5*age > 0].
    The last ``validation_fraction`` of rows form the validation part.
    """
    if not 0.0 < validation_fraction < 1.0:
        raise DataError(f"dataset '{name}': validation_fraction must be in (0, 1), got {validation_fraction}")
    rng = generator(seed, "dataset", name)
    relationship = rng.choice(np.array([-0.5, 0.5]), size=n)
    children = rng.uniform(-0.5, 0.5, size=n)
    age = rng.uniform(-0.5, 0.5, size=n)
    partnered = relationship == -0.5
    num_balloons = np.where(partnered, 1.0 * children - 0.2 * age, 0.8 * children + 0.5 * age)
    colour = np.where(partnered, 0.8 * children + 0.2 * age > 0, 0.5 * children + 0.5 * age > 0)
    n_val = int(round(validation_fraction * n))
    if n - n_val < 2 or n_val < 1:
        raise DataError(f"dataset '{name}': n={n} leaves too few rows for a train/validation split")
    split = np.where(np.arange(n) < n - n_val, "train", "validation")
    frame = pd.DataFrame(
        {
            "relationship": relationship,
            "children": children,
            "age": age,
            "num_balloons": num_balloons,
            "color": colour.astype(float),
            "split": split,
        }
    )
    # The least-squares projection of the printed DGP onto (relationship, children, age, 1):
    # the groups are balanced and independent of children/age, so the best linear fit averages them.
    truth = {
        "num_balloons": {
            "relationship": 0.0,
            "children": (1.0 + 0.8) / 2,
            "age": (-0.2 + 0.5) / 2,
            "intercept": 0.0,
        }
    }
    return Dataset(
        name,
        frame,
        ["relationship", "children", "age"],
        ["num_balloons", "color"],
        True,
        _provenance("balloons", {"n": n, "validation_fraction": validation_fraction}, seed),
        truth,
        notes="truth for num_balloons is the population least-squares projection, not a DGP coefficient.",
    )


def amortized(
    *, m: int, n: int, d: int, coef_scale: float, noise_max: float, seed: int, name: str = "amortized"
) -> Dataset:
    """Seed 000's dataset of datasets: m datasets of n rows, d coefficients including the bias.

    For each dataset: beta ~ N(0, coef_scale^2) of length d, x ~ U[0, 1)^(n x (d-1)), a ones
    column for the bias, noise sd ~ U[0, 1) * noise_max. Rows carry a ``group`` column.
    """
    if d < 2:
        raise DataError(f"dataset '{name}': d counts the bias, so it must be >= 2, got {d}")
    rng = generator(seed, "dataset", name)
    beta = rng.normal(0.0, coef_scale, size=(m, d))
    x = rng.random((m, n, d - 1))
    sd = rng.random(m) * noise_max
    y = np.einsum("mnd,md->mn", x, beta[:, :-1]) + beta[:, -1:] + rng.standard_normal((m, n)) * sd[:, None]
    features = [f"x{j + 1}" for j in range(d - 1)]
    frame = pd.DataFrame(x.reshape(m * n, d - 1), columns=features)
    frame["y"] = y.reshape(m * n)
    frame.insert(0, "group", np.repeat(np.arange(m), n))
    truth = {"y": {"coef_by_group": beta.tolist(), "noise_sd_by_group": sd.tolist()}}
    params = {"m": m, "n": n, "d": d, "coef_scale": coef_scale, "noise_max": noise_max}
    return Dataset(name, frame, features, ["y"], True, _provenance("amortized", params, seed), truth)


# --------------------------------------------------------------------------- files


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _header(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        first = fh.readline()
    return next(csv.reader(io.StringIO(first)), [])


#: Column names reglab's own bookkeeping uses in a dataset's frame (train/validation split, the amortized
#: datasets' group, the design's intercept): a user column of that name is refused when the file is read.
RESERVED_COLUMNS = ("group", "split", "intercept")
_DELIMITERS = (";", "\t", "|")


def _delimiter(path: Path, names: list[str]) -> str:
    """``,`` unless the header is one field that another common delimiter splits into several."""
    if len(names) == 1:
        for d in _DELIMITERS:
            if d in names[0] and len(names[0].split(d)) > 1:
                return d
    return ","


_PANDAS_LINE = re.compile(r"\bline (\d+)\b")


def _data_rows_in(message: str) -> str:
    """pandas counts file lines (the header is line 1); reglab says data rows: ``line L`` →
    ``data row L−1``."""
    return _PANDAS_LINE.sub(lambda m: f"data row {int(m.group(1)) - 1}", message)


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV or Parquet file, refusing duplicate column names (pandas would rename them). A CSV whose
    header is one field holding ``;``, tab or ``|`` is read with that delimiter
    (``frame.attrs["delimiter"]``)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    from reglab.data.large import check_fits_in_memory

    try:  # refused before it is read, instead of an out-of-memory kill
        check_fits_in_memory(path)
    except MemoryError as exc:
        raise DataError(str(exc)) from None
    suffix = path.suffix.lower()
    sep = ","
    if suffix in {".parquet", ".pq"}:
        names = pq.read_schema(path).names
    elif suffix in {".csv", ".txt"}:
        names = _header(path)
        sep = _delimiter(path, names)
        if sep != ",":
            names = next(csv.reader(io.StringIO(names[0]), delimiter=sep), [])
    else:
        raise DataError(f"{path}: unsupported file type '{suffix}' (expected .csv or .parquet)")
    dupes = sorted({c for c in names if names.count(c) > 1})
    if dupes:
        raise DataError(f"{path}: duplicate column name(s) {dupes}")
    try:
        frame = pd.read_parquet(path) if suffix in {".parquet", ".pq"} else pd.read_csv(path, sep=sep)
    except Exception as exc:  # pandas/pyarrow parser errors carry the detail
        raise DataError(f"{path}: cannot be read as {suffix[1:]}: {_data_rows_in(str(exc))}") from exc
    frame.attrs["delimiter"] = sep
    return frame


def _numeric_column(frame: pd.DataFrame, column: str, path: Path) -> np.ndarray:
    """Column as float64; errors name file, column, the first bad data row (1-based, header excluded)
    and its value."""
    series = frame[column]
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
    bad_text = np.flatnonzero(np.isnan(values) & series.notna().to_numpy())
    if bad_text.size:
        row = int(bad_text[0])
        value = series.iloc[row]
        hint = decimal_comma_hint(value)
        raise DataError(
            f"{path}: column '{column}', data row {row + 1}: non-numeric value {value!r}{hint} "
            f"({bad_text.size} non-numeric cell(s) in this otherwise numeric column)"
        )
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        row = int(bad[0])
        kind = "missing/NaN" if np.isnan(values[row]) else "infinite"
        raise DataError(
            f"{path}: column '{column}', data row {row + 1}: {kind} value "
            f"({bad.size} non-finite value(s) in this column)"
        )
    return values


def _infer_features(frame: pd.DataFrame, target: str, path: Path) -> tuple[list[str], dict[str, str]]:
    """Every column but the target that holds numbers; a column with no number at all is left out (and
    said why), one that is numeric except for some cells is an error naming the first bad cell."""
    features, left_out = [], {}
    for c in frame.columns:
        if c == target:
            continue
        series = frame[c]
        if series.notna().sum() == 0:
            left_out[c] = "empty: no value in any row"
            continue
        numeric = pd.to_numeric(series, errors="coerce")
        if pd.api.types.is_numeric_dtype(series) or numeric.notna().sum() > 0:
            _numeric_column(frame, c, path)  # raises on the first non-numeric or missing cell
            features.append(c)
        else:
            first = series.dropna().iloc[0]
            if decimal_comma_hint(first):
                row = int(np.flatnonzero(series.notna().to_numpy())[0]) + 1
                raise DataError(
                    f"{path}: column '{c}', data row {row}: "
                    f"non-numeric value {first!r}{decimal_comma_hint(first)}; every cell of the column is "
                    "written so"
                )
            left_out[c] = f"not numeric: no cell is a number (first value {first!r})"
    return features, left_out


def _refuse_reserved(path: Path, names: Sequence[str]) -> None:
    clash = [c for c in names if c in RESERVED_COLUMNS]
    if clash:
        raise DataError(
            f"{path}: column(s) {clash} have a name reglab uses for its own bookkeeping "
            f"({', '.join(RESERVED_COLUMNS)}); rename them in the file"
        )


def from_file(
    name: str,
    path: str | Path,
    *,
    target: str,
    features: Sequence[str] | None = None,
    intercept: bool = True,
) -> Dataset:
    """A user dataset from CSV/Parquet. ``features`` defaults to every other column that holds numbers;
    columns left out are listed with their reason in ``provenance["columns_left_out"]``."""
    path = Path(path)
    frame = read_table(path)
    extra = {"sha256": sha256_of(path), "delimiter": frame.attrs.get("delimiter", ",")}
    return from_frame(
        name, frame, target=target, features=features, intercept=intercept, source=path, **extra
    )


def from_frame(
    name: str,
    frame: pd.DataFrame,
    *,
    target: str,
    features: Sequence[str] | None = None,
    intercept: bool = True,
    source: str | Path = "<DataFrame>",
    **provenance: Any,
) -> Dataset:
    """A user dataset from a table already in memory, checked as a file is (:func:`from_file`): errors and
    ``columns_left_out`` name ``source``, the column and the data row."""
    path = Path(source)
    columns = list(frame.columns)
    if not all(isinstance(c, str) for c in columns):
        frame = frame.rename(columns=str)
        columns = list(frame.columns)
    if target not in columns:
        raise DataError(f"{path}: target column '{target}' not found; columns are {columns}")
    if len(frame) == 0:
        raise DataError(f"{path}: the file has a header ({len(columns)} columns) but no data rows")
    if len(frame) < 2:
        raise DataError(f"{path}: needs at least 2 data rows, found {len(frame)}")
    left_out: dict[str, str] = {}
    if features is None:
        features, left_out = _infer_features(frame, target, path)
        if not features:
            raise DataError(
                f"{path}: no numeric feature columns besides target '{target}' (left out: {left_out})"
            )
    missing = [c for c in features if c not in columns]
    if missing:
        raise DataError(f"{path}: feature column(s) {missing} not found; columns are {columns}")
    if target in features:
        raise DataError(f"{path}: target '{target}' is also listed as a feature")
    _refuse_reserved(path, [*features, target])
    for c in columns:
        if c not in features and c != target and c not in left_out:
            left_out[c] = "not listed in features:"
    data = {c: _numeric_column(frame, c, path) for c in [*features, target]}
    meta = {"file": str(path), **provenance, "rows": len(frame), "columns_left_out": left_out}
    meta.setdefault("delimiter", ",")
    meta = {k: meta[k] for k in ("file", "sha256", "rows", "delimiter", "columns_left_out") if k in meta}
    return Dataset(name, pd.DataFrame(data), list(features), [target], intercept, meta)


FUEL_FEATURES = ["ENGINESIZE", "CYLINDERS", "FUELCONSUMPTION_COMB"]
FUEL_TARGET = "CO2EMISSIONS"
FUEL_HEADER = [
    "MODELYEAR",
    "MAKE",
    "MODEL",
    "VEHICLECLASS",
    "ENGINESIZE",
    "CYLINDERS",
    "TRANSMISSION",
    "FUELTYPE",
    "FUELCONSUMPTION_CITY",
    "FUELCONSUMPTION_HWY",
    "FUELCONSUMPTION_COMB",
    "FUELCONSUMPTION_COMB_MPG",
    "CO2EMISSIONS",
]
FUEL_ROWS = 1067
#: sha256 of the copy shipped in the repository (data/FuelConsumption.csv; see data/FuelConsumption.SOURCE.md)
FUEL_SHA256 = "79a51cbe05a07c47cac6e0ee3efd16a6bddae8b3f76fcd8b3b7284eed16def7d"


def verify_fuel(path: str | Path) -> str:
    """Check the FuelConsumption file's header, row count and numeric columns; return its sha256."""
    path = Path(path)
    frame = read_table(path)
    if list(frame.columns) != FUEL_HEADER:
        raise DataError(f"{path}: header is {list(frame.columns)}, expected {FUEL_HEADER}")
    if len(frame) != FUEL_ROWS:
        raise DataError(f"{path}: {len(frame)} data rows, expected {FUEL_ROWS}")
    for column in [
        *FUEL_FEATURES,
        FUEL_TARGET,
        "MODELYEAR",
        "FUELCONSUMPTION_CITY",
        "FUELCONSUMPTION_HWY",
        "FUELCONSUMPTION_COMB_MPG",
    ]:
        _numeric_column(frame, column, path)
    return sha256_of(path)


def fetch_fuel(url: str, destination: str | Path, *, timeout: float = 30.0) -> str:
    """Download the FuelConsumption file to ``destination`` (atomically) and verify it."""
    import urllib.request

    destination = Path(destination)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (URL comes from config)
            payload = response.read()
    except Exception as exc:
        raise DataError(
            f"could not download FuelConsumption data from {url}: {exc}. "
            f"Offline? Put the file (1067 rows, header {','.join(FUEL_HEADER[:4])},...) at {destination} "
            "and run again."
        ) from exc
    with atomic_path(destination) as tmp:
        tmp.write_bytes(payload)
        verify_fuel(tmp)
    return sha256_of(destination)


def fuel(path: str | Path, *, name: str = "fuel", sha256: str | None = None) -> Dataset:
    """Seed 004's data: features ENGINESIZE, CYLINDERS, FUELCONSUMPTION_COMB; target CO2EMISSIONS; all rows.
    ``sha256``: the digest the file must have (the shipped copy's); a mismatch names both digests."""
    digest = verify_fuel(path)
    if sha256 is not None and digest != sha256:
        raise DataError(
            f"{path}: sha256 {digest} is not the shipped file's {sha256}; the file was changed "
            "(restore it with `git checkout -- data/FuelConsumption.csv`)"
        )
    return from_file(name, path, target=FUEL_TARGET, features=FUEL_FEATURES, intercept=True)


# --------------------------------------------------------------------------- config entries

GENERATORS = {"collinear_toy", "collinear", "underdetermined", "balloons", "amortized", "fuel"}


def build(name: str, spec: Mapping[str, Any], *, seed: int, path: str | Path | None = None) -> Dataset:
    """Build the dataset a config entry describes.

    ``spec`` is the entry under ``datasets:``; built-ins name a ``kind``, user files give a
    ``path`` (then ``target``, optional ``features`` and ``intercept``). ``path`` overrides
    the file location (the workflow passes the resolved input file).
    """
    kind = spec.get("kind", "file")
    params = {k: v for k, v in spec.items() if k not in {"kind", "path", "url", "sha256"}}
    if kind == "collinear_toy":
        return collinear_toy(name)
    if kind == "collinear":
        return collinear(seed=seed, name=name, **params)
    if kind == "underdetermined":
        return underdetermined(seed=seed, name=name, **params)
    if kind == "balloons":
        return balloons(seed=seed, name=name, **params)
    if kind == "amortized":
        return amortized(seed=seed, name=name, **params)
    if kind == "fuel":
        return fuel(path or spec["path"], name=name, sha256=spec.get("sha256"))
    if kind == "file":
        return from_file(
            name,
            path or spec["path"],
            target=spec["target"],
            features=spec.get("features"),
            intercept=spec.get("intercept", True),
        )
    raise DataError(
        f"dataset '{name}': unknown kind '{kind}' (expected one of {sorted(GENERATORS | {'file'})})"
    )
