"""The one regression design: ``X``, ``y``, the feature names and the intercept, validated once.

Every least-squares path takes its inputs through :meth:`Design.of` (or, for a matrix alone, through
:func:`as_matrix`; for names alone, through :func:`feature_names`), so a bad input gets the same
message whichever path meets it: the array's name, the shape, the first non-finite cell's index and
kind, the duplicated or missing name.  Conventions: ``X`` is ``(n, p)`` without an intercept column;
the design matrix :meth:`Design.matrix` appends the column of ones LAST, so the ``m = p + 1``
parameters are ordered ``features..., intercept``.

>>> d = Design.of([[1.0, 2.0], [3.0, 5.0], [4.0, 1.0]], [1.0, 2.0, 3.0], features=["a", "b"])
>>> d.n, d.p, d.m, d.param_names
(3, 2, 3, ['a', 'b', 'intercept'])
>>> d.matrix()[0].tolist()
[1.0, 2.0, 1.0]
>>> Design.of([[1.0], [float("nan")]], [1.0, 2.0])
Traceback (most recent call last):
...
ValueError: X must be finite; found 1 non-finite value(s) (NaN), first at index (1, 0)
"""

from __future__ import annotations

import numbers
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Design", "as_matrix", "design_matrix", "feature_names", "param_names"]


def _numeric(v: Any, name: str) -> np.ndarray:
    """np.asarray(v), accepting bool/int/float dtypes and object arrays whose entries are all real numbers
    (e.g. a mixed int/bool DataFrame); anything else (strings, complex, missing values) is a ValueError."""
    arr = np.asarray(v)
    if arr.dtype.kind == "O":
        bad = [x for x in arr.ravel() if not isinstance(x, (numbers.Real, np.bool_))]
        if bad:
            raise ValueError(
                f"{name} must be real numeric (bool/int/float); found {len(bad)} non-numeric entr"
                f"{'y' if len(bad) == 1 else 'ies'}, e.g. {bad[0]!r}"
            )
        return arr.astype(np.float64)
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be real numeric (bool/int/float); got dtype {arr.dtype}")
    return np.asarray(arr, dtype=np.float64)


def _finite(arr: np.ndarray, name: str) -> None:
    bad = ~np.isfinite(arr)
    if bad.any():
        where = np.argwhere(bad)[0]
        kinds = sorted({"NaN" if np.isnan(v) else "inf" for v in arr[bad].ravel()})
        raise ValueError(
            f"{name} must be finite; found {int(bad.sum())} non-finite value(s) ({', '.join(kinds)}), "
            f"first at index {tuple(int(i) for i in where)}"
        )


def _dims(a: np.ndarray, name: str, ndim: int) -> None:
    if a.ndim != ndim:
        shape = "(n, p)" if ndim == 2 else "(n,)"
        raise ValueError(
            f"{name} must be a {ndim}-D array of shape {shape}; got {a.ndim}-D array of shape {a.shape}"
        )


def _rows(n: int, min_rows: int) -> None:
    if n < min_rows:
        raise ValueError(f"need at least n >= {min_rows} observations; got n = {n}")


def as_matrix(A: Any, name: str = "X", *, min_rows: int = 1) -> np.ndarray:
    """``A`` as a C-contiguous, finite float64 ``(n, p)`` array with ``n >= min_rows``; ValueError naming
    ``name`` otherwise.

    >>> as_matrix([1.0, 2.0], "A")
    Traceback (most recent call last):
    ...
    ValueError: A must be a 2-D array of shape (n, p); got 1-D array of shape (2,)
    """
    a = _numeric(A, name)
    if a.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array of shape (n, p); got {a.ndim}-D array of shape {a.shape}"
        )
    if a.shape[0] < min_rows:
        raise ValueError(f"need at least n >= {min_rows} observations; got n = {a.shape[0]}")
    _finite(a, name)
    return np.ascontiguousarray(a)


