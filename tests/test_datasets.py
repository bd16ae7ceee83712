"""Generators reproduce the seed documents' data as printed; loaders refuse bad files clearly."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reglab.data import datasets
from reglab.data.datasets import DataError

SHIPPED_FUEL = Path(__file__).resolve().parents[1] / "data" / "FuelConsumption.csv"  # as shared/data has it


def test_collinear_toy_is_seed_001_table():
    d = datasets.collinear_toy()
    assert d.X().tolist() == [[1, 2], [2, 3], [3, 4], [4, 5], [5, 6]]
    assert d.y().tolist() == [3, 5, 7, 9, 11]
    assert d.intercept is True
    # the printed data satisfy x2 = x1 + 1 and y = 2 x1 + 1 exactly
    assert np.array_equal(d.X()[:, 1], d.X()[:, 0] + 1)
    assert np.array_equal(d.y(), 2 * d.X()[:, 0] + 1)


def test_collinear_dependency_and_truth():
    d = datasets.collinear(
        n=500, dependency_noise=1e-4, coef=[1, 2, 3], intercept_value=0.5, noise=0.0, seed=3
    )
    X = d.X()
    resid = X[:, 2] - X[:, 0] - X[:, 1]
    assert 0 < np.std(resid) < 2e-4
    np.testing.assert_allclose(d.y(), X @ [1, 2, 3] + 0.5, rtol=0, atol=1e-12)
    assert d.truth["y"] == {"x1": 1, "x2": 2, "x3": 3, "intercept": 0.5}


def test_underdetermined_shapes_ranges_and_seed():
    a = datasets.underdetermined(n=20, d=30, seed=1)
    b = datasets.underdetermined(n=20, d=30, seed=1)
    c = datasets.underdetermined(n=20, d=30, seed=2)
    assert a.X().shape == (20, 30) and a.y().shape == (20,)
    assert a.intercept is False
    assert 0 <= a.X().min() and a.X().max() < 1 and 0 <= a.y().min() and a.y().max() < 1
    assert a.frame.equals(b.frame)
    assert not a.frame.equals(c.frame)


def test_balloons_follow_printed_rules():
    d = datasets.balloons(n=2000, validation_fraction=0.25, seed=5)
    f = d.frame
    assert set(f["relationship"].unique()) == {-0.5, 0.5}
    assert f["children"].between(-0.5, 0.5).all() and f["age"].between(-0.5, 0.5).all()
    p = f[f["relationship"] == -0.5]
    s = f[f["relationship"] == 0.5]
    np.testing.assert_array_equal(p["num_balloons"], 1.0 * p["children"] - 0.2 * p["age"])
    np.testing.assert_array_equal(s["num_balloons"], 0.8 * s["children"] + 0.5 * s["age"])
    np.testing.assert_array_equal(p["color"], (0.8 * p["children"] + 0.2 * p["age"] > 0).astype(float))
    np.testing.assert_array_equal(s["color"], (0.5 * s["children"] + 0.5 * s["age"] > 0).astype(float))
    assert (f["split"] == "validation").sum() == 500
    assert (f["split"].iloc[-500:] == "validation").all()  # the last rows, as Keras' validation_split
    assert d.is_binary("color") and not d.is_binary("num_balloons")


def test_amortized_matches_its_truth():
    d = datasets.amortized(m=4, n=50, d=3, coef_scale=100, noise_max=0.0, seed=9)
    beta = np.array(d.truth["y"]["coef_by_group"])
    assert beta.shape == (4, 3)
    for g in range(4):
        rows = d.frame[d.frame["group"] == g]
        x = rows[["x1", "x2"]].to_numpy()
        assert ((0 <= x) & (x < 1)).all()
        np.testing.assert_allclose(rows["y"], x @ beta[g, :2] + beta[g, 2], rtol=1e-12, atol=1e-9)


def test_artifact_roundtrip(tmp_path):
    d = datasets.balloons(n=100, validation_fraction=0.2, seed=1)
    datasets.save(d, tmp_path / "b.parquet")
    back = datasets.load(tmp_path / "b.parquet")
    assert back.frame.equals(d.frame)
    assert back.metadata() == d.metadata()
    assert list(tmp_path.iterdir()) == [tmp_path / "b.parquet"]  # no temp file left behind


def test_build_dispatch_and_unknown_kind():
    assert datasets.build("u", {"kind": "underdetermined", "n": 3, "d": 4}, seed=0).X().shape == (3, 4)
    with pytest.raises(DataError, match="unknown kind 'nope'"):
        datasets.build("x", {"kind": "nope"}, seed=0)


def test_fuel_file_verifies_and_loads(tmp_path):
    local = tmp_path / "FuelConsumption.csv"
    shutil.copy(SHIPPED_FUEL, local)
    assert datasets.verify_fuel(local) == "79a51cbe05a07c47cac6e0ee3efd16a6bddae8b3f76fcd8b3b7284eed16def7d"
    d = datasets.fuel(local)
    assert d.X().shape == (1067, 3)
    assert d.features == ["ENGINESIZE", "CYLINDERS", "FUELCONSUMPTION_COMB"] and d.target == "CO2EMISSIONS"
    # first data row of the file: 2.0, 4, 8.5 -> 196
    assert d.X()[0].tolist() == [2.0, 4.0, 8.5] and d.y()[0] == 196.0


def test_fuel_wrong_rows_rejected(tmp_path):
    bad = tmp_path / "f.csv"
    pd.DataFrame({c: [1, 2] for c in datasets.FUEL_HEADER}).to_csv(bad, index=False)
    with pytest.raises(DataError, match="2 data rows, expected 1067"):
        datasets.verify_fuel(bad)


def test_the_shipped_fuel_file_is_the_documented_one_and_a_changed_copy_is_refused(tmp_path):
    import hashlib

    shipped = Path(__file__).resolve().parents[1] / "data" / "FuelConsumption.csv"
    source = (shipped.parent / "FuelConsumption.SOURCE.md").read_text()
    digest = hashlib.sha256(shipped.read_bytes()).hexdigest()
    assert digest in source and "Open Government Licence" in source and shipped.stat().st_size == 72629
    ds = datasets.fuel(shipped, sha256=datasets.FUEL_SHA256)
    assert len(ds.frame) == datasets.FUEL_ROWS
    changed = tmp_path / "FuelConsumption.csv"
    changed.write_bytes(shipped.read_bytes().replace(b"2014,ACURA", b"2014,ACURB", 1))
    with pytest.raises(DataError, match=r"sha256 [0-9a-f]{64} is not the shipped file's"):
        datasets.fuel(changed, sha256=datasets.FUEL_SHA256)


def test_fetch_fuel_offline_message(tmp_path):
    dest = tmp_path / "resources" / "FuelConsumption.csv"
    with pytest.raises(DataError, match=f"Put the file .* at {dest}"):
        datasets.fetch_fuel("file:///nonexistent/FuelConsumption.csv", dest)
    assert not dest.exists()


# ------------------------------------------------------------------ user files


def _csv(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "mine.csv"
    p.write_text(text)
    return p


def test_user_csv_defaults(tmp_path):
    p = _csv(tmp_path, "x1,x2,label,y\n1,2,a,3\n2,3,b,5\n4,1,c,6\n")
    d = datasets.from_file("mine", p, target="y")
    assert d.features == ["x1", "x2"]  # non-numeric 'label' is not a default feature
    assert d.intercept and d.provenance["sha256"] == datasets.sha256_of(p)


def test_user_parquet(tmp_path):
    p = tmp_path / "mine.parquet"
    pd.DataFrame({"a": [1.0, 2.0, 3.0], "t": [0.0, 1.0, 1.0]}).to_parquet(p)
    d = datasets.from_file("m", p, target="t", intercept=False)
    assert d.X().tolist() == [[1.0], [2.0], [3.0]] and not d.intercept


@pytest.mark.parametrize(
    ("text", "kwargs", "message"),
    [
        ("x1,y\n1,2\n2,3\n", {"target": "z"}, r"target column 'z' not found; columns are \['x1', 'y'\]"),
        (
            "x1,y\n1,2\n2,3\n",
            {"target": "y", "features": ["x1", "x9"]},
            r"feature column\(s\) \['x9'\] not found",
        ),
        ("x1,y\n1,2\n2,oops\n", {"target": "y"}, r"column 'y', data row 2: non-numeric value 'oops'"),
        (
            "x1,y\n1,2\n,3\n",
            {"target": "y", "features": ["x1"]},
            r"column 'x1', data row 2: missing/NaN value",
        ),
        (
            "x1,y\n1,2\ninf,3\n",
            {"target": "y", "features": ["x1"]},
            r"column 'x1', data row 2: infinite value",
        ),
        ("x1,y\n1,2\n", {"target": "y"}, r"needs at least 2 data rows, found 1"),
        ("x1,x1,y\n1,2,3\n2,3,4\n", {"target": "y"}, r"duplicate column name\(s\) \['x1'\]"),
    ],
)
def test_user_csv_errors_name_file_column_row(tmp_path, text, kwargs, message):
    p = _csv(tmp_path, text)
    with pytest.raises(DataError, match=message) as err:
        datasets.from_file("mine", p, **kwargs)
    assert str(p) in str(err.value)


def test_missing_file_and_bad_suffix(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        datasets.from_file("m", tmp_path / "nope.csv", target="y")
    p = tmp_path / "x.xlsx"
    p.write_text("")
    with pytest.raises(DataError, match="unsupported file type"):
        datasets.from_file("m", p, target="y")


def test_constant_column_is_kept(tmp_path):
    p = _csv(tmp_path, "c,x,y\n1,1,2\n1,2,3\n1,3,5\n")
    d = datasets.from_file("m", p, target="y")
    assert d.features == ["c", "x"]  # reported by diagnostics, not dropped here


# ------------------------------------------------------------------ a user's own file, at the edges


def test_a_stray_text_cell_in_a_numeric_column_is_an_error_not_a_lost_column(tmp_path):
    f = _csv(tmp_path, "x1,x2,y\n1,0.5,1\n2,abc,2\n3,0.7,3\n")
    with pytest.raises(DataError, match=r"mine\.csv: column 'x2', data row 2: non-numeric value 'abc'"):
        datasets.from_file("m", f, target="y")


def test_a_decimal_comma_is_named_with_a_hint(tmp_path):
    f = _csv(tmp_path, 'x1,x2,y\n1,"0,3456",1\n2,0.5,2\n3,0.7,3\n')
    with pytest.raises(
        DataError, match=r"column 'x2', data row 1: non-numeric value '0,3456' \(a decimal comma"
    ):
        datasets.from_file("m", f, target="y")


def test_a_text_column_is_left_out_and_listed_with_its_reason(tmp_path):
    f = _csv(tmp_path, "name,x1,empty,y\na,1,,1\nb,2,,2\nc,3,,4\n")
    ds = datasets.from_file("m", f, target="y")
    assert ds.features == ["x1"]
    left = ds.provenance["columns_left_out"]
    assert (
        set(left) == {"name", "empty"}
        and left["name"].startswith("not numeric")
        and left["empty"].startswith("empty")
    )
    listed = datasets.from_file("m", f, target="y", features=["x1"]).provenance["columns_left_out"]
    assert set(listed) == {"name", "empty"} and "not listed" in listed["name"]


@pytest.mark.parametrize("name", ["group", "split", "intercept"])
def test_reserved_column_names_are_refused_when_the_file_is_read(tmp_path, name):
    f = _csv(tmp_path, f"x1,{name},y\n1,1,1\n2,2,2\n3,1,4\n")
    with pytest.raises(DataError, match=rf"column\(s\) \['{name}'\] have a name reglab uses"):
        datasets.from_file("m", f, target="y")


def test_a_header_without_rows_says_no_data_rows(tmp_path):
    with pytest.raises(DataError, match=r"has a header \(3 columns\) but no data rows"):
        datasets.from_file("m", _csv(tmp_path, "x1,x2,y\n"), target="y")


def test_a_semicolon_file_is_read_with_its_delimiter(tmp_path):
    ds = datasets.from_file("m", _csv(tmp_path, "x1;x2;y\n1;0;1.5\n2;1;2.5\n3;0;3.9\n"), target="y")
    assert ds.features == ["x1", "x2"] and ds.provenance["delimiter"] == ";"
    assert ds.frame["y"].tolist() == [1.5, 2.5, 3.9]


def test_a_parser_error_says_data_row_like_every_other_message(tmp_path):
    f = _csv(tmp_path, "x1,y\n1,2\n2,3\n3,4,5\n")  # the third data row has a field too many
    with pytest.raises(DataError, match=r"data row 3") as err:
        datasets.from_file("m", f, target="y")
    assert "line 4" not in str(err.value)
