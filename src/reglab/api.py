"""reglab from Python: exact least squares and design diagnostics on arrays, data frames or files.

Three calls, each on the same core the pipeline runs (:mod:`reglab.linalg`), with the same checks and
messages (file, column, data row, value):

* :func:`fit` -- the recommended least-squares answer (Householder QR of the power-of-two scaled design
  with double-double refinement; for small designs the exact rational solution, correctly rounded),
  its standard errors, R², residual SD, rank, condition and digits;
* :func:`diagnose` -- is the design identifiable (rank, conditioning, VIF, Belsley-Kuh-Welsch, the
  null space when it is not)?
* :func:`fit_stream` -- the same fit chunk by chunk from a Parquet file, a folder of Parquet shards or
  a CSV file too large to hold: two passes at most, memory of a few chunks.

Inputs: ``X`` as a numpy array (n, p) with ``y`` (n,); a pandas DataFrame with ``y`` a Series/array or
``target`` a column name; or a path (CSV, Parquet file, folder of Parquet files) with ``target``.
Features default to every other column that holds numbers; columns left out are listed with the
reason in ``columns_left_out``. A large Parquet input given to :func:`fit` is streamed.

>>> import numpy as np
>>> x = np.arange(10.0)
>>> f = fit(x[:, None], 3.0 + 2.0 * x, features=["x"])
>>> f.coef, f.intercept, f.rank, f.correct_digits
({'x': 2.0}, 3.0, 2, 16.0)

This module imports neither TensorFlow, Keras, matplotlib nor Snakemake.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["STREAM_ABOVE_BYTES", "Diagnosis", "Fit", "diagnose", "fit", "fit_stream"]

#: :func:`fit` streams a file whose uncompressed size is above this (Parquet: row-group sizes or rows ×
#: columns × 8 bytes; CSV: the file's size), and every folder of shards
STREAM_ABOVE_BYTES: int = 512 * 2**20

PathLike = str | os.PathLike


def _num(v: Any) -> float | None:
    """A finite float, or None (JSON has no inf or nan)."""
    if v is None:
        return None
    v = float(v) + 0.0  # -0.0 reads as 0.0
    return v if math.isfinite(v) else None


def _g(v: float | None, spec: str = ".6g") -> str:
    return "—" if v is None else format(v, spec)


@dataclass(frozen=True)
class Fit:
    """One least-squares fit in the result vocabulary (:mod:`reglab.linalg.lsq.result`).

    ``coef`` (feature -> value), ``intercept`` (None without one), ``se`` (parameter -> standard error,
    the intercept's under ``"intercept"``; None where the coefficients are not identifiable), ``r2`` with
    ``r2_kind`` (``centred`` with an intercept), ``residual_sd``, ``dof``, ``n``, ``rank`` of the design
    ``[X, 1]`` and its ``n_params``, ``conditions`` (each under its vocabulary name,
    :data:`reglab.linalg.lsq.result.CONDITION_NAMES`), ``claimed_digits`` (the path's own estimate),
    ``correct_digits`` (measured against the exact rational solution where one was computed, else None)
    with ``correct_digits_metric``, ``se_digits`` (claimed), ``method``, ``streamed``, the diagnostics'
    ``verdict_class`` and ``verdict`` (in memory), ``columns_left_out``, ``source`` and ``message``."""

    coef: dict[str, float]
    intercept: float | None
    se: dict[str, float | None] | None
    r2: float | None
    r2_kind: str
    residual_sd: float | None
    dof: int
    n: int
    rank: int
    n_params: int
    conditions: dict[str, float | None]
    claimed_digits: float | None
    correct_digits: float | None
    correct_digits_metric: str
    se_digits: float | None
    method: str
    streamed: bool
    verdict_class: str | None = None
    verdict: str | None = None
    columns_left_out: dict[str, str] = field(default_factory=dict)
    source: str | None = None
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The fit as plain JSON-ready types (what ``reglab fit --json`` prints)."""
        return asdict(self)

    @property
    def digits(self) -> float | None:
        """The digits to trust: the measured ones where there are, else the claimed ones."""
        return self.correct_digits if self.correct_digits is not None else self.claimed_digits

    def summary(self) -> str:
        """A short table a person reads: each parameter's estimate, standard error and digits; then the
        rank, condition, fit statistics and the verdict."""
        names = [*self.coef, *(["intercept"] if self.intercept is not None else [])]
        values = {**self.coef, "intercept": self.intercept}
        width = max([9, *(len(n) for n in names)])
        how = "measured" if self.correct_digits is not None else "claimed"
        lines = [f"{'parameter':<{width}}  {'estimate':>22}  {'std. error':>12}  digits ({how})"]
        for n in names:
            se = None if self.se is None else self.se.get(n)
            lines.append(
                f"{n:<{width}}  {values[n]:>22.17g}  {_g(se, '>12.6g'):>12}  {_g(self.digits, '.1f')}"
            )
        cond = ", ".join(f"{k} {_g(v, '.3g')}" for k, v in self.conditions.items())
        lines += [
            "",
            f"n {self.n}, rank {self.rank} of {self.n_params}, dof {self.dof}; {cond}",
            f"R² ({self.r2_kind}) {_g(self.r2, '.10g')}, residual SD {_g(self.residual_sd)}; "
            f"standard errors keep about {_g(self.se_digits, '.1f')} digits",
            f"method: {self.method}",
        ]
        if self.verdict:
            lines.append(f"verdict ({self.verdict_class}): {self.verdict}")
        if self.columns_left_out:
            lines.append(
                "columns left out: " + "; ".join(f"{k} ({v})" for k, v in self.columns_left_out.items())
            )
        if self.message and self.message != "ok":
            lines.append(f"note: {self.message}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        coef = ", ".join(f"{k}={v:.6g}" for k, v in list(self.coef.items())[:6])
        more = ", …" if len(self.coef) > 6 else ""
        icpt = "" if self.intercept is None else f", intercept={self.intercept:.6g}"
        return (
            f"Fit(n={self.n}, rank={self.rank}/{self.n_params}, coef={{{coef}{more}}}{icpt}, "
            f"digits={_g(self.digits, '.1f')})"
        )


@dataclass(frozen=True)
class Diagnosis:
    """Whether a design has one least-squares answer: ``verdict_class`` (``identifiable``,
    ``near-collinear`` or ``not identifiable``) and ``verdict`` (a sentence), ``rank`` of ``n_params``,
    ``conditions`` (``condition_raw``, ``condition_scaled``), ``vif`` (feature -> VIF; None for an
    infinite or undefined one), the ``null_space`` as equations, ``constant_columns``,
    ``columns_left_out``, ``source``, and ``details``: every number of
    :func:`reglab.linalg.diagnostics.diagnose`."""

    verdict_class: str
    verdict: str
    n: int
    rank: int
    n_params: int
    conditions: dict[str, float | None]
    vif: dict[str, float | None]
    null_space: list[str]
    constant_columns: list[str]
    columns_left_out: dict[str, str] = field(default_factory=dict)
    source: str | None = None
    details: dict[str, Any] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The diagnosis as plain JSON-ready types (what ``reglab diagnose --json`` prints)."""
        return asdict(self)

    def summary(self) -> str:
        """The verdict, rank and conditions, then each feature's VIF and any exact dependence."""
        width = max([7, *(len(n) for n in self.vif)])
        cond = ", ".join(f"{k} {_g(v, '.3g')}" for k, v in self.conditions.items())
        lines = [
            f"{self.verdict_class}: {self.verdict}",
            f"n {self.n}, rank {self.rank} of {self.n_params}; {cond}",
            "",
            f"{'feature':<{width}}  {'VIF':>10}",
            *(f"{k:<{width}}  {_g(v, '>10.4g'):>10}" for k, v in self.vif.items()),
        ]
        lines += [f"dependence: {eq}" for eq in self.null_space]
        if self.constant_columns:
            lines.append("constant columns: " + ", ".join(self.constant_columns))
        if self.columns_left_out:
            lines.append(
                "columns left out: " + "; ".join(f"{k} ({v})" for k, v in self.columns_left_out.items())
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Diagnosis({self.verdict_class!r}, rank={self.rank}/{self.n_params}, n={self.n})"


# ------------------------------------------------------------------------------------------------ inputs


@dataclass(frozen=True)
class _Inputs:
    X: np.ndarray
    y: np.ndarray | None
    features: list[str]
    columns_left_out: dict[str, str]
    source: str | None


def _is_path(data: Any) -> bool:
    return isinstance(data, (str, os.PathLike))


def _inputs(
    data: Any, y: Any, *, target: str | None, features: Sequence[str] | None, intercept: bool, need_y: bool
) -> _Inputs:
    """Arrays, a DataFrame or a path, to a design with names (the pipeline's checks and messages)."""
    from reglab.data import datasets

    if _is_path(data):
        if target is None:
            raise ValueError(f"{data}: give the target column (target=...)")
        ds = datasets.from_file("api", data, target=target, features=features, intercept=intercept)
        return _of_dataset(ds, str(data))
    import pandas as pd  # a dependency; imported here so that arrays alone do not load it

    if isinstance(data, pd.DataFrame):
        frame = data
        if y is not None:
            if target is not None:
                raise ValueError("give y or target, not both")
            target = "y" if "y" not in frame.columns else "__target__"
            frame = frame.assign(**{target: np.asarray(y)})
            if features is None:
                features = [str(c) for c in data.columns]
        if target is None:
            raise ValueError("a DataFrame needs y=... or target='column'")
        ds = datasets.from_frame("api", frame, target=target, features=features, intercept=intercept)
        return _of_dataset(ds, None)
    if y is None and need_y:
        raise ValueError("X given as an array needs y (n,)")
    X = np.asarray(data)
    names = list(features) if features is not None else None
    from reglab.linalg.lsq.design import Design

    d = Design.of(X, y, features=names, intercept=intercept, min_rows=2 if need_y else 1)
    return _Inputs(d.X, d.y, list(d.features), {}, None)


def _of_dataset(ds: Any, source: str | None) -> _Inputs:
    prov = ds.provenance
    left = {k: v for k, v in prov.get("columns_left_out", {}).items() if v != "not listed in features:"}
    return _Inputs(ds.X(None), ds.y(None, None), list(ds.features), left, source)


def _should_stream(path: Path) -> bool:
    from reglab.data import large

    if path.is_dir():
        return True
    if not path.exists():
        return False
    return large.estimated_bytes(path) > STREAM_ABOVE_BYTES


# ------------------------------------------------------------------------------------------------ calls


def fit(
    data: Any,
    y: Any = None,
    *,
    target: str | None = None,
    features: Sequence[str] | None = None,
    intercept: bool = True,
    stream: bool | None = None,
) -> Fit:
    """Least squares ``y ~ [1 +] X`` by the recommended solver, with its inference and digits.

    ``data``: ``X`` (n, p) array with ``y`` (n,); a DataFrame with ``y`` or ``target``; or a path (CSV,
    Parquet file or folder) with ``target``. ``features`` picks columns (default: every other numeric
    one). ``stream``: fit chunk by chunk (:func:`fit_stream`); by default a folder of shards and a file
    above :data:`STREAM_ABOVE_BYTES` are streamed. Raises ValueError (a
    :class:`reglab.data.datasets.DataError` for files) naming the file, column, row and value.

    >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 1.0]])
    >>> f = fit(X, [1.0, 2.0, 3.0, 4.0], features=["a", "b"])
    >>> f.rank, f.n_params, f.dof, f.verdict_class
    (3, 3, 1, 'identifiable')
    >>> sorted(f.to_dict())[:4]
    ['claimed_digits', 'coef', 'columns_left_out', 'conditions']
    """
    if _is_path(data) and (stream or (stream is None and _should_stream(Path(data)))):
        if target is None:
            raise ValueError(f"{data}: give the target column (target=...)")
        return fit_stream(data, target=target, features=features, intercept=intercept)
    if stream:
        raise ValueError("stream=True needs a path (CSV, Parquet file or folder)")
    from reglab.linalg import diagnostics, solvers

    inp = _inputs(data, y, target=target, features=features, intercept=intercept, need_y=True)
    res = solvers.least_squares_all(
        inp.X, inp.y, intercept=intercept, feature_names=inp.features, solvers=("refined",)
    )
    ref = res["solvers"]["refined"]
    if ref["status"] != "ok":
        raise FloatingPointError(f"the least-squares solve failed: {ref['message']}")
    diag = diagnostics.diagnose(
        inp.X, feature_names=inp.features, intercept=intercept, vif_method="correlation"
    )
    se = ref.get("se")
    return Fit(
        coef={k: float(v) for k, v in ref["coef"].items()},
        intercept=None if ref["intercept"] is None else float(ref["intercept"]),
        se=None if se is None else {k: _num(v) for k, v in se.items()},
        r2=_num(ref.get("r2")),
        r2_kind=ref.get("r2_kind", "centred" if intercept else "uncentred"),
        residual_sd=_num(ref.get("residual_sd")),
        dof=int(ref["dof"]),
        n=int(len(inp.y)),
        rank=int(res["rank"]),
        n_params=int(res["n_params"]),
        conditions={
            "condition_pow2_scaled": _num(res["condition_pow2_scaled"]),
            "condition_scaled": _num(diag["condition_scaled"]),
            "condition_raw": _num(diag["condition_raw"]),
        },
        claimed_digits=_num(ref.get("estimated_digits")),
        correct_digits=_num(res["correct_digits"]) if res["exact_available"] else None,
        correct_digits_metric="lre_componentwise",
        se_digits=_num(ref.get("se_digits")),
        method=str(ref.get("method", "")),
        streamed=False,
        verdict_class=diag["verdict_class"],
        verdict=diag["verdict"],
        columns_left_out=inp.columns_left_out,
        source=inp.source,
        message=ref.get("message") or "ok",
    )


def fit_stream(
    paths: PathLike | Sequence[PathLike],
    *,
    target: str,
    features: Sequence[str] | None = None,
    intercept: bool = True,
    chunk_rows: int | None = None,
    threads: int | None = None,
) -> Fit:
    """:func:`fit` chunk by chunk: a Parquet file, a folder of Parquet shards, a CSV file, or a list of
    them (one part each, merged in order). One pass of Gram statistics; a second (TSQR) pass when the
    first cannot keep the digits. Memory: a few chunks of ``chunk_rows`` rows.

    >>> import tempfile, pandas as pd
    >>> folder = Path(tempfile.mkdtemp())
    >>> x = np.arange(20.0)
    >>> pd.DataFrame({"x": x, "y": 1.0 + 0.5 * x}).to_parquet(folder / "part.parquet")
    >>> f = fit_stream(folder / "part.parquet", target="y")
    >>> round(f.coef["x"], 12), round(f.intercept, 12), f.streamed
    (0.5, 1.0, True)
    """
    from reglab.data import large
    from reglab.data.datasets import DataError
    from reglab.linalg import streaming
    from reglab.linalg.lsq.result import from_streamed

    items = [paths] if _is_path(paths) else list(paths)
    parts, names, left = [], None, {}
    for item in items:
        path = Path(item)
        if not path.exists():
            raise DataError(f"{path}: file not found")
        got, feats = streaming.source_parts(path, target=target, features=features, chunk_rows=chunk_rows)
        left.update(large.column_policy(path, target=target, features=features)[1])
        if names is not None and feats != names:
            raise DataError(f"{path}: feature columns {feats} differ from the first input's {names}")
        parts += got
        names = feats
    res = streaming.solve_stream(parts, intercept=intercept, features=names, threads=threads)
    v = from_streamed(res, names, intercept=intercept)
    return Fit(
        coef={k: float(c) for k, c in v["coef"].items()},
        intercept=float(v["intercept"]) if intercept else None,
        se={k: _num(s) for k, s in v["se"].items()},
        r2=_num(v["r2"]),
        r2_kind="centred" if intercept else "uncentred",
        residual_sd=_num(v["residual_sd"]),
        dof=int(v["dof"]),
        n=int(v["n"]),
        rank=int(v["rank"]),
        n_params=int(v["n_params"]),
        conditions={
            "condition_centred_scaled": _num(v["condition_centred_scaled"]),
            "condition_raw": _num(v["condition_raw"]),
        },
        claimed_digits=_num(v["claimed_digits"]),
        correct_digits=None,
        correct_digits_metric=v["correct_digits_metric"],
        se_digits=_num(v["se_digits"]),
        method=f"streamed, {v['passes']} pass(es): {v['method']}",
        streamed=True,
        columns_left_out=left,
        source=", ".join(str(i) for i in items),
        message=v["message"],
    )


def diagnose(
    data: Any,
    y: Any = None,
    *,
    target: str | None = None,
    features: Sequence[str] | None = None,
    intercept: bool = True,
) -> Diagnosis:
    """Is the design identifiable, and how close to collinear is it? The pipeline's diagnostics
    (:func:`reglab.linalg.diagnostics.diagnose`) of ``X`` (``y`` optional: with it the minimum-norm
    solution and the solution set are in ``details``); inputs as :func:`fit`.

    >>> x = np.arange(6.0)
    >>> d = diagnose(np.column_stack([x, 2.0 * x]), features=["a", "b"])
    >>> d.verdict_class, d.rank, d.n_params, d.null_space
    ('not identifiable', 2, 3, ['0.894*a - 0.447*b = 0'])
    """
    from reglab.linalg import diagnostics

    inp = _inputs(data, y, target=target, features=features, intercept=intercept, need_y=False)
    res = diagnostics.diagnose(inp.X, feature_names=inp.features, intercept=intercept, y=inp.y)
    return Diagnosis(
        verdict_class=res["verdict_class"],
        verdict=res["verdict"],
        n=int(res["n"]),
        rank=int(res["rank"]),
        n_params=int(res["n_params"]),
        conditions={"condition_raw": res["condition_raw"], "condition_scaled": res["condition_scaled"]},
        vif=dict(res["vif"]),
        null_space=list(res["null_space_descriptions"]),
        constant_columns=list(res["constant_columns"]),
        columns_left_out=inp.columns_left_out,
        source=inp.source,
        details=res,
    )
