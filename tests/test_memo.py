"""A packed job's memo (reglab.core.memo): a unit whose key is unchanged is restored byte for byte, a
changed key or an unfinished entry is computed again, and work that writes nothing is an error."""

from __future__ import annotations

import pytest

from reglab.core.memo import Memo, file_digest, key, run_units, said, units


def _units(tmp_path, keys):
    return {
        name: (
            k,
            {"doc.json": tmp_path / "out" / f"{name}.json", "rows.txt": tmp_path / "out" / f"{name}.txt"},
        )
        for name, k in keys.items()
    }


def _worker(tmp_path, calls):
    def work(name):
        calls.append(name)
        (tmp_path / "out").mkdir(exist_ok=True)
        (tmp_path / "out" / f"{name}.json").write_text(f'{{"unit": "{name}", "call": {len(calls)}}}')
        (tmp_path / "out" / f"{name}.txt").write_text(f"rows of {name}\n")

    return work


def test_unchanged_units_are_restored_and_changed_ones_computed(tmp_path):
    memo, calls = Memo(tmp_path / "memo"), []
    first = run_units(memo, _units(tmp_path, {"a": "k1", "b": "k2"}), _worker(tmp_path, calls))
    assert first == {"a": "computed", "b": "computed"} and calls == ["a", "b"]
    written = (tmp_path / "out" / "a.json").read_bytes()
    for f in (tmp_path / "out").iterdir():  # Snakemake removes a job's outputs before it runs
        f.unlink()
    second = run_units(memo, _units(tmp_path, {"a": "k1", "b": "k2-changed"}), _worker(tmp_path, calls))
    assert second == {"a": "restored", "b": "computed"} and calls == ["a", "b", "b"]
    assert (tmp_path / "out" / "a.json").read_bytes() == written  # as it was, not recomputed
    assert (tmp_path / "out" / "b.json").read_text() == '{"unit": "b", "call": 3}'


def test_an_entry_without_its_key_file_is_unfinished_and_recomputed(tmp_path):
    memo, calls = Memo(tmp_path / "memo"), []
    run_units(memo, _units(tmp_path, {"a": "k1"}), _worker(tmp_path, calls))
    (tmp_path / "memo" / "a" / "key").unlink()  # killed between its files and its key
    again = run_units(memo, _units(tmp_path, {"a": "k1"}), _worker(tmp_path, calls))
    assert again == {"a": "computed"} and calls == ["a", "a"]


def test_work_that_writes_nothing_is_an_error_and_stores_nothing(tmp_path):
    memo = Memo(tmp_path / "memo")
    with pytest.raises(RuntimeError, match="memo unit 'a': its work did not write"):
        run_units(memo, _units(tmp_path, {"a": "k1"}), lambda name: None)
    assert not (tmp_path / "memo" / "a" / "key").exists()
    with pytest.raises(ValueError, match="memo unit names a folder"):
        memo.restore("../x", "k", {})


def test_the_key_follows_the_entry_the_inputs_contents_and_the_rest(tmp_path):
    data = tmp_path / "data.parquet"
    data.write_bytes(b"rows")
    base = key({"lr": 0.1}, {"data": data}, seed=1, code="abc")
    assert base == key({"lr": 0.1}, {"data": data}, seed=1, code="abc")
    assert base != key({"lr": 0.2}, {"data": data}, seed=1, code="abc")
    assert base != key({"lr": 0.1}, {"data": data}, seed=2, code="abc")
    assert base != key({"lr": 0.1}, {"data": data}, seed=1, code="abd")
    data.write_bytes(b"other rows")  # same path, new content
    assert base != key({"lr": 0.1}, {"data": data}, seed=1, code="abc")
    assert file_digest(data) == __import__("hashlib").sha256(b"other rows").hexdigest()


def test_a_packed_jobs_units_pair_each_entry_with_its_outputs_in_order(tmp_path):
    data = tmp_path / "data.parquet"
    data.write_bytes(b"rows")
    entries = {"a": {"lr": 0.1}, "b": {"lr": 0.2}}
    got = units(entries, {"doc.json": ["out/a.json", "out/b.json"]}, {"data": data}, seed=1)
    assert list(got) == ["a", "b"] and got["b"][1] == {"doc.json": "out/b.json"}
    assert got["a"][0] == key({"lr": 0.1}, {"data": data}, seed=1) != got["b"][0]
    with pytest.raises(ValueError, match="2 units but 1 'doc.json' outputs"):
        units(entries, {"doc.json": ["out/a.json"]}, {"data": data})
    assert said({"a": "restored", "b": "computed"}) == "a restored, b computed"
