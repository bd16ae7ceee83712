"""The convergence stage (SGD/Adam studies over a grid): results/convergence/<study>/summary.json."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reglab.core.config import ConfigError, single_design
from reglab.core.stages import Stage


def check(config: Mapping[str, Any]) -> None:
    """Each study trains on one in-memory design; standardizing needs the bias that absorbs the centring."""
    for name, study in (config.get("convergence") or {}).get("studies", {}).items():
        single_design(f"convergence.studies.{name}", study["dataset"], config["datasets"])
        if True in study.get("standardize", [False]) and not study.get("use_bias", True):
            raise ConfigError(
                f"config error at convergence.studies.{name}.standardize: standardizing centres the "
                "features, which needs use_bias: true"
            )


STAGE = Stage("convergence", key="parent", check=check, order=10)
