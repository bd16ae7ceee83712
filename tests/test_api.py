"""The public API (reglab.fit / diagnose / fit_stream) and the ``reglab`` command: answers against an
independent solve, the pipeline's messages for bad input, the light import, and the library's doctests."""

from __future__ import annotations

import doctest
import importlib
import json
import pkgutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import nist_strd
import numpy as np
import pandas as pd
import pytest

import reglab
from reglab.data.datasets import DataError
from reglab.linalg.lsq.digits import lre

REPO = Path(__file__).resolve().parents[1]
COMMAND = [sys.executable, "-m", "reglab.cli"]


def _lstsq(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Slopes then intercept, by numpy's SVD solver (independent of reglab's QR + refinement)."""
    D = np.column_stack([X, np.ones(len(y))])
    return np.linalg.lstsq(D, y, rcond=None)[0]


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """A well-conditioned CSV with a text column (left out, with the reason) and its solution."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(200, 3))
    y = X @ [1.5, -2.0, 0.25] + 4.0 + rng.normal(scale=0.1, size=200)
    folder = tmp_path_factory.mktemp("api")
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(y=y, label=[f"r{i}" for i in range(200)])
    frame.to_csv(folder / "good.csv", index=False)
    shards = folder / "shards"
    shards.mkdir()
    for k, rows in enumerate(np.array_split(np.arange(200), 3)):
        frame.iloc[rows].drop(columns="label").to_parquet(shards / f"part-{k}.parquet", index=False)
    return folder, X, y, _lstsq(X, y)


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*COMMAND, *args], capture_output=True, text=True, timeout=120, cwd=REPO)


# ------------------------------------------------------------------------------------------------ Python


def test_fit_from_arrays_frames_and_files_agree_with_an_independent_solve(good):
    folder, X, y, ref = good
    fits = [
        reglab.fit(X, y, features=["a", "b", "c"]),
        reglab.fit(pd.DataFrame(X, columns=["a", "b", "c"]), pd.Series(y)),
        reglab.fit(folder / "good.csv", target="y"),
        reglab.fit(str(folder / "good.csv"), target="y", features=["a", "b", "c"]),
        reglab.fit(folder / "shards", target="y"),  # a folder is streamed
    ]
    for f in fits:
        est = [f.coef["a"], f.coef["b"], f.coef["c"], f.intercept]
        np.testing.assert_allclose(est, ref, rtol=1e-12)
        assert (f.rank, f.n_params, f.dof, f.n) == (4, 4, 196, 200)
        assert f.claimed_digits > 12 and f.se_digits > 10
    assert [f.streamed for f in fits] == [False] * 4 + [True]
    # statsmodels' standard errors are the textbook ones; the API's agree with them
    import statsmodels.api as sm

    ols = sm.OLS(y, np.column_stack([X, np.ones(200)])).fit()
    for f in (fits[0], fits[-1]):
        np.testing.assert_allclose([f.se[k] for k in ("a", "b", "c", "intercept")], ols.bse, rtol=1e-9)
        assert f.r2 == pytest.approx(ols.rsquared, rel=1e-12)
    assert fits[2].columns_left_out == {"label": "not numeric: no cell is a number (first value 'r0')"}
    assert fits[0].verdict_class == "identifiable"
    # 200 x 4 is small enough for the exact rational reference: the digits are measured against it
    assert fits[0].correct_digits >= 15 and fits[-1].correct_digits is None  # nothing measures a stream


def test_the_result_reads_as_a_table_and_round_trips_as_json(good):
    folder, *_ = good
    f = reglab.fit(folder / "good.csv", target="y")
    d = json.loads(json.dumps(f.to_dict(), allow_nan=False))
    assert d["coef"] == f.coef and d["correct_digits_metric"] == "lre_componentwise"
    text = f.summary()
    for name in ("a", "b", "c", "intercept", "rank 4 of 4", "label"):
        assert name in text
    assert repr(f).startswith("Fit(n=200, rank=4/4, coef={a=")


def test_longley_keeps_the_certified_digits():
    s = nist_strd.load("Longley")
    names = [f"x{j + 1}" for j in range(6)]
    f = reglab.fit(s.design(), s.y, features=names)
    est = [f.intercept, *(f.coef[n] for n in names)]
    se = [f.se["intercept"], *(f.se[n] for n in names)]
    certified = [Fraction(repr(float(v))) for v in s.coef]
    assert lre(est, certified) >= 13.0  # NIST's values have 15 significant digits
    assert lre(se, [Fraction(repr(float(v))) for v in s.se]) >= 13.0
    assert f.correct_digits == 16.0  # against the exact rational solution of the float64 data
    assert f.verdict_class == "near-collinear"


