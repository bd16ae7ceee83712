"""End-to-end: the whole workflow on config/tiny.yaml in a temporary directory, plus rerun/validation
checks."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from reglab.linalg.lsq.result import coef_vector

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "config" / "tiny.yaml"

pytestmark = pytest.mark.e2e


def snakemake(
    workdir: Path,
    *args: str,
    study: str = "tiny",
    configfiles: list[Path] | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """The workflow on a study (``--config study=…``, as README says), with extra config files over it."""
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--cores",
        "2",
        *args,
        "--config",
        f"study={study}",
    ]
    if configfiles:
        cmd += ["--configfile", *(str(c) for c in configfiles)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)


def planned_job_wildcards(result: subprocess.CompletedProcess) -> list[tuple[str, str]]:
    """(rule, its wildcards as printed (``study=seed002, group=lr0.05_full``) or '') for every job a dry run
    plans."""
    jobs, rule = set(), None
    for line in result.stdout.splitlines() + result.stderr.splitlines():
        line = line.strip()
        if m := re.match(r"^(?:local)?rule (\w+):", line):
            if rule is not None:
                jobs.add((rule, ""))
            rule = m.group(1)
        elif rule is not None and line.startswith("wildcards: "):
            jobs.add((rule, line.removeprefix("wildcards: ")))
            rule = None
        elif rule is not None and not line:
            jobs.add((rule, ""))
            rule = None
    if rule is not None:
        jobs.add((rule, ""))
    return sorted(jobs)


def planned_jobs(result: subprocess.CompletedProcess) -> list[tuple[str, str]]:
    """(rule, dataset wildcard or '') for every job a dry run plans."""
    return sorted(
        {
            (rule, m.group(1) if (m := re.search(r"\bdataset=(\w+)", wildcards)) else "")
            for rule, wildcards in planned_job_wildcards(result)
        }
    )


def planned_blocks(result: subprocess.CompletedProcess) -> dict[tuple[str, str], str]:
    """(rule, its wildcards as printed or '') -> the text a dry run prints for that job."""
    blocks = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", result.stdout + result.stderr):
        if m := re.match(r"(?:local)?rule (\w+):", block):
            wildcards = re.search(r"wildcards: (.*)", block)
            blocks[(m.group(1), wildcards.group(1) if wildcards else "")] = block
    return blocks


RUN_LOG: dict[str, str] = {}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    work = tmp_path_factory.mktemp("tiny")
    # a newcomer's first run: an empty folder, no network needed (seed 004's data ship in data/)
    result = snakemake(work)
    assert result.returncode == 0, result.stderr[-5000:]
    RUN_LOG["console"] = result.stdout + result.stderr
    return work


def test_report_and_artifacts(run_dir):
    report = (run_dir / "results" / "report.html").read_text()
    config = yaml.safe_load(TINY.read_text())
    for name, spec in config["datasets"].items():
        if spec.get("kind") == "large" or spec.get("streaming"):
            assert f'id="scale-{name}"' in report  # streamed: the scale stage's section, no in-memory stage
            continue
        assert f'id="dataset-{name}"' in report
        closed = json.loads((run_dir / "results" / "closed_form" / f"{name}.json").read_text())
        assert closed["dataset"] == name
        if closed["grouped"]:
            continue
        for key in ("n", "features", "intercept", "solvers", "recommended"):
            assert key in closed
        for fit in closed["solvers"].values():
            assert {"coef", "intercept", "train_mse", "seconds"} <= set(fit)
        diag = json.loads((run_dir / "results" / "diagnostics" / f"{name}.json").read_text())
        for key in (
            "rank",
            "n_params",
            "condition_raw",
            "condition_scaled",
            "vif",
            "identifiable",
            "min_norm_solution",
            "null_space",
            "verdict",
        ):
            assert key in diag
    assert "data:image/png;base64," in report  # figures embedded, the file stands alone
    for name, run in config["keras"]["runs"].items():
        doc = json.loads((run_dir / "results" / "keras" / run["dataset"] / f"{name}.json").read_text())
        for key in (
            "coef",
            "intercept",
            "final_train_loss",
            "final_val_loss",
            "epochs_run",
            "diverged",
            "seconds",
            "repeats",
        ):
            assert key in doc
        assert len(doc["repeats"]) == run.get("repeats", 1)
        assert {"nonfinite_epoch", "batch_size_effective", "full_batch"} <= set(doc)
        assert f'<td class="l">{name}</td>' in report  # every run, the user's own (not s00x_) included
    mine = json.loads((run_dir / "results" / "keras" / "collinear" / "my_adam_on_collinear.json").read_text())
    assert mine["full_batch"] and mine["batch_size_effective"] == config["datasets"]["collinear"]["n"]
    assert 'id="keras-collinear"' in report and "1000 (= full batch: 60 rows)" in report
    assert not list(run_dir.rglob("*.tmp"))  # nothing half-written


def test_seed_001_verdict_and_fuel_ols(run_dir):
    diag = json.loads((run_dir / "results" / "diagnostics" / "collinear_toy.json").read_text())
    assert diag["identifiable"] is False and diag["rank"] == 2 and len(diag["null_space"]) == 1
    fuel = json.loads((run_dir / "results" / "closed_form" / "fuel.json").read_text())
    assert fuel["n"] == 1067 and fuel["provenance"]["rows"] == 1067


def test_convergence_studies_put_theory_beside_measurement(run_dir):
    config = yaml.safe_load(TINY.read_text())
    report = (run_dir / "results" / "report.html").read_text()
    for name in config["convergence"]["studies"]:
        summary = json.loads((run_dir / "results" / "convergence" / name / "summary.json").read_text())
        assert summary["theory"]["raw"]["spectrum"]["stability_limit"] > 0
        assert all("time_to_tolerance" in r for r in summary["runs"])
        curves = pd.read_parquet(run_dir / "results" / "convergence" / name / "curves.parquet")
        assert {"keras", "reference"} <= set(curves["family"])
        assert f'id="study-{name}"' in report
    full = [
        r
        for r in json.loads((run_dir / "results" / "convergence" / "seed002" / "summary.json").read_text())[
            "runs"
        ]
        if r["solver"] == "keras_sgd" and r["batch_size"] is None and r["dtype"] == "float64"
    ]
    for run in full:  # float64 full-batch Keras SGD follows the gradient-descent prediction
        for epoch, predicted in run["predicted_loss_at"].items():
            assert run["loss_at"][epoch] == pytest.approx(predicted, rel=1e-6)


def test_diverging_run_is_recorded_and_reproduction_table_written(run_dir):
    doc = json.loads((run_dir / "results" / "keras" / "fuel" / "s004_sgd_raw_lr0p01.json").read_text())
    assert doc["diverged"] is True and doc["diverged_epoch"] == 1
    table = pd.read_csv(run_dir / "results" / "reproduction.csv", dtype={"document": str})
    assert list(table.columns[:6]) == ["document", "quantity", "article", "reglab", "reference", "verdict"]
    adam = table[table["quantity"] == "adam_w1"].iloc[0]
    assert adam["document"] == "001" and not pd.isna(adam["reglab"])


def test_changing_one_dataset_reruns_only_its_jobs(run_dir, tmp_path):
    assert planned_jobs(snakemake(run_dir, "-n")) == []  # up to date
    config = yaml.safe_load(TINY.read_text())
    config["datasets"]["collinear"]["n"] = 61
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(config))
    jobs = planned_jobs(snakemake(run_dir, "-n", configfiles=[changed]))
    # the dataset's own jobs, the Keras run trained on it and what reads them; nothing of other datasets
    assert jobs == sorted(
        [
            ("all", ""),
            ("closed_form", "collinear"),
            ("dataset", "collinear"),
            ("diagnostics", "collinear"),
            ("figures_dataset", "collinear"),
            ("report", ""),
            ("keras_runs_collinear", ""),  # a local run packs a dataset's runs (pack_jobs: auto)
            ("figures_keras", "collinear"),
        ]
    )


def _edited_tiny(tmp_path: Path, edit) -> Path:
    config = yaml.safe_load(TINY.read_text())
    edit(config)
    path = tmp_path / "edited.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _add_batch_size(config):  # seed002: one more minibatch size, above the smallest (the reference SGD's)
    config["convergence"]["studies"]["seed002"]["batch_sizes"] = [None, 4, 8]


def _change_optimizer(config):  # seed004's one group keeps its name, its configurations change
    config["convergence"]["studies"]["seed004"]["optimizers"] = ["momentum"]


def _add_run(config):
    config["keras"]["runs"]["extra_adam"] = {
        "dataset": "fuel",
        "model": "linear",
        "optimizer": "adam",
        "learning_rate": 0.01,
        "epochs": 3,
    }


def _change_run(config):
    config["keras"]["runs"]["s004_sgd_standardized"]["epochs"] = 4


DOWNSTREAM = [("all", ""), ("report", "")]
# A local run packs a study's groups and a dataset's runs into one job each (pack_jobs: auto); the job's
# memo then retrains only the changed unit (test_a_packed_job_retrains_only_the_changed_run). The cluster's
# one job per unit is planned by the SLURM test, which runs it.
RERUN_SCOPES = {
    "new_grid_point": (
        _add_batch_size,
        [
            ("convergence_groups_seed002", ""),
            ("convergence_merge", "study=seed002"),
            ("figures_convergence", "study=seed002"),
            ("reproduction", ""),
        ],
    ),
    "changed_grid_point": (
        _change_optimizer,
        [
            ("convergence_groups_seed004", ""),
            ("convergence_merge", "study=seed004"),
            ("figures_convergence", "study=seed004"),
            ("reproduction", ""),
        ],
    ),
    "new_keras_run": (
        _add_run,
        [
            ("keras_runs_fuel", ""),
            ("figures_keras", "dataset=fuel"),
            # no seed question reads the new run, but the packed job rewrites its dataset's other runs
            # (restored byte for byte) and the reproduction table reads those (a second's work)
            ("reproduction", ""),
        ],
    ),
    "changed_keras_run": (
        _change_run,
        [
            ("keras_runs_fuel", ""),
            ("figures_keras", "dataset=fuel"),
            ("reproduction", ""),
        ],
    ),
}


@pytest.mark.parametrize("case", list(RERUN_SCOPES))
def test_a_changed_grid_point_or_keras_run_reruns_only_its_job_and_the_merge(run_dir, tmp_path, case):
    """The unit of rerun: one convergence group (not the study, not its reference solvers), one Keras run (not
    its dataset's other runs), each with its merge job and what reads the merged table."""
    edit, expected = RERUN_SCOPES[case]
    jobs = planned_job_wildcards(snakemake(run_dir, "-n", configfiles=[_edited_tiny(tmp_path, edit)]))
    assert jobs == sorted(expected + DOWNSTREAM)


def test_a_packed_job_retrains_only_the_changed_run_and_restores_the_others(run_dir, tmp_path_factory):
    """The rerun unit of a packed job: a changed Keras run (and a changed convergence group) is trained
    again; its dataset's other runs come back from the memo byte for byte, and the run that changed is
    the only new number."""
    # a copy at run_dir's depth: the shipped Fuel file's input path (relative to the folder) is the same
    work = tmp_path_factory.mktemp("packed")
    shutil.copytree(run_dir, work, symlinks=True, dirs_exist_ok=True)
    runs = work / "results" / "keras" / "fuel"
    before = {f.name: f.read_bytes() for f in runs.glob("*.json")}
    changed = _edited_tiny(work, lambda c: (_change_run(c), _change_optimizer(c)))
    result = snakemake(work, configfiles=[changed])
    assert result.returncode == 0, result.stderr[-3000:]
    log = (work / "results" / "logs" / "keras" / "fuel" / "runs.log").read_text()
    summary = [line for line in log.splitlines() if " restored" in line or " computed" in line][-1]
    states = dict(part.rsplit(" ", 1) for part in summary.split(", "))
    assert states.pop("s004_sgd_standardized") == "computed" and set(states.values()) == {"restored"}, summary
    after = {f.name: f.read_bytes() for f in runs.glob("*.json")}
    assert {n for n in before if after[n] != before[n]} == {"s004_sgd_standardized.json"}
    assert json.loads(after["s004_sgd_standardized.json"])["epochs_run"] == 4
    groups = (work / "results" / "logs" / "convergence" / "seed004" / "groups.log").read_text()
    assert "lr0.01_full computed" in groups


def test_bad_config_stops_before_any_job(tmp_path):
    config = yaml.safe_load(TINY.read_text())
    config["datasets"]["collinear"]["n"] = "many"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path, configfiles=[bad])
    assert result.returncode != 0
    message = result.stdout + result.stderr
    assert "'many' is not of type 'integer'" in message and "['datasets']['collinear']['n']" in message
    assert not (tmp_path / "results").exists()


