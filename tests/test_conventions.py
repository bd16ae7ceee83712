"""House rules, checked: import layers, Snakemake lint and format, no lambdas in rules, and the lists the
config schema and the library both hold agree."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SCHEMA = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.json").read_text())
RULE_FILES = sorted((REPO / "workflow" / "rules").glob("*.smk"))


def _run(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)


def test_import_layers_hold():
    result = _run(str(BIN / "lint-imports"))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_snakemake_lint_is_clean():
    result = _run(sys.executable, "-m", "snakemake", "--lint", "--config", "study=tiny")
    out = result.stdout + result.stderr
    titles = [line.strip()[2:].rstrip(":") for line in out.splitlines() if line.startswith("    * ")]
    assert titles == [] and "your workflow is in a good condition" in out, sorted(set(titles))


def test_ruff_lint_and_import_order_are_clean():
    """ruff (pycodestyle, pyflakes, import order) over the library, scripts, tests and benchmarks, with the
    configuration in pyproject.toml (one line length: 110, as snakefmt's)."""
    for command in (("check",), ("format", "--check")):
        result = _run(str(BIN / "ruff"), *command, "src", "scripts", "tests", "bench")
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_snakefmt_check_passes():
    result = _run(str(BIN / "snakefmt"), "--check", "Snakefile", "workflow/rules")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.mark.parametrize("path", RULE_FILES, ids=[p.name for p in RULE_FILES])
def test_rule_files_hold_no_lambdas_and_no_function_definitions(path):
    text = path.read_text()
    assert "lambda" not in text
    if path.name != "common.smk":
        assert not re.search(r"^\s*def ", text, re.M), f"{path.name}: put input functions in common.smk"


def _enum(*path: str) -> set:
    node = SCHEMA
    for p in path:
        node = node[p]
    return set(node["enum"] if "enum" in node else node["items"]["enum"])


def test_schema_and_library_lists_agree():
    from reglab.core.config import KERAS_KINDS
    from reglab.data.datasets import GENERATORS
    from reglab.studies.convergence import OPTIMIZERS as STUDY_OPTIMIZERS
    from reglab.studies.convergence import REFERENCE_SOLVERS, TOLERANCE_METRICS
    from reglab.training.keras_train import INITIALIZERS, MODELS, OPTIMIZERS

    defs = SCHEMA["$defs"]
    run, study = defs["keras_run"]["properties"], defs["study"]["properties"]
    assert set(run["model"]["enum"]) == set(MODELS)
    assert set(run["optimizer"]["enum"]) == set(OPTIMIZERS)
    assert set(run["initializer"]["enum"]) == set(INITIALIZERS) == set(study["initializer"]["enum"])
    assert set(study["optimizers"]["items"]["enum"]) == set(STUDY_OPTIMIZERS)
    assert set(study["reference_solvers"]["items"]["enum"]) == set(REFERENCE_SOLVERS)
    assert set(study["tolerance"]["properties"]["metric"]["enum"]) == set(TOLERANCE_METRICS)
    from reglab.data.amortized import X_DISTRIBUTIONS
    from reglab.studies.amortized import FACTORS
    from reglab.training.amortized import DATA_MODES, ENCODER_KINDS, LOSSES, POOLINGS

    enc = defs["encoder"]["properties"]
    assert set(enc["kind"]["enum"]) == set(ENCODER_KINDS)
    assert set(enc["data"]["enum"]) == set(DATA_MODES)
    assert set(enc["loss"]["enum"]) == set(LOSSES)
    assert set(enc["pooling"]["enum"]) == set(POOLINGS)
    factors = SCHEMA["properties"]["amortized"]["properties"]["evaluation"]["properties"]["factors"][
        "properties"
    ]
    assert set(factors) == set(FACTORS) and set(factors["x_dist"]["items"]["enum"]) == set(X_DISTRIBUTIONS)
    kinds = set(defs["dataset"]["properties"]["kind"]["enum"])
    assert kinds == set(GENERATORS) | {"file", "large"}  # large: written shard by shard (reglab.data.large)
    assert KERAS_KINDS <= kinds