def test_a_rank_deficient_design_says_so_and_gives_no_standard_error():
    rng = np.random.default_rng(3)
    a = rng.normal(size=50)
    X = np.column_stack([a, 2.0 * a, rng.normal(size=50)])
    y = a + rng.normal(size=50)
    f = reglab.fit(X, y, features=["a", "twice_a", "c"])
    assert (f.rank, f.n_params) == (3, 4) and f.se is None
    assert f.verdict_class == "not identifiable"
    d = reglab.diagnose(X, y, features=["a", "twice_a", "c"])
    assert d.verdict_class == "not identifiable" and d.rank == 3
    assert len(d.null_space) == 1 and "a" in d.null_space[0] and "twice_a" in d.null_space[0]
    assert d.vif["a"] is None and d.vif["twice_a"] is None  # infinite


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (
            lambda p: p.write_text("a,y\n1,2\n2,x\n3,4\n"),
            r"bad\.csv: column 'y', data row 2: non-numeric value 'x'",
        ),
        (lambda p: p.write_text("a,y\n1,2\n2,3\n"), r"target column 'z' not found"),
        (lambda p: p.write_text("a,y\n1,2\n,3\n4,5\n"), r"column 'a', data row 2: missing/NaN"),
    ],
    ids=["text-cell", "no-target", "missing-cell"],
)
def test_bad_files_get_the_pipelines_message(tmp_path, make, pattern):
    path = tmp_path / "bad.csv"
    make(path)
    target = "z" if "target column" in pattern else "y"
    with pytest.raises(DataError, match=pattern):
        reglab.fit(path, target=target)


# ------------------------------------------------------------------------------------------------ shell


def test_the_command_fits_a_csv_and_prints_json(good):
    folder, X, y, ref = good
    plain = run("fit", str(folder / "good.csv"), "--target", "y")
    assert plain.returncode == 0, plain.stderr
    assert "rank 4 of 4" in plain.stdout and "intercept" in plain.stdout
    out = run("fit", str(folder / "good.csv"), "--target", "y", "--features", "a,b,c", "--json")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    np.testing.assert_allclose(
        [d["coef"]["a"], d["coef"]["b"], d["coef"]["c"], d["intercept"]], ref, rtol=1e-12
    )


def test_the_command_streams_a_parquet_folder(good):
    folder, X, y, ref = good
    out = run("fit", str(folder / "shards"), "--target", "y", "--json")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["streamed"] is True and d["rank"] == 4
    np.testing.assert_allclose(
        [d["coef"]["a"], d["coef"]["b"], d["coef"]["c"], d["intercept"]], ref, rtol=1e-12
    )


def test_the_command_stops_on_a_bad_file_with_the_message_and_no_traceback(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,y\n1,2\n2,3\n3,4,5\n")
    out = run("fit", str(bad), "--target", "y")
    assert out.returncode == 2 and out.stdout == ""
    assert str(bad) in out.stderr and "Traceback" not in out.stderr
    debug = run("fit", str(bad), "--target", "y", "--debug")
    assert debug.returncode != 0 and "Traceback" in debug.stderr
    missing = run("diagnose", str(tmp_path / "none.parquet"), "--target", "y")
    assert missing.returncode == 2 and "file not found" in missing.stderr


def test_the_command_diagnoses_a_rank_deficient_design(tmp_path):
    a = np.arange(20.0)
    pd.DataFrame({"a": a, "b": 3.0 * a, "y": a + np.sin(a)}).to_csv(tmp_path / "d.csv", index=False)
    out = run("diagnose", str(tmp_path / "d.csv"), "--target", "y")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("not identifiable") and "dependence:" in out.stdout
    d = json.loads(run("diagnose", str(tmp_path / "d.csv"), "--target", "y", "--json").stdout)
    assert d["rank"] == 2 and d["n_params"] == 3
    fit = json.loads(run("fit", str(tmp_path / "d.csv"), "--target", "y", "--json").stdout)
    assert fit["rank"] == 2 and fit["se"] is None


def test_the_installed_console_script_runs(good):
    script = Path(sys.executable).with_name("reglab")
    assert script.exists(), "pip install -e . makes the reglab console script"
    out = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.startswith("reglab ")


# ------------------------------------------------------------------------------------------------ light


def test_import_reglab_and_fit_load_no_tensorflow_keras_plotting_or_snakemake():
    code = (
        "import sys, numpy as np, reglab\n"
        "f = reglab.fit(np.arange(10.0)[:, None], np.arange(10.0) * 2 + 1)\n"
        "assert f.coef == {'x1': 2.0}, f\n"
        "heavy = ('tensorflow', 'keras', 'matplotlib', 'seaborn', 'snakemake', 'statsmodels', 'sklearn')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------------------------------------------------ doctests


def _modules_with_examples() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(reglab.__path__, "reglab."):
        spec = importlib.util.find_spec(info.name)
        if spec and spec.origin and ">>> " in Path(spec.origin).read_text(encoding="utf-8"):
            names.append(info.name)
    return names


@pytest.mark.parametrize("name", _modules_with_examples())
def test_the_docstring_examples_run(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.attempted > 0 and result.failed == 0, f"{name}: {result}"