def test_numerical_jobs_of_a_small_dataset_hold_one_thread(tmp_path):
    """``threads`` reaches the closed form of a dataset of 10^6 cells; a small one's runs at one thread."""
    data = tmp_path / "results" / "data"
    data.mkdir(parents=True)
    rng = np.random.default_rng(0)
    pd.DataFrame(rng.random((200_000, 5)), columns=list("abcde")).to_parquet(data / "collinear.parquet")
    pd.DataFrame(rng.random((10, 3)), columns=list("abc")).to_parquet(data / "collinear_toy.parquet")
    over = tmp_path / "threads.yaml"
    over.write_text("threads: 2\n")
    result = snakemake(tmp_path, "-n", configfiles=[over])
    assert result.returncode == 0, result.stderr[-3000:]
    threads = {}
    for block in planned_blocks(result).values():
        if m := re.search(r"rule (closed_form|diagnostics):\s+input: results/data/(\w+)\.parquet", block):
            found = re.search(r"threads: (\d+)", block)
            threads[m.groups()] = int(found.group(1)) if found else 1
    assert threads[("closed_form", "collinear")] == threads[("diagnostics", "collinear")] == 2
    assert threads[("closed_form", "collinear_toy")] == threads[("diagnostics", "collinear_toy")] == 1


