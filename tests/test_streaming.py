"""Streamed least squares (reglab.linalg.streaming) against in-memory solvers and exact rational answers."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from reglab.data import large
from reglab.linalg import streaming as st


def _parts(x, y, rows, splits=1):
    """``splits`` parts, each a re-iterable callable of chunks of at most ``rows`` rows (fresh copies)."""
    n = len(y)
    bounds = np.linspace(0, n, splits + 1).astype(int)

    def part(lo, hi):
        def gen():
            for i in range(lo, hi, rows):
                j = min(i + rows, hi)
                yield np.array(x[i:j], order="F"), y[i:j].copy(), i

        return gen

    return [part(bounds[s], bounds[s + 1]) for s in range(splits)]


def _exact(x, y):
    """Exact least-squares coefficients of ``y ~ 1 + x`` (rational normal equations; tiny cases only)."""
    n, p = x.shape
    a = [[Fraction(1)] + [Fraction(float(v)) for v in row] for row in x]
    b = [Fraction(float(v)) for v in y]
    q = p + 1
    m = [
        [sum(a[i][r] * a[i][c] for i in range(n)) for c in range(q)] + [sum(a[i][r] * b[i] for i in range(n))]
        for r in range(q)
    ]
    for c in range(q):
        piv = next(r for r in range(c, q) if m[r][c] != 0)
        m[c], m[piv] = m[piv], m[c]
        for r in range(q):
            if r != c and m[r][c] != 0:
                f = m[r][c] / m[c][c]
                m[r] = [vr - f * vc for vr, vc in zip(m[r], m[c])]
    return np.array([float(m[r][q] / m[r][r]) for r in range(q)])


def _err(beta, ref):
    return float(np.linalg.norm(np.asarray(beta) - ref) / np.linalg.norm(ref))


def _lstsq_errors(x, y, ref):
    """Errors of numpy lstsq on the raw design with a ones column and on the centred design."""
    raw = np.linalg.lstsq(np.column_stack([np.ones(len(y)), x]), y, rcond=None)[0]
    mx, my = x.mean(axis=0), y.mean()
    slopes = np.linalg.lstsq(x - mx, y - my, rcond=None)[0]
    cen = np.concatenate([[my - mx @ slopes], slopes])
    return _err(raw, ref), _err(cen, ref)


def _beta(res):
    return np.concatenate([[res["intercept"]], res["coef"]])


def test_well_conditioned_matches_statsmodels_in_one_pass():
    import statsmodels.api as sm

    x, y, _ = large.make_design(n=5000, d=6, seed=1, noise=0.5)
    res = st.solve_stream(_parts(x, y, 700)[0])
    ols = sm.OLS(y, sm.add_constant(x)).fit()
    assert res["passes"] == 1 and res["rank"] == 6 and res["method"].startswith("normal equations")
    np.testing.assert_allclose(_beta(res), ols.params, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(res["se"], ols.bse[1:], rtol=1e-9)
    np.testing.assert_allclose(res["se_intercept"], ols.bse[0], rtol=1e-9)
    np.testing.assert_allclose(res["r2"], ols.rsquared, rtol=1e-11)
    np.testing.assert_allclose(res["sigma2"], ols.scale, rtol=1e-10)
    assert res["dof"] == ols.df_resid
    vif = 1.0 / (
        1.0
        - np.array([sm.OLS(x[:, j], sm.add_constant(np.delete(x, j, 1))).fit().rsquared for j in range(6)])
    )
    np.testing.assert_allclose(res["vif"], vif, rtol=1e-9)
    assert res["correct_digits_estimate"] > 14 and res["message"] == "ok"


def test_large_means_keep_their_digits():
    x, y, _meta = large.make_design(n=300, d=3, seed=2, mean=1e4, noise=0.1)
    ref = _exact(x, y)
    res = st.solve_stream(_parts(x, y, 64)[0])
    assert res["passes"] == 1
    assert _err(_beta(res), ref) < 1e-11
    # the naive uncentred normal equations lose most digits at this mean
    a = np.column_stack([np.ones(len(y)), x])
    naive = np.linalg.solve(a.T @ a, a.T @ y)
    assert _err(naive, ref) > 100 * _err(_beta(res), ref)


@pytest.mark.parametrize("condition", [1e6, 1e7, 1e8])
@pytest.mark.parametrize("mean", [0.0, 1e4])
@pytest.mark.parametrize("noise", [1e-6, 0.1])
def test_ill_conditioned_reaches_the_lstsq_floor(condition, mean, noise):
    # single errors scatter by ~10x around eps·κ for every backward-stable method: compare geometric means
    ours, raw, cen = [], [], []
    for seed in range(4):
        x, y, _ = large.make_design(n=300, d=4, seed=seed, condition=condition, mean=mean, noise=noise)
        ref = _exact(x, y)
        res = st.solve_stream(_parts(x, y, 64)[0])
        assert res["passes"] == 2 and res["method"].startswith("TSQR") and res["rank"] == 4
        err = _err(_beta(res), ref)
        ours.append(err)
        r, c = _lstsq_errors(x, y, ref)
        raw.append(r)
        cen.append(c)
        # the digit estimate is a worst-case bound: never more optimistic than the truth by over a digit
        assert -math.log10(max(err, 1e-17)) >= res["correct_digits_estimate"] - 1

    def gm(v):
        return math.exp(np.mean(np.log(np.maximum(v, 1e-17))))

    assert gm(ours) <= 10 * min(gm(raw), gm(cen)), (gm(ours), gm(raw), gm(cen))


def test_one_pass_only_reports_digits_at_risk():
    x, y, _ = large.make_design(n=300, d=4, seed=7, condition=1e7, noise=0.1)
    res = st.solve_stream(_parts(x, y, 64)[0], second_pass="never")
    assert res["passes"] == 1 and res["needs_second_pass"]
    assert res["correct_digits_estimate"] < 3
    assert "digits at risk" in res["message"]


def test_beyond_1e8_rank_and_lost_digits_are_reported():
    x, y, _ = large.make_design(n=2000, d=5, seed=3, condition=1e13, noise=0.1)
    res = st.solve_stream(_parts(x, y, 500)[0])
    assert res["passes"] == 2
    assert res["condition_scaled"] > 1e11
    assert res["rank_deficient"] or res["correct_digits_estimate"] < 4
    assert res["message"] != "ok"


def test_exact_duplicate_column_gives_min_norm_and_says_rank():
    x, y, _ = large.make_design(n=1000, d=3, seed=4, noise=0.1)
    x = np.column_stack([x, x[:, 0]])
    res = st.solve_stream(_parts(x, y, 300)[0])
    assert res["rank"] == 3 and res["k"] == 4 and res["rank_deficient"]
    assert "rank-deficient" in res["message"] and "minimum-norm" in res["message"]
    mx, my = x.mean(axis=0), y.mean()
    ref = np.linalg.lstsq(x - mx, y - my, rcond=None)[0]  # numpy's minimum-norm answer
    np.testing.assert_allclose(res["coef"], ref, rtol=1e-9, atol=1e-12)
    assert res["coef"][0] == pytest.approx(res["coef"][3], rel=1e-9)
    assert res["intercept"] == pytest.approx(my - mx @ ref, rel=1e-9)
    # the Gram-only path also finds the rank and the same minimum-norm answer
    one = st.solve_stream(_parts(x, y, 300)[0], second_pass="never")
    assert one["rank"] == 3
    np.testing.assert_allclose(one["coef"], ref, rtol=1e-6)


@pytest.mark.parametrize("mean", [0.0, 1e4])
def test_constant_column_is_absorbed_by_the_intercept(mean):
    import statsmodels.api as sm

    x, y, _ = large.make_design(n=2000, d=4, seed=5, mean=mean, constant_column=True)
    res = st.solve_stream(_parts(x, y, 300)[0])
    assert res["constant_columns"] == ["x4"] and "constant" in res["message"]
    assert res["coef"][3] == 0.0 and math.isnan(res["se"][3])
    ols = sm.OLS(y, sm.add_constant(x[:, :3])).fit()
    np.testing.assert_allclose(_beta(res)[:4], ols.params, rtol=1e-9)
    np.testing.assert_allclose(res["se"][:3], ols.bse[1:], rtol=1e-8)


def test_no_intercept_matches_lstsq():
    x, y, _ = large.make_design(n=1000, d=3, seed=6, mean=2.0)
    res = st.solve_stream(_parts(x, y, 300)[0], intercept=False)
    ref = np.linalg.lstsq(x, y, rcond=None)[0]
    np.testing.assert_allclose(res["coef"], ref, rtol=1e-11)
    assert res["intercept"] == 0.0
    two = st.solve_stream(_parts(x, y, 300)[0], intercept=False, second_pass="always")
    np.testing.assert_allclose(two["coef"], ref, rtol=1e-12)


def test_shard_merge_equals_single_pass():
    x, y, _ = large.make_design(n=6000, d=8, seed=8, mean=50.0, scale_spread=2)
    single = st.accumulate(_parts(x, y, 500)[0]())
    for splits in (2, 3, 5):
        stats = [st.accumulate(p()) for p in _parts(x, y, 500, splits)]
        assert len({tuple(s.shift) for s in stats}) == splits  # each shard has its own shift
        merged = st.merge_in_order(stats)
        common = merged.reshift(single.shift)
        np.testing.assert_allclose(
            common.gram, single.gram, rtol=1e-12, atol=1e-12 * np.abs(single.gram).max()
        )
        a, b = st.solve(single), st.solve(merged)
        np.testing.assert_allclose(_beta(b), _beta(a), rtol=1e-12)
        assert b["n"] == 6000


def test_reshift_is_exact_on_integers():
    rng = np.random.default_rng(0)
    x = rng.integers(-50, 50, (100, 3)).astype(float)
    y = rng.integers(-50, 50, 100).astype(float)
    s = st.GramStat().update(x, y)
    direct = st.GramStat(shift=np.array([3.0, -2.0, 7.0, 1.0]), gram=np.zeros((5, 5))).update(x, y)
    np.testing.assert_allclose(s.reshift(direct.shift).gram, direct.gram, rtol=1e-14)


def test_shard_jobs_merged_in_order_are_bit_identical_to_the_driver(tmp_path):
    d = tmp_path / "shards"
    large.write_large(d, n=9000, d=5, seed=9, chunk_rows=1000, shards=3, mean=1e3)
    parts, feats = st.source_parts(d, target="y")
    driver = st.solve_stream(parts, features=feats)
    # three "jobs" save their statistics as JSON; a merge job combines them in the same order
    saved = [json.dumps(st.accumulate(p(), features=feats).to_dict()) for p in parts]
    merged = st.merge_in_order([st.GramStat.from_dict(json.loads(s)) for s in saved])
    res = st.solve(merged, features=feats)
    assert res["coef"] == driver["coef"] and res["intercept"] == driver["intercept"]
    assert res["se"] == driver["se"]
    # and the same data as one file, split by row-group ranges, agrees to 1e-12
    f = tmp_path / "one.parquet"
    large.write_large(f, n=9000, d=5, seed=9, chunk_rows=1000, mean=1e3)
    one = st.solve_stream(st.source_parts(f, target="y")[0])
    ranged = st.solve_stream(st.source_parts(f, target="y", shards=4)[0])
    np.testing.assert_allclose(ranged["coef"], one["coef"], rtol=1e-12)
    meta = large.read_meta(f)
    np.testing.assert_allclose(one["coef"], meta["coef"], atol=0.01)


def test_second_pass_parts_are_bit_identical_too():
    x, y, _ = large.make_design(n=3000, d=4, seed=10, condition=1e7)
    parts = _parts(x, y, 400, 3)
    driver = st.solve_stream(parts)
    assert driver["passes"] == 2
    stat = st.merge_in_order([st.GramStat.from_dict(st.accumulate(p()).to_dict()) for p in parts])
    plan = st.solve(stat)["plan"]
    r = st.merge_in_order(
        [st.RStat.from_dict(json.loads(json.dumps(st.accumulate_r(p(), plan).to_dict()))) for p in parts]
    )
    res = st.solve(stat, rstat=r)
    assert res["coef"] == driver["coef"]


def test_statistic_is_small():
    x, y, _ = large.make_design(n=500, d=100, seed=1)
    s = st.accumulate(_parts(x, y, 200)[0]())
    arrays = s.to_dict()
    size = (len(arrays["gram"]) ** 2 + len(arrays["shift"])) * 8
    assert size < 90_000
    np.testing.assert_array_equal(st.GramStat.from_dict(arrays).gram, s.gram)


def test_streaming_from_file_records_passes_and_seconds(tmp_path):
    f = tmp_path / "d.parquet"
    large.write_large(f, n=20_000, d=4, seed=11, chunk_rows=3000, condition=1e6, mean=1e4)
    res = st.solve_stream(st.source_parts(f, target="y", chunk_rows=2000)[0])
    assert res["passes"] == 2 and res["seconds"] >= res["seconds_pass1"] > 0 and res["seconds_pass2"] > 0
    x, y, _meta = large.make_design(n=20_000, d=4, seed=11, chunk_rows=3000, condition=1e6, mean=1e4)
    floor = np.linalg.lstsq(x - x.mean(0), y - y.mean(), rcond=None)[0]
    np.testing.assert_allclose(res["coef"], floor, rtol=1e-6)


def test_threads_and_buffers_do_not_change_the_bits(tmp_path, monkeypatch):
    # blocks of 700 rows: chunks of 2000 rows are 3 blocks, the last one short
    monkeypatch.setattr(st, "ROW_BLOCK", 700)
    f = tmp_path / "d.parquet"
    large.write_large(f, n=9000, d=4, seed=12, chunk_rows=2000, mean=1e3)
    parts, feats = st.source_parts(f, target="y")
    x, y, _ = large.make_design(n=9000, d=4, seed=12, chunk_rows=2000, mean=1e3)
    grams = {}
    for threads in (1, 2, 3):
        grams["file", threads] = st.accumulate_part(parts[0], threads=threads).gram
        grams["copies", threads] = st.accumulate(_parts(x, y, 2000)[0](), threads=threads).gram
    first = grams["file", 1]
    for key, g in grams.items():
        assert np.array_equal(g, first), key
    # and the blocks are not a no-op: one product per chunk sums in another order
    whole = st.GramStat()
    for i in range(0, 9000, 2000):
        xc, yc = x[i : i + 2000], y[i : i + 2000]
        if whole.gram is None:
            whole._init(xc, yc)
        z = np.column_stack([xc - whole.shift[:4], np.ones(len(yc)), yc - whole.shift[4]])
        whole.add(z.T @ z, len(yc))
    np.testing.assert_allclose(whole.gram, first, rtol=1e-12)
    threaded = st.solve_stream(parts, features=feats, threads=2)
    assert threaded["threads"] == 2
    assert threaded["coef"] == st.solve_stream(parts, features=feats, threads=1)["coef"]


def test_second_pass_blocks_give_the_same_bits_on_any_threads_and_the_lstsq_answer(tmp_path, monkeypatch):
    monkeypatch.setattr(st, "R_BLOCK", 300)  # chunks of 2000 rows: 7 blocks, the last one short
    f = tmp_path / "ill.parquet"
    large.write_large(f, n=12_000, d=5, seed=21, chunk_rows=2000, condition=1e7, mean=1e4)
    parts, feats = st.source_parts(f, target="y")
    runs = [st.solve_stream(parts, features=feats, threads=t) for t in (1, 2, 3)]
    assert all(r["passes"] == 2 for r in runs)
    assert runs[0]["coef"] == runs[1]["coef"] == runs[2]["coef"]
    x, y, _ = large.make_design(n=12_000, d=5, seed=21, chunk_rows=2000, condition=1e7, mean=1e4)
    floor = np.linalg.lstsq(x - x.mean(0), y - y.mean(), rcond=None)[0]
    np.testing.assert_allclose(runs[0]["coef"], floor, rtol=1e-5)
    plan = st.solve(st.accumulate_part(parts[0]), features=feats)["plan"]
    one = st.accumulate_r(_parts(x, y, 2000)[0](), plan, threads=1)
    assert one.chunks == 6 and np.array_equal(one.r, st.accumulate_r_part(parts[0], plan, threads=3).r)


def test_two_buffers_serve_a_whole_threaded_stream(tmp_path):
    f = tmp_path / "d.parquet"
    large.write_large(f, n=12_000, d=3, seed=13, chunk_rows=1000)
    for threads, buffers in ((1, 1), (2, 2), (4, 2)):
        pool = large.BufferPool()
        stat = st.accumulate(
            large.iter_chunks(f, target="y", pool=pool), overwrite=True, threads=threads, pool=pool
        )
        assert stat.chunks == 12 and pool.allocated == buffers, threads
        # from the second chunk on the reader subtracted the shift while copying
        assert pool.offset is stat.shift
    x, y, _ = large.make_design(n=12_000, d=3, seed=13, chunk_rows=1000)
    assert np.array_equal(stat.gram, st.accumulate(_parts(x, y, 1000)[0](), threads=1).gram)


def test_threaded_pass_passes_errors_on(tmp_path):
    f = tmp_path / "d.parquet"
    large.write_large(f, n=5000, d=3, seed=12, chunk_rows=1000)

    def bad():
        yield from st.source_parts(f, target="y")[0][0]()
        raise ValueError("broken chunk")

    with pytest.raises(ValueError, match="broken chunk"):
        st.solve_stream(bad, threads=2)
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = pq.read_table(f)
    col = t.column("x2").to_numpy().copy()
    col[3456] = np.inf
    pq.write_table(t.set_column(1, "x2", pa.array(col)), f, row_group_size=1000)
    with pytest.raises(ValueError, match=r"column 'x2', data row 3457: value inf"):
        st.solve_stream(st.source_parts(f, target="y")[0], threads=2)


def test_the_first_bad_chunk_in_order_is_reported_whatever_the_threads(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    f = tmp_path / "two_bad.parquet"
    x = np.random.default_rng(3).standard_normal((8000, 3))
    x[2100, 0] = np.nan  # row group 2
    x[5300, 2] = np.inf  # row group 5
    pq.write_table(
        pa.table({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": x.sum(1)}), f, row_group_size=1000
    )
    for threads in (1, 2, 3):
        for _ in range(5):
            with pytest.raises(ValueError, match=r"column 'a', data row 2101: value nan"):
                st.accumulate_part(st.source_parts(f, target="y")[0][0], threads=threads)


def test_empty_chunks_are_skipped_and_the_shift_comes_from_the_first_rows(tmp_path):
    x = np.random.default_rng(5).standard_normal((3000, 2)) + 7.0
    y = x @ [1.0, -2.0] + 0.5

    def with_empties():
        empty = (np.empty((0, 2), order="F"), np.empty(0), 0)
        yield empty
        for i in range(0, 3000, 1000):
            yield np.array(x[i : i + 1000], order="F"), y[i : i + 1000].copy(), i
            yield empty

    reference = st.accumulate(_parts(x, y, 1000)[0](), threads=1)
    first = min(1000, st.SHIFT_ROWS)  # rows of the first chunk the shift is the mean of
    np.testing.assert_allclose(reference.shift, np.r_[x[:first].mean(0), y[:first].mean()], rtol=1e-14)
    for threads in (1, 2):
        stat = st.accumulate(with_empties(), threads=threads)
        assert stat.n == 3000 and stat.chunks == 3
        np.testing.assert_array_equal(stat.gram, reference.gram)


def test_chunks_from_the_reader_are_shifted_in_their_own_buffer(tmp_path):
    f = tmp_path / "d.parquet"
    large.write_large(f, n=2000, d=3, seed=1, chunk_rows=1000)
    for pool in (None, large.BufferPool()):
        x, y, _ = next(large.iter_chunks(f, target="y", pool=pool))
        z = st._own_z(x, y)
        assert z is not None and np.shares_memory(z, x) and np.shares_memory(z, y)
    copy = np.array(x)
    assert st._own_z(copy, y) is None


@pytest.mark.parametrize(
    "condition, mean, intercept, passes, rtol",
    [
        (None, 0.0, True, 1, 1e-12),
        (1e3, 1e4, True, 1, 1e-9),
        (1e7, 1e4, True, 2, 1e-5),
        (1e3, 5.0, False, 1, 1e-9),
        (1e6, 0.0, False, 2, 1e-9),
    ],
)
def test_raw_condition_comes_from_the_factor_not_the_gram(condition, mean, intercept, passes, rtol):
    # means of 1e4 put cond([1, X]) near 1e11 and 1e15: past what the Gram's eigenvalues can see
    x, y, _ = large.make_design(
        n=20_000, d=6, seed=3, chunk_rows=5000, condition=condition, mean=mean, scale_spread=2
    )
    res = st.solve_stream(_parts(x, y, 5000)[0], intercept=intercept)
    design = np.column_stack([np.ones(len(y)), x]) if intercept else x
    assert res["passes"] == passes
    assert res["condition_raw"] == pytest.approx(np.linalg.cond(design), rel=rtol)


def test_bench_runs_at_a_tiny_size(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "bench" / "bench_scale.py"
    p = subprocess.run(
        [
            sys.executable,
            str(script),
            "--n",
            "20000",
            "--d",
            "5",
            "--row-group",
            "5000",
            "--json",
            "--inline",
            "--tmp",
            str(tmp_path),
            "--competitors",
            "numpy_lstsq,sgd_1_pass,keras_adam_10epochs_b1024",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    doc = json.loads(p.stdout.strip().splitlines()[-1])
    for key in (
        "n",
        "d",
        "gram_in_memory_s",
        "warm_s",
        "cold_s",
        "read_only_s",
        "warm_over_gram",
        "cold_over_read",
        "peak_rss_mb",
        "competitors",
    ):
        assert key in doc
    assert doc["n"] == 20000 and doc["reglab_coef_digits"] > 12
    assert doc["competitors"]["numpy_lstsq"]["coef_digits"] > 12
    adam = doc["competitors"]["keras_adam_10epochs_b1024"]
    assert (
        adam["seconds"] > 0 and adam["coef_digits"] < doc["reglab_coef_digits"] - 3
    )  # 200 Adam steps: far off


def test_a_one_row_row_group_read_shifted_neither_fails_nor_hangs(tmp_path):
    """A last row group of one row is shifted by the reader but has no buffer layout to form Z in: it is
    copied (subtracting zero) instead of stopping the pass; an error in a worker's bookkeeping would
    otherwise leave the other thread waiting forever (found by tests/test_lsq_contract.py)."""
    import threading

    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"a": rng.normal(size=21), "b": rng.normal(size=21) + 50.0})
    frame["y"] = frame["a"] - 2 * frame["b"] + rng.normal(scale=0.1, size=21)
    frame.to_parquet(tmp_path / "d.parquet", row_group_size=10)  # groups of 10, 10 and 1 rows
    out: dict[int, dict] = {}

    def solve(threads: int) -> None:
        parts, feats = st.source_parts(tmp_path / "d.parquet", target="y")
        out[threads] = st.solve_stream(parts, features=feats, threads=threads)

    for threads in (1, 2):
        worker = threading.Thread(target=solve, args=(threads,), daemon=True)
        worker.start()
        worker.join(timeout=60)  # waits for the event (the solve's end), bounded
        assert not worker.is_alive(), f"the pass on {threads} thread(s) did not finish"
    assert out[1]["coef"] == out[2]["coef"]
    X = np.column_stack([frame[["a", "b"]].to_numpy(), np.ones(21)])
    ref = np.linalg.lstsq(X, frame["y"].to_numpy(), rcond=None)[0]
    np.testing.assert_allclose(out[2]["coef"], ref[:2], rtol=1e-10)


def test_the_gram_yardstick_times_one_in_memory_product_per_row_block():
    yard = st.gram_yardstick(12, threads=1, rows=3000, repeat=2)
    assert (yard["rows"], yard["d"], yard["threads"]) == (3000, 12, 1)
    assert yard["seconds"] > 0 and yard["flops_per_s"] == pytest.approx(3000 * 12 * 12 / yard["seconds"])
