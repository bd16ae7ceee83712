"""Cross-key config checks name the key: runs and studies train on single in-memory designs only."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from reglab.core import config

TINY = yaml.safe_load((Path(__file__).resolve().parents[1] / "config" / "tiny.yaml").read_text())


def test_the_shipped_configs_pass():
    config.check(TINY)


@pytest.mark.parametrize("section, name", [("convergence", "seed002"), ("keras", "s001_adam")])
@pytest.mark.parametrize("dataset, message", [("nope", "'nope' is not a dataset"),
                                              ("amortized", "is of kind 'amortized'"),
                                              ("large", "is of kind 'large'")])
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