def test_the_longest_jobs_inputs_and_the_streamed_adam_go_first(tmp_path):
    """The encoders' dataset, the scale stage's scatter jobs and its Adam rank above every encoder (the
    longest jobs, which wait for that dataset); the Adam does not wait for the two-thread solve."""
    result = snakemake(tmp_path, "-n")
    assert result.returncode == 0, result.stderr[-3000:]
    blocks = planned_blocks(result)
    priority = {
        k: int(m.group(1)) if (m := re.search(r"priority: (\d+)", b)) else 0 for k, b in blocks.items()
    }
    encoders = [v for (rule, _), v in priority.items() if rule == "amortized_encoder"]
    first = [
        k
        for k in priority
        if k[0] in ("large_shard", "scale_adam_large") or k == ("dataset", "dataset=amortized")
    ]
    assert encoders and len(first) >= 3, sorted(priority)
    assert min(priority[k] for k in first) > max(encoders), {k: priority[k] for k in first}
    adam_inputs = re.search(r"input: (.*)", blocks[("scale_adam_large", "")]).group(1)
    assert "results/scale/large.json" not in adam_inputs  # not the solve's answer


def test_user_dataset_via_extra_configfile(run_dir, tmp_path):
    csv = run_dir / "mine.csv"
    csv.write_text("x1,x2,y\n1,0,1.5\n2,1,2.5\n3,0,3.9\n4,1,5.2\n5,3,6.1\n")
    extra = tmp_path / "extra.yaml"
    extra.write_text(yaml.safe_dump({"datasets": {"mine": {"path": "mine.csv", "target": "y"}}}))
    result = snakemake(run_dir, "results/closed_form/mine.json", configfiles=[extra])
    assert result.returncode == 0, result.stderr[-3000:]
    closed = json.loads((run_dir / "results" / "closed_form" / "mine.json").read_text())
    assert closed["features"] == ["x1", "x2"] and closed["n"] == 5


