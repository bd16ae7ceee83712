"""The scale stage's orchestration: shard statistics merged in order equal one streaming pass, the answer
equals in-memory least squares, Adam is scored against it, and a file too large for memory is refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reglab.data import datasets, large
from reglab.linalg.lsq.digits import lre
from reglab.linalg.lsq.result import coef_vector
from reglab.studies import scale
from reglab.training.streamed import adam_runs


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    path = tmp_path_factory.mktemp("large") / "big"
    large.write_large(path, n=6000, d=4, seed=3, chunk_rows=700, shards=3, mean=1e4)
    return str(path)


def test_shard_jobs_merged_in_order_equal_one_pass_and_in_memory_lstsq(shards):
    spec = {"kind": "large", "target": "y", "shards": 3}
    docs = [scale.shard_stat(shards, spec, i) for i in (2, 0, 1)]  # jobs finish in any order
    assert [d["rows"] for d in sorted(docs, key=lambda d: d["shard"])] == [2000, 2000, 2000]
    merged = scale.merge_shards(docs)
    assert not merged["needs_second_pass"]  # well conditioned: no second scatter
    doc = scale.solve_merged(shards, spec, merged, docs)
    assert not doc["second_scatter"] and doc["passes"] == 1
    assert doc["merged_vs_single_rel_diff"] == 0.0 and doc["n"] == 6000 and doc["shards"] == 3
    frame = pd.concat([pd.read_parquet(f) for f in large.shard_paths(shards, 3)])
    X = np.column_stack([frame[[f"x{j}" for j in range(1, 5)]].to_numpy(), np.ones(len(frame))])
    ref, *_ = np.linalg.lstsq(X - np.r_[X[:, :4].mean(0), 0], frame["y"].to_numpy(), rcond=None)
    got = scale.coef_vector(doc, doc["features"])
    np.testing.assert_allclose(got[:4], ref[:4], rtol=1e-8)
    assert doc["peak_rss_mb"] > 0 and doc["seconds"] > 0


def test_ill_conditioned_shards_get_the_second_scatter_and_match_lstsq(tmp_path):
    path = tmp_path / "ill"
    large.write_large(path, n=6000, d=4, seed=5, chunk_rows=900, shards=3, condition=1e7)
    spec = {"kind": "large", "target": "y", "shards": 3}
    docs = [scale.shard_stat(str(path), spec, i) for i in range(3)]
    merged = scale.merge_shards(docs)
    assert merged["needs_second_pass"] and "second pass" in merged["why"]
    with pytest.raises(ValueError, match="asked for a second pass"):
        scale.solve_merged(str(path), spec, merged, docs, [])
    refines = [scale.refine_stat(str(path), spec, i, merged["plan"]) for i in (1, 2, 0)]
    assert sum(r["rows"] for r in refines) == 6000
    doc = scale.solve_merged(str(path), spec, merged, docs, refines)
    assert doc["second_scatter"] and doc["passes"] == 2 and doc["single_process_passes"] == 2
    assert doc["merged_vs_single_rel_diff"] <= 1e-12
    assert set(doc["peak_rss_mb_by_job"]) == {
        "merge",
        "solve",
        *(f"{k}_{i}" for k in ("shard", "refine") for i in range(3)),
    }
    frame = pd.concat([pd.read_parquet(f) for f in large.shard_paths(path, 3)])
    X = frame[[f"x{j}" for j in range(1, 5)]].to_numpy()
    Xc = np.column_stack([X - X.mean(0), np.ones(len(X))])
    ref, *_ = np.linalg.lstsq(Xc, frame["y"].to_numpy(), rcond=None)
    got = scale.coef_vector(doc, doc["features"])
    assert lre(got[:4], ref[:4]) >= 16 - np.log10(1e7) - 2  # the lstsq floor, within 100x
    assert scale.solve_sharded(str(path), spec)["coef"] == doc["coef"]


def test_correct_digits_are_the_componentwise_nist_lre():
    assert lre(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 16.0
    assert lre(np.array([1.001, 2.0]), np.array([1.0, 2.0])) == pytest.approx(3.0)  # the worst component
    assert lre(np.array([1.0, 2.000002]), np.array([1.0, 2.0])) == pytest.approx(6.0)
    assert lre(np.array([1e-7, 2.0]), np.array([0.0, 2.0])) == pytest.approx(
        7.0
    )  # a zero reference: absolute
    assert lre(np.array([np.nan, 2.0]), np.array([1.0, 2.0])) == 0.0


@pytest.mark.keras
def test_adam_streaming_is_scored_against_least_squares(shards):
    spec = {"kind": "large", "target": "y", "shards": 3}
    ols = scale.solve_sharded(shards, spec)
    parts, features = scale.parts_of(shards, spec)
    runs = [{"name": "a", "epochs": 1, "batch_size": 256}]
    trained = adam_runs(parts, features, runs, seed=1)  # the Adam job: no least squares needed
    assert "coef_digits" not in trained["runs"]["a"]
    doc = scale.score_adam(trained, ols)  # the scoring job
    run = doc["runs"]["a"]
    assert run["steps"] == 3 * (-(-700 // 256) * 2 + -(-(2000 - 1400) // 256))  # per chunk, last batch kept
    assert run["coef_digits"] is not None and run["coef_digits"] < ols["claimed_digits"]
    est = np.array([*run["coef"].values(), run["intercept"]])
    assert run["coef_digits"] == lre(est, coef_vector(ols, features))  # the coefficients the job trained
    assert {k: v for k, v in run.items() if not k.startswith("coef_digits")} == trained["runs"]["a"]
    assert adam_runs(parts, features, runs, seed=1)["runs"]["a"]["coef"] == run["coef"]  # seeded


def test_a_file_too_large_for_memory_is_refused_before_it_is_read(tmp_path, monkeypatch):
    csv = tmp_path / "big.csv"
    csv.write_text("x,y\n" + "\n".join(f"{i},{2 * i}" for i in range(1000)))
    monkeypatch.setattr(large, "_total_ram", lambda: 4000)  # a machine with 4 kB of RAM
    with pytest.raises(datasets.DataError, match="streaming: true"):
        datasets.read_table(csv)
