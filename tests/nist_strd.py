"""The 11 NIST StRD linear least-squares reference datasets, read from the original ``.dat`` files.

The files in ``tests/data/nist/`` are NIST's own (see ``PROVENANCE.md`` there). Each carries its data
and NIST's certified values for the stated model: parameter estimates, their standard deviations, the
residual standard deviation and R-squared. ``load(name)`` parses one file; ``NistSet.design()`` builds
the regressors the model names, without the intercept column.

Models: Norris ``y = B0 + B1 x``; Pontius ``y = B0 + B1 x + B2 x^2``; Filip a degree-10 polynomial in
``x``; Wampler1-5 degree-5 polynomials; Longley ``y = B0 + B1 x1 + ... + B6 x6``; NoInt1 and NoInt2
``y = B1 x`` with no intercept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

DATA_DIR = Path(__file__).resolve().parent / "data" / "nist"

NAMES: tuple[str, ...] = (
    "Norris",
    "Pontius",
    "NoInt1",
    "NoInt2",
    "Filip",
    "Longley",
    "Wampler1",
    "Wampler2",
    "Wampler3",
    "Wampler4",
    "Wampler5",
)

# name -> (polynomial degree in x, or None for Longley's raw columns; whether the model has B0)
_MODELS: dict[str, tuple[int | None, bool]] = {
    "Norris": (1, True),
    "Pontius": (2, True),
    "NoInt1": (1, False),
    "NoInt2": (1, False),
    "Filip": (10, True),
    "Longley": (None, True),
    "Wampler1": (5, True),
    "Wampler2": (5, True),
    "Wampler3": (5, True),
    "Wampler4": (5, True),
    "Wampler5": (5, True),
}

_LINES = r"\(lines\s+(\d+)\s+to\s+(\d+)\)"
_CERT_LINES = re.compile(r"Certified Values\s*" + _LINES)
_DATA_LINES = re.compile(r"Data\s*" + _LINES)
_NOBS = re.compile(r"^\s*(\d+)\s+Observations\s*$", re.MULTILINE)
_NPRED = re.compile(r"^\s*(\d+)\s+Predictor Variables?", re.MULTILINE)
_PARAM = re.compile(r"^\s*B(\d+)\s+(\S+)\s+(\S+)\s*$")
_RESID_SD = re.compile(r"^\s*Standard Deviation\s+(\S+)\s*$")
_R2 = re.compile(r"^\s*R-Squared\s+(\S+)\s*$")


@dataclass(frozen=True, eq=False)
class NistSet:
    """One StRD dataset: the file's raw columns and NIST's certified values (arrays are read-only).

    ``x`` holds the predictor columns exactly as in the file, shape ``(n, p_raw)`` (one column except
    Longley's six). ``coef`` and ``se`` follow the file's parameter order (B0, B1, ...; B1 alone for
    NoInt1/NoInt2). ``degree`` is the polynomial degree in ``x`` (1 for Norris and NoInt1/NoInt2, 2 for
    Pontius, 10 for Filip, 5 for Wampler1-5) and ``None`` for Longley.
    """

    name: str
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    degree: int | None
    intercept: bool
    coef: NDArray[np.float64]
    se: NDArray[np.float64]
    residual_sd: float
    r2: float

    def design(self) -> NDArray[np.float64]:
        """The regressors without the intercept column, float64: ``x, x**2, ..., x**degree`` for the
        polynomial sets (the single ``x`` for NoInt1/NoInt2), Longley's six raw columns as they are."""
        if self.degree is None:
            return np.array(self.x, dtype=np.float64)
        t = self.x[:, 0].astype(np.float64)
        return np.column_stack([t**k for k in range(1, self.degree + 1)])


def _fail(path: Path, why: str) -> ValueError:
    return ValueError(f"{path}: {why}")


def _one(pattern: re.Pattern[str], text: str, path: Path, what: str) -> re.Match[str]:
    m = pattern.search(text)
    if m is None:
        raise _fail(path, f"no {what} found in the header")
    return m


def _readonly(a: NDArray[np.float64]) -> NDArray[np.float64]:
    a.setflags(write=False)
    return a


def load(name: str, data_dir: Path | None = None) -> NistSet:
    """Parse ``<data_dir>/<name>.dat`` (default ``tests/data/nist``) into a ``NistSet``.

    Raises ``ValueError``, naming the file, when the number of data rows or columns disagrees with
    the header, or the certified block is not what the model needs.
    """
    key = {n.lower(): n for n in NAMES}.get(name.lower())
    if key is None:
        raise ValueError(f"unknown NIST StRD dataset {name!r}; known: {', '.join(NAMES)}")
    degree, intercept = _MODELS[key]
    path = (DATA_DIR if data_dir is None else Path(data_dir)) / f"{key}.dat"
    text = path.read_text(encoding="ascii")
    lines = text.splitlines()

    n_obs = int(_one(_NOBS, text, path, "'<n> Observations' line").group(1))
    n_pred = int(_one(_NPRED, text, path, "'<p> Predictor Variable' line").group(1))
    cert_first, cert_last = map(
        int, _one(_CERT_LINES, text, path, "'Certified Values (lines a to b)'").groups()
    )
    data_first, data_last = map(int, _one(_DATA_LINES, text, path, "'Data (lines a to b)'").groups())
    if data_last - data_first + 1 != n_obs:
        raise _fail(path, f"header says {n_obs} observations but data lines {data_first} to {data_last}")

    # Certified values: the B<k> rows, the residual standard deviation and R-squared.
    params: list[tuple[int, float, float]] = []
    residual_sd: float | None = None
    r2: float | None = None
    for line in lines[cert_first - 1 : cert_last]:
        if m := _PARAM.match(line):
            params.append((int(m.group(1)), float(m.group(2)), float(m.group(3))))
        elif m := _RESID_SD.match(line):
            residual_sd = float(m.group(1))
        elif m := _R2.match(line):
            r2 = float(m.group(1))
    if residual_sd is None or r2 is None:
        raise _fail(path, "certified block lacks the residual standard deviation or R-squared")
    first = 0 if intercept else 1
    n_coef = n_pred + 1 if degree is None else degree + 1
    want = list(range(first, n_coef))
    if [k for k, _, _ in params] != want:
        raise _fail(
            path, f"certified parameters {[f'B{k}' for k, _, _ in params]}, expected B{want[0]}..B{want[-1]}"
        )

    # Data: the last 'Data:' line names the columns (y first); every non-blank line after it is a row.
    heads = [i for i, line in enumerate(lines) if line.startswith("Data:")]
    if not heads:
        raise _fail(path, "no 'Data:' column header line")
    head = heads[-1]
    columns = lines[head].split()[1:]
    if not columns or columns[0] != "y" or len(columns) != 1 + n_pred:
        raise _fail(path, f"data columns {columns}, expected y and {n_pred} predictor(s)")
    rows = [line.split() for line in lines[head + 1 :] if line.strip()]
    if len(rows) != n_obs:
        raise _fail(path, f"header says {n_obs} observations but the data block has {len(rows)} rows")
    if head + 2 != data_first:
        raise _fail(path, f"data rows start on line {head + 2}, header says line {data_first}")
    bad = [i for i, r in enumerate(rows, start=1) if len(r) != len(columns)]
    if bad:
        raise _fail(path, f"data rows {bad} do not have {len(columns)} columns")
    table = np.array(rows, dtype=np.float64)

    return NistSet(
        name=key,
        x=_readonly(table[:, 1:].copy()),
        y=_readonly(table[:, 0].copy()),
        degree=degree,
        intercept=intercept,
        coef=_readonly(np.array([b for _, b, _ in params], dtype=np.float64)),
        se=_readonly(np.array([s for _, _, s in params], dtype=np.float64)),
        residual_sd=residual_sd,
        r2=r2,
    )
