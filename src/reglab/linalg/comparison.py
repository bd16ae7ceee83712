"""One solver of a side-by-side comparison, run so that it never takes the comparison down.

The least-squares comparison (:mod:`reglab.linalg.solvers`) and the logistic one
(:mod:`reglab.linalg.logistic`) run each solver through :func:`run` (timed, warnings recorded, any
exception turned into a ``failed`` status with its message) and report it with :func:`entry`.
"""

from __future__ import annotations

import time
import warnings
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from reglab.core.stats import mse

__all__ = ["SolverFailure", "SolverOut", "entry", "import_libraries", "join", "run"]

#: what a solver returns: (coefficients (m,), extra keys for its entry, message)
SolverOut = tuple[np.ndarray, dict[str, Any], str]


class SolverFailure(Exception):
    """Raised inside a solver to report a clean, explained failure (status 'failed')."""


def import_libraries() -> None:
    """Import statsmodels and scikit-learn (lazily, once) so that import time is not timed as solver time."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import sklearn.linear_model  # noqa: F401
        import statsmodels.api  # noqa: F401


def _warning_text(caught: list[warnings.WarningMessage]) -> str:
    counts = Counter(f"{w.category.__name__}: {str(w.message).strip()}"[:300] for w in caught)
    return "; ".join(f"{t} (x{c})" if c > 1 else t for t, c in counts.items())


def join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def run(fn: Callable[[], SolverOut]) -> tuple[np.ndarray | None, dict[str, Any], str, bool, float]:
    """Run one solver: never raises.  Returns (w or None, extra, message, ok, seconds)."""
    t0 = time.perf_counter()
    w: np.ndarray | None = None
    extra: dict[str, Any] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            w, extra, msg = fn()
            ok = True
        except SolverFailure as e:
            msg, ok = str(e), False
        except Exception as e:  # a solver must not take the comparison down with it
            msg, ok = f"{type(e).__name__}: {e}", False
    seconds = time.perf_counter() - t0
    msg = join(msg, _warning_text(caught))
    if ok and (w is None or not np.all(np.isfinite(w))):
        msg, ok, w = join("solver returned non-finite coefficients", msg), False, None
    return (w if ok else None), extra, msg, ok, seconds


def entry(
    w: np.ndarray | None,
    D: np.ndarray,
    y: np.ndarray,
    features: list[str],
    intercept: bool,
    msg: str,
    ok: bool,
    seconds: float,
) -> dict[str, Any]:
    p = len(features)
    if not ok or w is None:
        return {
            "status": "failed",
            "message": msg,
            "coef": None,
            "intercept": None,
            "train_mse": None,
            "seconds": float(seconds),
        }
    resid = y - D @ w
    return {
        "status": "ok",
        "message": msg,
        "coef": {f: float(w[j]) for j, f in enumerate(features)},
        "intercept": float(w[p]) if intercept else None,
        "train_mse": mse(resid),
        "seconds": float(seconds),
    }
