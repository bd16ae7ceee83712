"""Cross-key config checks name the key: runs and studies train on single in-memory designs only."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from reglab.core import config, stages
from reglab.core.stages import keras_runs

TINY = yaml.safe_load((Path(__file__).resolve().parents[1] / "config" / "tiny.yaml").read_text())


def test_the_shipped_configs_pass():
    config.check(TINY)


@pytest.mark.parametrize("section, name", [("convergence", "seed002"), ("keras", "s001_adam")])
@pytest.mark.parametrize(
    "dataset, message",
    [
        ("nope", "'nope' is not a dataset"),
        ("amortized", "is of kind 'amortized'"),
        ("large", "is of kind 'large'"),
    ],
)
def test_runs_and_studies_need_a_single_in_memory_design(section, name, dataset, message):
    cfg = yaml.safe_load(yaml.safe_dump(TINY))
    entries = cfg[section]["studies" if section == "convergence" else "runs"]
    entries[name]["dataset"] = dataset
    where = f"{section}.{'studies' if section == 'convergence' else 'runs'}.{name}.dataset"
    with pytest.raises(config.ConfigError, match=f"config error at {where}: .*{message}"):
        config.check(cfg)


def test_a_streamed_user_file_is_refused_for_in_memory_training():
    cfg = yaml.safe_load(yaml.safe_dump(TINY))
    cfg["datasets"]["big"] = {"path": "big.parquet", "target": "y", "streaming": True}
    cfg["keras"]["runs"]["s001_adam"]["dataset"] = "big"
    with pytest.raises(config.ConfigError, match="streams from disk"):
        config.check(cfg)


def test_optimizer_options_a_keras_optimizer_does_not_take_fail_with_the_config():
    import copy

    cfg = copy.deepcopy(TINY)
    run = next(iter(cfg["keras"]["runs"]))
    cfg["keras"]["runs"][run].update(optimizer="adam", optimizer_options={"momentum": 0.9})
    with pytest.raises(
        config.ConfigError, match=rf"keras\.runs\.{run}\.optimizer_options: \['momentum'\] not accepted"
    ):
        config.check(cfg)


@pytest.mark.keras
def test_the_optimizer_option_table_is_keras_own():
    import inspect

    import keras

    classes = {
        "sgd": keras.optimizers.SGD,
        "adam": keras.optimizers.Adam,
        "rmsprop": keras.optimizers.RMSprop,
        "adagrad": keras.optimizers.Adagrad,
    }
    for name, cls in classes.items():
        params = set(inspect.signature(cls).parameters) - {"learning_rate", "kwargs"}
        assert set(keras_runs.OPTIMIZER_OPTIONS[name]) == params, name


@pytest.mark.keras
def test_every_activation_the_schema_allows_is_a_keras_activation():
    import keras

    schema = yaml.safe_load(
        (Path(__file__).resolve().parents[1] / "workflow" / "schemas" / "config.schema.json").read_text()
    )
    enums = [
        d["activation"]["enum"]
        for d in _walk(schema)
        if isinstance(d, dict) and isinstance(d.get("activation"), dict) and "enum" in d["activation"]
    ]
    assert len(enums) == 2
    for name in enums[0] + enums[1]:
        assert callable(keras.activations.get(name)), name


def _walk(node):
    yield node
    if isinstance(node, dict):
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"model": "mlp_regression", "hidden": []}, "should be non-empty"),
        ({"model": "mlp_regression", "activation": "relux"}, "'relux' is not one of"),
    ],
)
def test_an_empty_mlp_or_an_unknown_activation_fails_the_schema_before_any_job(change, message):
    import copy

    import jsonschema

    schema = yaml.safe_load(
        (Path(__file__).resolve().parents[1] / "workflow" / "schemas" / "config.schema.json").read_text()
    )
    cfg = copy.deepcopy(TINY)
    run = next(iter(cfg["keras"]["runs"]))
    cfg["keras"]["runs"][run].update(change)
    with pytest.raises(jsonschema.ValidationError, match=message):
        jsonschema.validate(cfg, schema)


def test_every_stage_registers_itself_and_the_report_indexes_its_artifacts(tmp_path):
    """A stage is one module in reglab.core.stages: its check runs in config.check, its artifact kind is
    what the report's index knows (no list elsewhere names it)."""
    from reglab.questions.base import Artifacts

    names = [s.name for s in stages.stages()]
    assert {"keras", "convergence", "amortized", "closed_form", "diagnostics", "scale", "datasets"} <= set(
        names
    )
    assert set(Artifacts().docs) == set(stages.artifact_kinds())
    assert "datasets" not in stages.artifact_kinds()  # registered for its check, indexes nothing
    # a registered kind is indexed from its path: stem vs parent folder
    for kind, key in stages.artifact_kinds().items():
        where = tmp_path / "results" / kind / ("k" if key == "parent" else "")
        where.mkdir(parents=True, exist_ok=True)
        (where / ("summary.json" if key == "parent" else "k.json")).write_text('{"a": 1}')
    art = Artifacts.from_paths(str(p) for p in (tmp_path / "results").rglob("*.json"))
    assert all(art.docs[kind] == {"k": {"a": 1}} for kind in stages.artifact_kinds())
    assert stages.artifact_path("keras", "r", {"dataset": "d"}) == "results/keras/d/r.json"
    assert stages.artifact_path("convergence", "s", {}) == "results/convergence/s/summary.json"