def test_bad_user_file_names_file_column_row(run_dir, tmp_path):
    (run_dir / "broken.csv").write_text("x1,y\n1,2\n2,abc\n3,4\n")
    extra = tmp_path / "extra.yaml"
    extra.write_text(yaml.safe_dump({"datasets": {"broken": {"path": "broken.csv", "target": "y"}}}))
    result = snakemake(run_dir, "results/data/broken.parquet", configfiles=[extra])
    assert result.returncode != 0
    log = (run_dir / "results" / "logs" / "dataset" / "broken.log").read_text()
    assert "broken.csv: column 'y', data row 2: non-numeric value 'abc'" in log
    assert not (run_dir / "results" / "data" / "broken.parquet").exists()


def _resolve(doc, pointer):
    for token in pointer.split("/")[1:]:
        key = token.replace("~1", "/").replace("~0", "~")
        doc = doc[int(key)] if isinstance(doc, list) else doc[key]
    return doc


def test_report_opens_with_findings_whose_numbers_name_their_source(run_dir):
    report = (run_dir / "results" / "report.html").read_text()
    first_section = re.search(r'<section id="(\w+)"', report).group(1)
    assert first_section == "findings" and 'id="findings"' in report
    table = report[report.index('id="findings"') : report.index("</table>", report.index('id="findings"'))]
    # header, 000, seed 001 twice, 002, 003, 004, then the study's own: what no question reads
    from reglab import questions

    config = yaml.safe_load(TINY.read_text())
    read = questions.reads(config)
    tabular = {n for n, d in config["datasets"].items() if d.get("kind") not in ("amortized", "large")}
    own = (
        [f"dataset {n} " for n in sorted(tabular - set(read["datasets"]))]
        + [f"Keras run {n} " for n in sorted(set(config["keras"]["runs"]) - set(read["runs"]))]
        + [f"study {n}?" for n in sorted(set(config["convergence"]["studies"]) - set(read["studies"]))]
    )
    assert "Keras run my_adam_on_collinear " in own
    assert table.count("<tr>") == 1 + 6 + len(own), table
    assert all(name in table for name in own), own
    # decisive numbers carry their unit, and no cell shows more digits than the one rule's four
    assert re.search(r">[0-9.e+-]+ %<", table) and re.search(r">[0-9.e+-]+ s<", table)
    cells = re.findall(r"<td[^>]*>([-+0-9.e]+)(?: [^<]*)?</td>", report)
    floats = [c for c in cells if "." in c or "e" in c]  # integers (counts, epochs) are shown whole
    assert floats and all(len(re.sub(r"e.*|[^0-9]", "", c).lstrip("0")) <= 4 for c in floats), floats
    sources = re.findall(r'data-source="([^"]+)" title="[^"]*source: ([^"]+)">([^<]*)<', report)
    assert sources, "no number in the report names its source"
    for src, tooltip, shown in sources:
        assert src == tooltip
        path, pointer = src.split("#")
        value = _resolve(json.loads((run_dir / path).read_text()), pointer)
        assert shown.strip() not in ("", "—")
        assert (
            isinstance(value, (int, float)) or value == shown.strip()
        )  # a name (best encoder) is shown as is
    csv = pd.read_csv(
        run_dir / "results" / "reproduction.csv", dtype={"document": str}, keep_default_na=False
    )
    for _, row in csv[csv["source"] != ""].iterrows():
        path, pointer = row["source"].split("#")
        value = _resolve(json.loads((run_dir / path).read_text()), pointer)
        assert (
            value == row["reglab"] if isinstance(value, str) else value == pytest.approx(float(row["reglab"]))
        )
    assert {"Provenance", "Keras runs", "Convergence studies", "Datasets"} <= set(
        re.findall(r"<h2>([^<]+)</h2>", report)
    )