def feature_names(names: Sequence[str] | None, p: int, intercept: bool) -> tuple[str, ...]:
    """The ``p`` feature names, checked: a sequence (not one string) of unique strings, none named
    ``intercept`` when the model has one; ``None`` gives ``x1 … xp``.

    >>> feature_names(None, 2, True)
    ('x1', 'x2')
    >>> feature_names(["a", "intercept"], 2, True)
    Traceback (most recent call last):
    ...
    ValueError: a feature may not be named 'intercept' when intercept=True (it names the intercept)
    """
    if names is None:
        return tuple(f"x{j + 1}" for j in range(p))
    if isinstance(names, str):
        raise ValueError("feature_names must be a sequence of strings, not a single string")
    out = list(names)
    if len(out) != p:
        raise ValueError(f"feature_names has {len(out)} entries but X has p = {p} columns")
    if not all(isinstance(f, str) for f in out):
        bad = [type(f).__name__ for f in out if not isinstance(f, str)]
        raise ValueError(f"feature_names must all be str; found {sorted(set(bad))}")
    dup = sorted(k for k, v in Counter(out).items() if v > 1)
    if dup:
        raise ValueError(f"feature_names must be unique; duplicated: {dup}")
    if intercept and "intercept" in out:
        raise ValueError(
            "a feature may not be named 'intercept' when intercept=True (it names the intercept)"
        )
    return tuple(out)


def param_names(features: Sequence[str], intercept: bool) -> list[str]:
    """The parameters in design order: the features, then ``intercept`` when the model has one.

    >>> param_names(["a", "b"], True)
    ['a', 'b', 'intercept']
    """
    return [*features, "intercept"] if intercept else list(features)


def design_matrix(X: Any, intercept: bool) -> np.ndarray:
    """(n, m) the float64 design of ``X`` (n, p): a column of ones appended LAST when ``intercept``.
    Always a new C-contiguous array; ``X`` is converted, not validated (see :meth:`Design.of`).

    >>> design_matrix(np.array([[2.0], [3.0]]), True).tolist()
    [[2.0, 1.0], [3.0, 1.0]]
    """
    Xa = np.asarray(X, dtype=np.float64)
    _dims(Xa, "X", 2)
    if intercept:
        return np.ascontiguousarray(np.column_stack([Xa, np.ones(Xa.shape[0])]))
    return np.array(Xa, dtype=np.float64, order="C", copy=True)


@dataclass(frozen=True)
class Design:
    """A validated regression problem: ``X`` (n, p) finite float64, ``y`` (n,) finite float64 or None
    (a design diagnosed without a target), the feature names and whether the model has an intercept."""

    X: np.ndarray
    y: np.ndarray | None
    features: tuple[str, ...]
    intercept: bool

    @classmethod
    def of(
        cls,
        X: Any,
        y: Any = None,
        *,
        features: Sequence[str] | None = None,
        intercept: Any = True,
        min_rows: int = 2,
    ) -> Design:
        """Check and convert: ``intercept`` a bool; ``X`` 2-D real numbers (bool/int/float, or objects
        that are all real numbers), at least ``min_rows`` rows, finite; ``y`` 1-D of ``n`` finite real
        numbers; at least one parameter; :func:`feature_names`.  ValueError with the reason otherwise."""
        if not isinstance(intercept, (bool, np.bool_)):
            raise ValueError(f"intercept must be a bool; got {type(intercept).__name__} {intercept!r}")
        intercept = bool(intercept)
        Xa = _numeric(X, "X")
        ya = None if y is None else _numeric(y, "y")
        if Xa.ndim != 2:
            raise ValueError(
                f"X must be a 2-D array of shape (n, p); got {Xa.ndim}-D array of shape {Xa.shape}"
            )
        if ya is not None and ya.ndim != 1:
            raise ValueError(
                f"y must be a 1-D array of shape (n,); got {ya.ndim}-D array of shape {ya.shape}"
            )
        n, p = Xa.shape
        if ya is not None and ya.shape[0] != n:
            raise ValueError(
                f"shape mismatch: X has {n} rows (shape {Xa.shape}) but y has {ya.shape[0]} entries"
            )
        if n < min_rows:
            raise ValueError(f"need at least n >= {min_rows} observations; got n = {n}")
        names = feature_names(features, p, intercept)
        if p + int(intercept) == 0:
            raise ValueError("the model has no parameters: X has p = 0 columns and intercept=False")
        _finite(Xa, "X")
        if ya is not None:
            _finite(ya, "y")
        return cls(np.ascontiguousarray(Xa), ya, names, intercept)

    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    @property
    def p(self) -> int:
        return int(self.X.shape[1])

    @property
    def m(self) -> int:
        """The number of parameters: ``p`` plus one for the intercept."""
        return self.p + int(self.intercept)

    @property
    def param_names(self) -> list[str]:
        """The parameters in design order: the features, then ``intercept`` when the model has one."""
        return param_names(self.features, self.intercept)

    def matrix(self) -> np.ndarray:
        """(n, m) the float64 design: ``X`` with a column of ones appended LAST when the model has an
        intercept.  Always a new C-contiguous array."""
        return design_matrix(self.X, self.intercept)
