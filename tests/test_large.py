"""The large-design writer and streaming readers (reglab.data.large)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from reglab.data import large


def test_written_file_round_trips_its_metadata_and_rows(tmp_path):
    path = tmp_path / "d.parquet"
    meta = large.write_large(path, n=2500, d=4, seed=3, chunk_rows=1000, mean=1e4, scale_spread=2, noise=0.2)
    back = large.read_meta(path)
    assert back == meta
    assert back["n"] == 2500 and back["d"] == 4 and back["noise"] == 0.2 and len(back["coef"]) == 4
    md = pq.ParquetFile(path).metadata
    assert md.num_rows == 2500 and md.num_row_groups == 3
    assert [md.row_group(g).num_rows for g in range(3)] == [1000, 1000, 500]
    assert pq.read_schema(path).names == ["x1", "x2", "x3", "x4", "y"]
    x, y, _ = large.make_design(n=2500, d=4, seed=3, chunk_rows=1000, mean=1e4, scale_spread=2, noise=0.2)
    chunks = list(large.iter_chunks(path, target="y"))
    assert np.array_equal(np.vstack([c[0] for c in chunks]), x)
    assert np.array_equal(np.concatenate([c[1] for c in chunks]), y)
    assert [c[2] for c in chunks] == [0, 1000, 2000]


def test_generated_design_has_the_requested_condition_and_coefficients():
    x, y, meta = large.make_design(n=20000, d=6, seed=1, condition=1e5, noise=0.0)
    xc = x - x.mean(axis=0)
    s = np.linalg.svd(xc, compute_uv=False)
    assert 1e4 < s[0] / s[-1] < 1e6
    beta = np.linalg.lstsq(np.column_stack([np.ones(len(y)), x]), y, rcond=None)[0]
    np.testing.assert_allclose(beta[1:], meta["coef"], rtol=0, atol=1e-6)


def test_shards_are_separate_jobs_with_their_own_seeds(tmp_path):
    d = tmp_path / "shards"
    large.write_large(d, n=2500, d=3, seed=5, chunk_rows=400, shards=3)
    files = sorted(p.name for p in d.iterdir())
    assert files == ["part-000.parquet", "part-001.parquet", "part-002.parquet"]
    # a shard rewritten alone (as its own job) is identical
    before = pq.read_table(d / "part-001.parquet")
    (d / "part-001.parquet").unlink()
    large.write_large_shard(d, 1, n=2500, d=3, seed=5, shards=3, chunk_rows=400)
    assert pq.read_table(d / "part-001.parquet").equals(before)
    rows = [large.read_meta(d / f)["shard_rows"] for f in files]
    assert rows == [834, 833, 833]
    chunks = list(large.iter_chunks(d, target="y"))
    assert sum(len(c[1]) for c in chunks) == 2500
    firsts = [c[2] for c in chunks]
    assert firsts == sorted(firsts) and firsts[0] == 0


@pytest.mark.parametrize("n,chunk", [(10_000, 3000), (9_000, 3000), (1, 7)])
def test_iterator_yields_bounded_chunks(tmp_path, n, chunk):
    path = tmp_path / "d.parquet"
    large.write_large(path, n=n, d=3, seed=1, chunk_rows=5000)
    lens = [len(c[1]) for c in large.iter_chunks(path, target="y", chunk_rows=chunk)]
    assert sum(lens) == n
    assert max(lens) <= chunk
    # row groups of 5000 cut into chunks of at most `chunk` rows
    assert len(lens) == sum(
        math.ceil(g / chunk) for g in [5000] * (n // 5000) + ([n % 5000] if n % 5000 else [])
    )
    # without chunk_rows: one chunk per row group
    assert len(list(large.iter_chunks(path, target="y"))) == math.ceil(n / 5000)


def test_chunk_count_is_ceil_n_over_chunk_rows(tmp_path):
    path = tmp_path / "d.parquet"
    large.write_large(path, n=25_001, d=2, seed=1, chunk_rows=1000)
    lens = [len(c[1]) for c in large.iter_chunks(path, target="y")]
    assert len(lens) == math.ceil(25_001 / 1000) and max(lens) == 1000


def test_shard_ranges_cover_all_row_groups_once(tmp_path):
    path = tmp_path / "d.parquet"
    large.write_large(path, n=10_500, d=2, seed=1, chunk_rows=1000)  # 11 row groups
    for shards in (1, 2, 3, 4, 11, 13):
        ranges = large.shard_ranges(path, shards)
        assert len(ranges) == shards
        flat = [g for r in ranges for g in r]
        assert flat == list(range(11))
        assert all(r == list(range(r[0], r[-1] + 1)) for r in ranges if r)
    ranges = large.shard_ranges(path, 3)
    parts = [list(large.iter_chunks(path, target="y", row_groups=r)) for r in ranges]
    y = np.concatenate([c[1] for p in parts for c in p])
    assert np.array_equal(y, np.concatenate([c[1] for c in large.iter_chunks(path, target="y")]))
    assert parts[1][0][2] == 1000 * len(ranges[0])


def _csv(path, n, seed=0):
    rng = np.random.default_rng(seed)
    t = pa.table(
        {
            "a": rng.standard_normal(n),
            "b": rng.standard_normal(n),
            "c": np.arange(n) % 7,
            "y": rng.standard_normal(n),
        }
    )
    pacsv.write_csv(t, path)
    return t


def _set_cell(path, data_row, col, text):
    lines = path.read_text().splitlines(keepends=True)
    cells = lines[data_row].rstrip("\n").split(",")  # lines[0] is the header
    cells[col] = text
    lines[data_row] = ",".join(cells) + "\n"
    path.write_text("".join(lines))


def test_csv_streams_like_the_table(tmp_path):
    path = tmp_path / "d.csv"
    t = _csv(path, 30_000)
    chunks = list(large.iter_chunks(path, target="y", block_size=1 << 16, chunk_rows=4000))
    assert max(len(c[1]) for c in chunks) <= 4000 and len(chunks) > 8
    x = np.vstack([c[0] for c in chunks])
    np.testing.assert_array_equal(x[:, 2], t.column("c").to_numpy())
    np.testing.assert_allclose(x[:, 0], t.column("a").to_numpy(), rtol=1e-15)
    assert [c[2] for c in chunks] == sorted(c[2] for c in chunks)


@pytest.mark.parametrize("text,shown", [("abc", "'abc'"), ("", "missing"), ("nan", "nan"), ("inf", "inf")])
def test_bad_value_in_the_middle_of_a_big_csv_names_row_and_column(tmp_path, text, shown):
    path = tmp_path / "big.csv"
    _csv(path, 60_000)
    _set_cell(path, 41_234, 1, text)  # data row 41234, column b
    with pytest.raises(ValueError) as err:
        for _ in large.iter_chunks(path, target="y", block_size=1 << 16):
            pass
    msg = str(err.value)
    assert "big.csv" in msg and "'b'" in msg and "data row 41234" in msg and shown in msg, msg


def test_bad_value_in_an_integer_looking_csv_column(tmp_path):
    path = tmp_path / "int.csv"
    _csv(path, 40_000)
    _set_cell(path, 35_000, 2, "1.5")  # fine: columns are read as float64
    _set_cell(path, 39_000, 2, "seven")
    with pytest.raises(ValueError, match=r"'c', data row 39000: value 'seven'"):
        list(large.iter_chunks(path, target="y", block_size=1 << 15))


def test_nan_in_parquet_names_file_row_and_column(tmp_path):
    path = tmp_path / "bad.parquet"
    x = np.random.default_rng(0).standard_normal((5000, 3))
    x[3456, 2] = np.inf
    t = pa.table({"u": x[:, 0], "v": x[:, 1], "w": x[:, 2], "y": x.sum(1)})
    pq.write_table(t, path, row_group_size=1000)
    with pytest.raises(ValueError, match=r"bad\.parquet: column 'w', data row 3457: value inf"):
        list(large.iter_chunks(path, target="y"))


def test_pool_reuses_buffers_and_subtracts_its_offset_while_reading(tmp_path):
    path = tmp_path / "d.parquet"
    large.write_large(path, n=3000, d=3, seed=2, chunk_rows=1000, mean=50.0)
    plain = list(large.iter_chunks(path, target="y"))
    pool = large.BufferPool()
    offset = np.array([1.0, 2.0, 3.0, 4.0])
    for i, (x, y, row) in enumerate(large.iter_chunks(path, target="y", pool=pool)):
        assert pool.offset_of(x) is (None if i == 0 else offset)
        want_x, want_y = plain[i][0], plain[i][1]
        if i:
            want_x, want_y = want_x - offset[:3], want_y - offset[3]
        assert np.array_equal(x, want_x) and np.array_equal(y, want_y) and row == plain[i][2]
        pool.give(x)
        pool.offset = offset
    assert pool.allocated == 1


def test_a_bad_cell_is_reported_as_written_when_the_pool_offsets(tmp_path):
    path = tmp_path / "bad.parquet"
    x = np.random.default_rng(0).standard_normal((3000, 2))
    x[2500, 1] = -np.inf
    pq.write_table(pa.table({"u": x[:, 0], "v": x[:, 1], "y": x.sum(1)}), path, row_group_size=1000)
    pool = large.BufferPool()
    pool.offset = np.array([5.0, 5.0, 5.0])
    with pytest.raises(ValueError, match=r"column 'v', data row 2501: value -inf"):
        list(large.iter_chunks(path, target="y", pool=pool))
    # finite cells whose squares overflow are not bad cells
    big = tmp_path / "big.parquet"
    pq.write_table(pa.table({"u": [1e200, 2e200, 3e200], "y": [1.0, 2.0, 3.0]}), big)
    ((xb, _, _),) = large.iter_chunks(big, target="y")
    assert xb[2, 0] == 3e200


def test_row_groups_read_by_index_match_the_stream_from_any_thread(tmp_path):
    import concurrent.futures

    d = tmp_path / "shards"
    large.write_large(d, n=5000, d=3, seed=4, chunk_rows=700, shards=3)
    rg = large.RowGroups(d, target="y")
    stream = list(large.iter_chunks(d, target="y"))
    assert len(rg) == len(stream) and rg.max_rows == 700
    with concurrent.futures.ThreadPoolExecutor(3) as ex:
        by_index = list(ex.map(rg.read, range(len(rg))))
    for (xa, ya, ra), (xb, yb, rb) in zip(stream, by_index):
        assert ra == rb and np.array_equal(xa, xb) and np.array_equal(ya, yb)


def test_non_numeric_parquet_column_is_skipped_or_refused(tmp_path):
    path = tmp_path / "s.parquet"
    pq.write_table(pa.table({"a": [1.0, 2.0], "name": ["p", "q"], "y": [0.0, 1.0]}), path)
    ((x, _y, _),) = large.iter_chunks(path, target="y")
    assert x.shape == (2, 1)
    # named, it is never left out: the first cell that is not a number stops the read
    with pytest.raises(ValueError, match=r"s\.parquet: column 'name', data row 1: value 'p' is not a number"):
        list(large.iter_chunks(path, target="y", features=["a", "name"]))
    pq.write_table(
        pa.table({"a": [1.0, 2.0], "when": pa.array([1, 2], pa.timestamp("s")), "y": [0.0, 1.0]}), path
    )
    with pytest.raises(ValueError, match=r"column 'when' is timestamp\[m?s\], not numeric"):
        list(large.iter_chunks(path, target="y", features=["a", "when"]))


def test_size_guard_suggests_streaming(tmp_path):
    path = tmp_path / "d.parquet"
    large.write_large(path, n=1000, d=5, seed=1)
    assert large.check_fits_in_memory(path) >= 1000 * 6 * 8
    with pytest.raises(MemoryError, match="streaming: true"):
        large.check_fits_in_memory(path, fraction=1e-9)


# ------------------------------------------------------------------ the streaming path's column policy


def _frame(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    X = rng.normal(size=(n, 3))
    return pd.DataFrame(X, columns=["x0", "x1", "x2"]).assign(y=X @ [1.0, -2.0, 0.5] + 3.0)


def test_a_text_column_of_numbers_is_used_and_one_of_words_is_left_out(tmp_path):
    import reglab

    frame = _frame()
    x3 = frame["x0"] * 0.25 + frame["x1"] ** 2
    noise = np.random.default_rng(1).normal(scale=0.1, size=len(frame))
    frame = frame.assign(y=frame["y"] + 0.7 * x3 + noise)
    stored = frame.assign(x3=[repr(float(v)) for v in x3], label="a")
    stored.to_parquet(tmp_path / "t.parquet", row_group_size=100, index=False)
    numeric = stored.assign(x3=stored["x3"].astype(float)).drop(columns="label")
    feats, left = large.column_policy(tmp_path / "t.parquet", target="y")
    assert feats == ["x0", "x1", "x2", "x3"]
    assert left == {"label": "not numeric: no cell is a number (first value 'a')"}
    streamed = reglab.fit_stream(tmp_path / "t.parquet", target="y")
    in_memory = reglab.fit(numeric, target="y")
    np.testing.assert_allclose(list(streamed.coef.values()), list(in_memory.coef.values()), rtol=1e-10)
    assert streamed.columns_left_out == left


def test_a_named_text_feature_that_is_not_a_number_stops_with_file_column_row(tmp_path):
    import reglab

    frame = _frame().assign(x3="1.5")
    frame.loc[123, "x3"] = "n/a"
    frame.to_parquet(tmp_path / "t.parquet", row_group_size=100, index=False)
    named = r"t\.parquet: column 'x3', data row 124: value 'n/a' is not a number"
    with pytest.raises(ValueError, match=named):
        reglab.fit_stream(tmp_path / "t.parquet", target="y", features=["x0", "x3"])
    # not named: numeric but for some cells is an error too, never a silent leave-out
    with pytest.raises(ValueError, match=r"column 'x3', data row 124: .*1 non-numeric cell"):
        large.column_policy(tmp_path / "t.parquet", target="y")


@pytest.mark.parametrize("suffix", ["parquet", "csv"])
def test_a_column_of_decimal_commas_gets_the_hint_streamed_and_in_memory(tmp_path, suffix):
    from reglab.data import datasets

    frame = _frame().assign(x3=[f"{v:.4f}".replace(".", ",") for v in np.linspace(0, 1, 300)])
    path = tmp_path / f"t.{suffix}"
    frame.to_parquet(path, index=False) if suffix == "parquet" else frame.to_csv(path, index=False)
    hint = r"column 'x3', data row 1: .*'0,0000'.*a decimal comma\? write 0\.5, not 0,5"
    with pytest.raises(ValueError, match=hint):
        large.column_policy(path, target="y")
    with pytest.raises(datasets.DataError, match=hint):
        datasets.from_file("t", path, target="y")


@pytest.mark.parametrize(
    ("name", "make", "why"),
    [
        (
            "truncated.parquet",
            lambda p, good: p.write_bytes(good[: len(good) // 2]),
            "not a readable Parquet",
        ),
        ("empty.parquet", lambda p, good: p.write_bytes(b""), r"empty \(0 bytes\)"),
        ("text.parquet", lambda p, good: p.write_text("a,b\n1,2\n"), "not a readable Parquet"),
        ("norows.parquet", lambda p, good: _frame().iloc[:0].to_parquet(p), "no data rows"),
        ("header.csv", lambda p, good: p.write_text("x0,x1,y\n"), "header but no data rows"),
    ],
    ids=["truncated", "zero-bytes", "not-parquet", "no-rows", "csv-header-only"],
)
def test_every_bad_file_error_names_the_file(tmp_path, name, make, why):
    import reglab

    good = tmp_path / "good.parquet"
    _frame().to_parquet(good, index=False)
    path = tmp_path / name
    make(path, good.read_bytes())
    with pytest.raises(ValueError, match=rf"{path.name}: .*{why}"):
        reglab.fit_stream(path, target="y")


@pytest.mark.parametrize("suffix", ["parquet", "csv"])
def test_a_named_feature_is_never_left_out_on_either_path(tmp_path, suffix):
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["2", "x", "4"], "y": [3.0, 4.0, 5.0]})
    path = tmp_path / f"named.{suffix}"
    frame.to_parquet(path, index=False) if suffix == "parquet" else frame.to_csv(path, index=False)
    with pytest.raises(ValueError, match=rf"named\.{suffix}: column 'b', data row 2: value 'x' is not a"):
        list(large.iter_chunks(path, target="y", features=["a", "b"]))


def test_an_unreadable_file_is_named(tmp_path, monkeypatch):
    """Permissions cannot be taken from root (the tests' user), so the OS's refusal is raised where the
    file is opened, as it would be for another user."""
    import reglab

    path = tmp_path / "locked.parquet"
    _frame().to_parquet(path, index=False)

    def refuse(where, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(where))

    monkeypatch.setattr(large.pq, "read_metadata", refuse)
    with pytest.raises(ValueError, match=r"locked\.parquet: not a readable Parquet file \(PermissionError"):
        reglab.fit_stream(path, target="y")