def test_every_json_artifact_says_what_produced_it(run_dir):
    artifacts = [p for p in (run_dir / "results").rglob("*.json")]
    assert len(artifacts) > 10
    for path in artifacts:
        block = json.loads(path.read_text())["produced_by"]
        assert {"rule", "code_digest", "config_digest", "versions", "cpu", "threads"} <= set(block), path
        assert block["versions"]["numpy"] and block["threads"] >= 1
        assert "commit" in block or not (REPO / ".git").exists()


def test_missing_seed_runs_are_warned_about_when_the_config_is_checked(run_dir):
    console = RUN_LOG["console"]
    # the tiny config has no s001_sgd run: seed 001's answer cannot use it, and the user is told so
    warned = r"seed 001 \(.*\) is asked but this config does not define .*Keras run 's001_sgd'"
    assert re.search(warned, console)
    # one line per question, not one per run
    assert len(re.findall(r"reglab: seed 001 \(", console)) == 1


def test_changing_library_code_reruns_exactly_the_jobs_that_run_it(run_dir, tmp_path):
    src = tmp_path / "src"
    shutil.copytree(REPO / "src", src, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    diagnostics = src / "reglab" / "linalg" / "diagnostics.py"
    diagnostics.write_text(diagnostics.read_text() + "\nCHANGED_FOR_A_TEST = True\n")
    env = {**os.environ, "PYTHONPATH": str(src)}
    jobs = planned_jobs(snakemake(run_dir, "-n", env=env))
    rules = {rule for rule, _ in jobs}
    config = yaml.safe_load(TINY.read_text())
    tabular = {n for n, s in config["datasets"].items() if s.get("kind") not in ("amortized", "large")}
    assert {ds for rule, ds in jobs if rule == "diagnostics"} == tabular
    assert {ds for rule, ds in jobs if rule == "figures_dataset"} == tabular
    assert rules == {"diagnostics", "figures_dataset", "reproduction", "report", "all"}, sorted(rules)
    assert planned_jobs(snakemake(run_dir, "-n")) == []  # the unchanged code plans nothing


def test_an_edit_to_the_api_or_the_command_plans_no_pipeline_job(run_dir, tmp_path):
    """The API and the command are no job's code: reglab/__init__ loads them by name, on first use."""
    src = tmp_path / "src"
    shutil.copytree(REPO / "src", src, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for module in ("api.py", "cli.py"):
        path = src / "reglab" / module
        path.write_text(path.read_text() + "\n# changed for a test\n")
    assert planned_jobs(snakemake(run_dir, "-n", env={**os.environ, "PYTHONPATH": str(src)})) == []


def test_a_keras_edit_reruns_no_exact_least_squares_job(run_dir, tmp_path):
    """An edit to the streamed Adam trainer plans the Adam comparison and what reads it, never the exact
    solves of the same files (their import closures do not reach TensorFlow code)."""
    src = tmp_path / "src"
    shutil.copytree(REPO / "src", src, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    streamed = src / "reglab" / "training" / "streamed.py"
    streamed.write_text(streamed.read_text() + "\n# changed for a test\n")
    rules = {
        rule for rule, _ in planned_jobs(snakemake(run_dir, "-n", env={**os.environ, "PYTHONPATH": str(src)}))
    }
    assert any(r.startswith("scale_adam_") for r in rules), sorted(rules)
    exact = (
        "scale_shard",
        "scale_merge_",
        "scale_refine",
        "scale_solve_",
        "amortized_references",
        "amortized_evaluation",
        "closed_form",
        "diagnostics",
    )
    assert not [r for r in rules if r.startswith(exact)], sorted(rules)
    assert rules <= {r for r in rules if r.startswith("scale_adam_")} | {"reproduction", "report", "all"}, (
        sorted(rules)
    )


def test_a_changed_solve_rescores_the_streamed_adam_without_retraining_it(run_dir):
    """The streamed Adam waits for the files only (so it can start before the solve): a rerun solve reruns
    its scoring, never its training."""
    rules = {rule for rule, _ in planned_jobs(snakemake(run_dir, "-n", "--forcerun", "scale_solve_large"))}
    assert {"scale_solve_large", "scale_adam_score", "report"} <= rules, sorted(rules)
    assert not [r for r in rules if r.startswith("scale_adam_large")], sorted(rules)


def test_a_copied_project_folder_reruns_nothing(tmp_path):
    """The project run in its own folder (the workflow's folder is the working directory, as README's
    command runs it), then copied elsewhere with its results/ and .snakemake/: nothing to be done."""
    tracked = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True, text=True, check=True
    ).stdout.split("\0")
    first = tmp_path / "first"
    for rel in filter(None, tracked):
        if (REPO / rel).is_file():
            (first / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, first / rel)
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", "--config", "study=tiny"]
    run = subprocess.run(cmd, cwd=first, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-5000:]
    moved = tmp_path / "elsewhere" / "moved"
    shutil.copytree(first, moved, symlinks=True)  # copy2: modification times kept, as cp -a or rsync -a
    dry = subprocess.run([*cmd, "-n"], cwd=moved, capture_output=True, text=True, timeout=300)
    assert dry.returncode == 0, dry.stderr[-3000:]
    assert planned_jobs(dry) == [], dry.stdout[-3000:]
    assert "Nothing to be done" in dry.stdout + dry.stderr


def test_paper_config_plans_the_seed_size_encoders(tmp_path):
    (tmp_path / "resources").mkdir()
    result = snakemake(tmp_path, "-n", study="paper")
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = set(planned_job_wildcards(result))
    names = ("lstm_seed", "lstm_budget", "moments")
    assert {("amortized_encoder", f"encoder={name}") for name in names} <= jobs
    paper = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
    assert paper["amortized"]["encoders"]["lstm_seed"]["width"] == 512


def test_amortized_stage_reports_floor_and_encoders(run_dir):
    config = yaml.safe_load(TINY.read_text())
    summary = json.loads((run_dir / "results" / "amortized" / "summary.json").read_text())
    assert set(summary["encoders"]) == set(config["amortized"]["encoders"])
    evaluation = pd.read_parquet(run_dir / "results" / "amortized" / "evaluation.parquet")
    seed = evaluation[evaluation["condition"] == "seed"].set_index("name")
    # the floor is a floor: nothing reads lower on the rows it was given
    assert (seed["loss"] >= seed.loc["ols", "loss"] - 1e-9).all()
    assert summary["ols_floor_loss"] == pytest.approx(seed.loc["ols", "loss"])
    for name in config["amortized"]["encoders"]:
        doc = json.loads((run_dir / "results" / "amortized" / f"{name}.json").read_text())
        assert doc["floor_loss"] == pytest.approx(summary["ols_floor_loss"])
        if doc["kind"] != "lstm":
            assert doc["permutation"]["max"] <= 1e-5
    table = pd.read_csv(run_dir / "results" / "reproduction.csv", dtype={"document": str})
    rows = table[table["document"] == "000"].set_index("quantity")
    assert rows.loc["best_encoder_name", "reglab"] == summary["best_encoder"]
    report = (run_dir / "results" / "report.html").read_text()
    assert 'id="amortized"' in report and "results/figures" not in report  # figures are embedded


def test_scale_stage_solves_the_large_design_from_its_shards(run_dir):
    config = yaml.safe_load(TINY.read_text())
    spec = config["datasets"]["large"]
    doc = json.loads((run_dir / "results" / "scale" / "large.json").read_text())
    assert doc["n"] == spec["n"] and doc["d"] == spec["d"] and doc["shards"] == spec["shards"]
    assert doc["merged_vs_single_rel_diff"] == 0.0  # shard jobs merged in order = one streaming pass
    assert len(list((run_dir / "results" / "large" / "large").glob("part-*.parquet"))) == spec["shards"]
    # the streamed answer is least squares: compare with numpy on the same rows
    frame = pd.concat(
        [pd.read_parquet(p) for p in sorted((run_dir / "results" / "large" / "large").glob("*.parquet"))]
    )
    X = frame[doc["features"]].to_numpy()
    Xc = np.column_stack([X - X.mean(axis=0), np.ones(len(X))])
    ref, *_ = np.linalg.lstsq(Xc, frame["y"].to_numpy(), rcond=None)
    np.testing.assert_allclose(coef_vector(doc, doc["features"])[:-1], ref[:-1], rtol=1e-7)
    adam = json.loads((run_dir / "results" / "scale" / "large_adam.json").read_text())
    assert set(adam["runs"]) == {r["name"] for r in config["scale"]["adam"]}
    table = pd.read_csv(run_dir / "results" / "reproduction.csv", dtype={"document": str}).set_index(
        "quantity"
    )
    assert float(table.loc["ols_1e6x100_seconds", "reglab"]) == pytest.approx(doc["seconds"])
    roof = doc["roofline"]  # the solve's rate beside one in-memory X.T @ X on the same threads
    assert roof["gram"]["d"] == doc["d"] and roof["gram"]["threads"] == doc["threads"]
    assert roof["solve_pass1_flops_per_s"] == pytest.approx(doc["n"] * doc["d"] ** 2 / doc["seconds_pass1"])
    assert 0 < roof["fraction_of_gram"] and roof["floor_seconds"] > 0
    assert 'id="scale-large"' in (run_dir / "results" / "report.html").read_text()
    assert not (run_dir / "results" / "closed_form" / "large.json").exists()  # no in-memory stage reads it
    assert not doc["second_scatter"] and not list((run_dir / "results" / "scale" / "large").glob("refine-*"))


def test_an_ill_conditioned_streamed_design_gets_the_second_scatter(run_dir):
    spec = yaml.safe_load(TINY.read_text())["datasets"]["large_ill"]
    merged = json.loads((run_dir / "results" / "scale" / "large_ill" / "merged.json").read_text())
    assert merged["needs_second_pass"]
    refines = sorted((run_dir / "results" / "scale" / "large_ill").glob("refine-*.json"))
    assert len(refines) == spec["shards"]  # one refinement job per shard, only because the merge asked
    doc = json.loads((run_dir / "results" / "scale" / "large_ill.json").read_text())
    assert doc["second_scatter"] and doc["passes"] == 2 and doc["merged_vs_single_rel_diff"] <= 1e-12
    frame = pd.concat(
        [pd.read_parquet(p) for p in sorted((run_dir / "results" / "large" / "large_ill").glob("*.parquet"))]
    )
    X = frame[doc["features"]].to_numpy()
    ref, *_ = np.linalg.lstsq(
        np.column_stack([X - X.mean(axis=0), np.ones(len(X))]), frame["y"].to_numpy(), rcond=None
    )
    np.testing.assert_allclose(coef_vector(doc, doc["features"])[:-1], ref[:-1], rtol=1e-5)  # cond 1e7


@pytest.mark.slurm  # conftest.py skips it (before run_dir is built) where SLURM is absent; CI=true fails it
def test_the_tiny_study_under_slurm_gives_the_local_numbers(run_dir, tmp_path):
    work = tmp_path / "slurm"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGLAB_SLURM_")}  # the cluster's defaults
    result = snakemake(
        work,
        "--workflow-profile",
        str(REPO / "profiles" / "slurm"),
        "--slurm-init-seconds-before-status-checks",
        "3",
        env=env,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    log = result.stdout + result.stderr
    singles = re.findall(r"Job \d+ has been submitted with SLURM jobid (\d+)", log)
    arrays = re.findall(r"Submitted array job with Snakemake IDs ([\d,]+) and SLURM job ID (\d+)", log)
    jobs = len(singles) + sum(len(ids.split(",")) for ids, _ in arrays)
    assert jobs >= 20, log[-3000:]  # the stage jobs went to the scheduler ...
    assert arrays and len(singles) + len(arrays) < jobs, log[-3000:]  # ... fan-outs as arrays ...
    submitted = singles + [parent for _, parent in arrays]
    states = subprocess.run(
        ["sacct", "-n", "-X", "-P", "-o", "State", "-j", ",".join(submitted)],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.split()
    assert len(states) >= jobs and set(states) == {"COMPLETED"}, states  # ... accounting saw each finish
    local = pd.read_csv(run_dir / "results" / "reproduction.csv", dtype={"document": str})
    remote = pd.read_csv(work / "results" / "reproduction.csv", dtype={"document": str})
    timing = local["quantity"].str.contains("seconds|peak_mb")  # wall time and memory differ; numbers may not
    cols = ["document", "quantity", "article", "reglab", "reference"]  # verdicts quote wall times
    pd.testing.assert_frame_equal(
        local.loc[~timing, cols].reset_index(drop=True), remote.loc[~timing, cols].reset_index(drop=True)
    )
    for doc, coef in (
        ("closed_form/collinear.json", lambda d: d["solvers"]["refined"]["coef"]),
        ("scale/large.json", lambda d: d["coef"]),
    ):
        a, b = (json.loads((d / "results" / doc).read_text()) for d in (run_dir, work))
        assert coef(a) == coef(b), doc
    assert (work / "results" / "report.html").exists()


def test_snakemakes_own_report_builds_with_categories_and_labels(run_dir):
    import zipfile

    result = snakemake(run_dir, "--report", "results/snakemake-report.zip")
    assert result.returncode == 0, result.stderr[-3000:]
    with zipfile.ZipFile(run_dir / "results" / "snakemake-report.zip") as z:
        names = z.namelist()
        html = z.read("snakemake-report/report.html").decode("utf-8")
    pngs = sorted(p.name for p in (run_dir / "results" / "figures").rglob("*.png"))
    assert sorted(Path(n).name for n in names if n.endswith(".png")) == pngs  # every figure, none left out
    assert any(n.endswith("/report.html") and "/data/raw/" in n for n in names)  # reglab's own report inside
    for text in (
        "Closed form",
        "Diagnostics",
        "Seed 000: amortized regression",
        "reglab report",
        "row-order invariance",
        "reglab answers, with measured numbers",
    ):
        assert text in html, text


def test_the_same_command_finishes_the_run_after_kill_9(tmp_path):
    """kill -9 of a running snakemake leaves Snakemake's locks and an incomplete job; the plain command
    resumes (no --unlock, no --rerun-incomplete typed by the user)."""
    target = "results/diagnostics/collinear.json"
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(tmp_path),
        "--cores",
        "1",
        target,
        "--config",
        "study=tiny",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    locks = tmp_path / ".snakemake" / "locks"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (
        locks.is_dir() and any(locks.iterdir()) and (tmp_path / "results" / "logs").is_dir()
    ):
        if proc.poll() is not None:
            break
        time.sleep(0.05)  # polling for the event (the run's locks and first job), bounded by the deadline
    assert proc.poll() is None, "the run ended before it could be killed"
    os.killpg(proc.pid, 9)
    proc.wait(timeout=60)
    assert any(locks.iterdir())  # what a crash leaves
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert (tmp_path / target).exists() and not list((tmp_path / "results").rglob(".*.tmp"))


CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (Debian's chromium and chromium-driver) in a 1280 x 800 window; never downloads."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip(
            f"{CHROMIUM} or {CHROMEDRIVER} missing (Debian: apt-get install chromium chromium-driver)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,800"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=opts)
    driver.set_window_size(1280, 800)
    yield driver
    driver.quit()


def _check_page(driver, page: Path) -> None:
    driver.get(page.as_uri())
    broken = driver.execute_script(
        "return [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt || "
        "i.src.slice(0, 60));"
    )
    assert broken == [], broken  # every image decodes
    dangling = driver.execute_script(
        "return [...document.querySelectorAll('a[href^=\"#\"]')].map(a => "
        "decodeURIComponent(a.getAttribute('href').slice(1))).filter(id => id && "
        "!document.getElementById(id));"
    )
    assert dangling == [], dangling  # every in-page link has its target
    wide = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth];")
    assert wide[0] <= wide[1], f"horizontal scrollbar: page {wide[0]} px wide in a {wide[1]} px window"
    top = driver.execute_script("return document.getElementById('findings').getBoundingClientRect().top;")
    assert top < 800, f"the findings table starts {top} px down, below the first 1280 x 800 screen"
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], errors  # no console errors


def test_the_report_in_a_real_browser(run_dir, browser):
    _check_page(browser, run_dir / "results" / "report.html")


@pytest.fixture(scope="module")
def example_dir(tmp_path_factory):
    """The starter study, as README's three steps run it (its file is data/FuelConsumption.csv)."""
    work = tmp_path_factory.mktemp("example")
    (work / "data").mkdir()
    shutil.copy2(REPO / "data" / "FuelConsumption.csv", work / "data")
    dry = snakemake(work, "-n", study="example")
    assert dry.returncode == 0, dry.stderr[-3000:]
    RUN_LOG["example_dry"] = dry.stdout + dry.stderr
    started = time.perf_counter()
    result = snakemake(work, study="example")
    assert result.returncode == 0, result.stderr[-5000:]
    RUN_LOG["example_seconds"] = f"{time.perf_counter() - started:.1f}"
    return work


def test_the_example_study_plans_only_its_own_jobs_and_warns_of_no_seed(example_dir):
    dry = RUN_LOG["example_dry"]
    rules = {rule for rule, _ in planned_jobs(subprocess.CompletedProcess([], 0, dry, ""))}
    own = {
        "dataset",
        "closed_form",
        "diagnostics",
        "figures_dataset",
        "keras_runs_cars",
        "figures_keras",
        "convergence_groups_cars_optimizers",
        "convergence_references",
        "convergence_merge",
        "figures_convergence",
        "reproduction",
        "report",
        "all",
    }
    assert rules == own, sorted(rules)
    assert "reglab: seed" not in dry  # it asks no seed question
    html = (example_dir / "results" / "report.html").read_text()
    findings = html[html.index('<table id="findings">') : html.index("</table>", html.index('id="findings"'))]
    for name in ("dataset cars", "Keras run cars_adam", "study cars_optimizers"):
        assert name in findings, name
    assert findings.count("data-source=") >= 2
    assert 'id="seed-001"' not in html  # no seed question, no seed section


def test_the_example_studys_report_in_a_real_browser(example_dir, browser):
    _check_page(browser, example_dir / "results" / "report.html")


def test_long_and_cjk_names_keep_the_report_and_its_figures_in_shape(run_dir, browser, tmp_path):
    from PIL import Image

    long = "a_feature_with_a_very_long_name_" + "x" * 268
    frame = pd.DataFrame(
        {long: np.arange(12.0), "燃費_km_L": np.arange(12.0) ** 1.5, "y": np.arange(12.0) * 2 + 1}
    )
    frame.to_csv(run_dir / "names.csv", index=False)
    extra = tmp_path / "extra.yaml"
    extra.write_text(
        yaml.safe_dump({"datasets": {"names": {"path": "names.csv", "target": "y"}}}, allow_unicode=True)
    )
    result = snakemake(run_dir, "results/report.html", configfiles=[extra])
    assert result.returncode == 0, result.stderr[-3000:]
    for png in (run_dir / "results" / "figures" / "names").glob("*.png"):
        width, height = Image.open(png).size
        assert width < 2500 and height < 2500, (png.name, width, height)
    _check_page(browser, run_dir / "results" / "report.html")
