"""Seed 000's datasets of datasets, drawn per condition: m regressions of n rows each.

A design row is (x_1, ..., x_{d-1}, 1): the bias column is last, as everywhere in reglab. For each
dataset beta ~ N(0, coef_scale^2) (all d coefficients), noise sd ~ U[0, noise_max), x from
``x_dist``. Conditions vary one factor at a time around the seed's (n = 100, coef_scale = 100,
x ~ U[0, 1), noise_max = 5).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

#: x distributions a condition can name
X_DISTRIBUTIONS = ("uniform_0_1", "uniform_0_10", "normal")


@dataclass(frozen=True)
class Condition:
    n: int = 100
    coef_scale: float = 100.0
    x_dist: str = "uniform_0_1"
    noise_max: float = 5.0
    d: int = 3

    def __post_init__(self) -> None:
        if self.x_dist not in X_DISTRIBUTIONS:
            raise ValueError(f"x_dist '{self.x_dist}': expected one of {list(X_DISTRIBUTIONS)}")
        if self.n < 1 or self.d < 2:
            raise ValueError(f"condition needs n >= 1 and d >= 2, got n={self.n}, d={self.d}")

    def with_(self, **changes: Any) -> Condition:
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


SEED_CONDITION = Condition()


@dataclass(frozen=True)
class Batch:
    """``X`` (m, n, d) with the ones column last, ``y`` (m, n), true ``beta`` (m, d), noise ``sd`` (m,)."""

    X: np.ndarray
    y: np.ndarray
    beta: np.ndarray
    sd: np.ndarray


def draw_x(cond: Condition, m: int, rng: np.random.Generator) -> np.ndarray:
    shape = (m, cond.n, cond.d - 1)
    if cond.x_dist == "uniform_0_1":
        return rng.random(shape)
    if cond.x_dist == "uniform_0_10":
        return 10.0 * rng.random(shape)
    return rng.standard_normal(shape)


def sample(cond: Condition, m: int, rng: np.random.Generator) -> Batch:
    """m datasets of the condition, float64."""
    beta = rng.normal(0.0, cond.coef_scale, size=(m, cond.d))
    x = draw_x(cond, m, rng)
    sd = rng.random(m) * cond.noise_max
    X = np.concatenate([x, np.ones((m, cond.n, 1))], axis=2)
    y = np.einsum("mnd,md->mn", X, beta) + rng.standard_normal((m, cond.n)) * sd[:, None]
    return Batch(X, y, beta, sd)


def from_frame_arrays(
    x: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    beta: np.ndarray | None = None,
    sd: np.ndarray | None = None,
) -> Batch:
    """Regroup a long table (one row per observation, a group id per row) into a batch.

    Every group must have the same number of rows (the dataset artifact of kind ``amortized`` does).
    """
    order = np.argsort(groups, kind="stable")
    ids, counts = np.unique(groups, return_counts=True)
    if len(set(counts.tolist())) != 1:
        raise ValueError(
            f"groups have different sizes ({sorted(set(counts.tolist()))}); a batch needs equal n"
        )
    m, n = len(ids), int(counts[0])
    xs = np.asarray(x, dtype=np.float64)[order].reshape(m, n, -1)
    X = np.concatenate([xs, np.ones((m, n, 1))], axis=2)
    ys = np.asarray(y, dtype=np.float64)[order].reshape(m, n)
    return Batch(
        X,
        ys,
        np.full((m, X.shape[2]), np.nan) if beta is None else np.asarray(beta),
        np.full(m, np.nan) if sd is None else np.asarray(sd),
    )
