"""The least-squares contract: every path through reglab's exact least squares -- the recommended
in-memory answer, the streamed solve of one file, of Parquet shards and of a CSV, the scale stage's
shard-merge, its second scatter, and the batched per-dataset solve -- agrees on the rank of the same
design, and its coefficients and standard errors are as accurate as the digits it claims: a path whose
measured digits (NIST LRE, componentwise, against the exact rational solution of the stored float64
data) fall more than one below its claim fails. The shared fixtures are the 11 NIST StRD linear sets
(tests/data/nist) and five designs that stress one thing each.

The compared solvers (lstsq, qr, cholesky, pinv, sklearn, statsmodels) claim nothing a priori; their
contract is that the artifact measures them against the exact reference where there is one.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path

import nist_strd
import numpy as np
import pandas as pd
import pytest

from reglab.linalg import batched, solvers, streaming
from reglab.linalg.lsq.design import design_matrix
from reglab.linalg.lsq.digits import lre
from reglab.linalg.lsq.result import from_streamed
from reglab.studies import scale


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    X: np.ndarray  # (n, p) without the ones column
    y: np.ndarray
    intercept: bool
    certified: nist_strd.NistSet | None = None

    @property
    def features(self) -> list[str]:
        return [f"x{j}" for j in range(self.X.shape[1])]


def _synthetic() -> list[Case]:
    rng = np.random.default_rng(17)
    n = 120
    X = rng.normal(size=(n, 4))
    y = X @ [1.0, -2.0, 0.5, 3.0] + 0.7 + rng.normal(scale=0.1, size=n)
    ints = rng.integers(-9, 10, size=(n, 2)).astype(float)
    deficient = np.column_stack([ints, ints[:, 0] + ints[:, 1]])  # exact in float64: rank 3 of 4 with [., 1]
    y_def = ints @ [1.0, 2.0] + rng.normal(scale=0.1, size=n)
    means = X[:, :3] * [1.0, 0.5, 2.0] + 1e4
    y_means = means @ [0.3, -0.2, 0.1] + rng.normal(scale=0.1, size=n)
    const = np.column_stack([X[:, :2], np.full(n, 3.0)])
    y_const = const[:, :2] @ [1.0, 1.0] + rng.normal(scale=0.1, size=n)
    q, _ = np.linalg.qr(rng.normal(size=(n, 3)))
    v, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    ill = (q * [1.0, 1e-5, 1e-10]) @ v.T  # condition 1e10
    y_ill = ill @ [1.0, 1.0, 1.0] + rng.normal(scale=1e-3, size=n)
    return [
        Case("well_conditioned", X, y, True),
        Case("rank_deficient", deficient, y_def, True),
        Case("means_1e4", means, y_means, True),
        Case("constant_column", const, y_const, True),
        Case("condition_1e10", ill, y_ill, True),
    ]


CASES: dict[str, Case] = {c.name: c for c in _synthetic()}
for _name in nist_strd.NAMES:
    _s = nist_strd.load(_name)
    CASES[f"nist_{_name}"] = Case(f"nist_{_name}", np.array(_s.design()), np.array(_s.y), _s.intercept, _s)


@pytest.fixture(scope="module")
def reference() -> Callable[[Case], dict]:
    """The recommended in-memory answer of each case (computed once) and its exact rational solution."""
    cache: dict[str, dict] = {}

    def get(case: Case) -> dict:
        if case.name not in cache:
            res = solvers.least_squares_all(
                case.X, case.y, intercept=case.intercept, feature_names=case.features
            )
            exact, exact_rank = solvers.exact_least_squares(case.X, case.y, intercept=case.intercept)
            cache[case.name] = {"res": res, "exact": exact, "exact_rank": exact_rank}
        return cache[case.name]

    return get


def _vec(coef, intercept, features, with_intercept: bool) -> list[float]:
    c = [coef[f] for f in features] if isinstance(coef, dict) else list(coef)
    return c + ([intercept] if with_intercept else [])


def _constant(case: Case) -> list[int]:
    return [j for j in range(case.X.shape[1]) if np.ptp(case.X[:, j]) == 0]


# --------------------------------------------------------------------------- the in-memory answer


@pytest.mark.parametrize("name", list(CASES))
def test_the_recommended_answer_keeps_the_digits_it_claims(name, reference):
    case, ref = CASES[name], reference(CASES[name])
    res = ref["res"]
    refined = res["solvers"]["refined"]
    w = _vec(refined["coef"], refined["intercept"], case.features, case.intercept)
    measured = lre(w, ref["exact"])
    claimed = res["correct_digits"]
    assert res["rank"] == ref["exact_rank"] or not res["exact_available"]
    if res["exact_available"]:
        assert measured == pytest.approx(claimed, abs=1e-9)  # measured against the exact solution itself
    assert measured >= claimed - 1, (measured, claimed, res["correct_digits_method"])


@pytest.mark.parametrize("name", [n for n in CASES if n.startswith("nist_")])
def test_nist_certified_values_are_met_to_todays_lre(name, reference):
    """reglab's recommended answer on the certified values: Filip 7.6 digits (its powers of x rounded to
    float64 are another problem than NIST's decimal one), 13.2 or more elsewhere; SE 7.5 on Filip."""
    case, res = CASES[name], reference(CASES[name])["res"]
    cert = case.certified
    refined = res["solvers"]["refined"]
    names = (["intercept"] if case.intercept else []) + case.features
    order = (lambda v: [v[-1], *v[:-1]]) if case.intercept else (lambda v: v)
    coef = order(_vec(refined["coef"], refined["intercept"], case.features, case.intercept))
    floor = 7.6 if name == "nist_Filip" else 13.2
    assert lre(coef, cert.coef) >= floor
    se = [refined["se"][k] for k in names]
    assert lre(se, cert.se) >= (7.45 if name == "nist_Filip" else 13.2)  # Filip: 7.47 (shown as 7.5)
    assert lre([refined["residual_sd"]], [cert.residual_sd]) >= (7.45 if name == "nist_Filip" else 13.2)


@pytest.mark.parametrize("name", list(CASES))
def test_compared_solvers_are_measured_against_the_exact_reference(name, reference):
    case, ref = CASES[name], reference(CASES[name])
    res = ref["res"]
    for solver, entry in res["solvers"].items():
        if entry["status"] != "ok" or not res["exact_available"]:
            continue
        w = _vec(entry["coef"], entry["intercept"], case.features, case.intercept)
        assert entry["correct_digits"] == pytest.approx(lre(w, ref["exact"]), abs=1e-9), solver


# --------------------------------------------------------------------------- the streamed paths

STREAM_PATHS = ("one_file", "shards", "csv", "shard_merge", "second_scatter")


def _frame(case: Case) -> pd.DataFrame:
    return pd.DataFrame({**{f: case.X[:, j] for j, f in enumerate(case.features)}, "y": case.y})


def _vocabulary(res: dict, case: Case) -> dict:
    return from_streamed(res, case.features, intercept=case.intercept)


def _streamed(case: Case, path: str, tmp: Path) -> dict:
    """The fit of one streamed path, in the result vocabulary (as the scale stage's artifacts hold it)."""
    frame = _frame(case)
    spec = {"kind": "file", "target": "y", "features": case.features}
    if path == "one_file":
        frame.to_parquet(tmp / "d.parquet", row_group_size=16)
        parts, feats = streaming.source_parts(tmp / "d.parquet", target="y", features=case.features)
        return _vocabulary(
            streaming.solve_stream(parts, intercept=case.intercept, features=feats, threads=2), case
        )
    if path == "shards":
        (tmp / "s").mkdir()
        for i, a in enumerate(range(0, len(frame), 25)):
            frame.iloc[a : a + 25].to_parquet(tmp / "s" / f"part-{i:03d}.parquet", row_group_size=10)
        parts, feats = streaming.source_parts(tmp / "s", target="y", features=case.features)
        return _vocabulary(streaming.solve_stream(parts, intercept=case.intercept, features=feats), case)
    if path == "csv":
        frame.to_csv(tmp / "d.csv", index=False, float_format="%.17g")
        parts, feats = streaming.source_parts(
            tmp / "d.csv", target="y", features=case.features, chunk_rows=13
        )
        return _vocabulary(streaming.solve_stream(parts, intercept=case.intercept, features=feats), case)
    frame.to_parquet(tmp / "d.parquet", row_group_size=16)
    spec["shards"] = min(3, -(-len(frame) // 16))  # shards are row-group ranges
    source = str(tmp / "d.parquet")
    if path == "shard_merge":
        return scale.solve_sharded(source, spec)
    shards = [scale.shard_stat(source, spec, i) for i in range(spec["shards"])]
    merged = scale.merge_shards(shards, threshold=0.0)  # the second scatter, always
    refines = [scale.refine_stat(source, spec, i, merged["plan"]) for i in range(spec["shards"])]
    return scale.solve_merged(source, spec, merged, shards, refines)


# the scale stage fits an intercept always; the no-intercept NIST sets go through the streamed solve only
STREAM_CASES = [
    (n, p) for n in CASES for p in STREAM_PATHS if CASES[n].intercept or p in ("one_file", "shards", "csv")
]


@pytest.mark.parametrize("name, path", STREAM_CASES)
def test_every_streamed_path_agrees_on_rank_and_keeps_its_claim(name, path, reference, tmp_path):
    case, ref = CASES[name], reference(CASES[name])
    res = _streamed(case, path, tmp_path)
    in_memory = ref["res"]
    # the rank of the same design [X, 1] (a constant column is absorbed by the intercept: counted once)
    assert res["rank"] == in_memory["rank"], (res["rank"], in_memory["rank"], res["method"])
    if res["rank_deficient"] or res["constant_columns"]:
        return  # minimum norm in other coordinates (the centred design): no common answer to compare
    claimed = res["claimed_digits"]
    names = case.features + (["intercept"] if case.intercept else [])
    w = [res["coef"][f] for f in case.features] + ([res["intercept"]] if case.intercept else [])
    measured = lre(w, list(ref["exact"]))
    assert measured >= claimed - 1, (measured, claimed, res["method"])
    refined = in_memory["solvers"]["refined"]
    se = [res["se"][k] for k in names]
    se_ref = [refined["se"][k] for k in names]
    assert lre(se, se_ref) >= min(res["se_digits"], refined["se_digits"]) - 1, (
        lre(se, se_ref),
        res["se_digits"],
    )


# --------------------------------------------------------------------------- the batched per-dataset solve


@pytest.mark.parametrize("name", [n for n in CASES if CASES[n].intercept])
def test_the_batched_solve_agrees_on_rank_and_keeps_its_claim(name, reference):
    case, ref = CASES[name], reference(CASES[name])
    D = design_matrix(case.X, True)[None]
    beta = batched.ols(D, case.y[None])
    R = np.linalg.qr(D, mode="r")
    assert int(batched.ranks(R, D.shape[1])[0]) == ref["res"]["rank"]
    if ref["res"]["rank"] < D.shape[2]:
        return  # deficient: the minimum-norm answer, no digits claimed
    claimed = float(batched.claimed_digits(D, case.y[None], beta)[0])
    assert lre(beta[0], ref["exact"]) >= claimed - 1
    assert math.isfinite(claimed)
