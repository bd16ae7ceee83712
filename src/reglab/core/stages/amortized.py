"""The amortized stage (seed 000's encoders and floors): results/amortized/<name>.json."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reglab.core.config import ConfigError
from reglab.core.stages import Stage


def check(config: Mapping[str, Any]) -> None:
    """The encoders read a dataset of kind amortized; options fit their encoder kind and data mode."""
    section = config.get("amortized") or {}
    encoders = section.get("encoders") or {}
    if not encoders:
        return
    ds = section.get("dataset", "amortized")
    datasets = config["datasets"]
    if ds not in datasets or datasets[ds].get("kind") != "amortized":
        raise ConfigError(
            f"config error at amortized.dataset: '{ds}' is not a dataset of kind amortized; "
            f"expected one of {sorted(n for n, s in datasets.items() if s.get('kind') == 'amortized')}"
        )
    for name, enc in encoders.items():
        where = f"amortized.encoders.{name}"
        if enc.get("linear_in_y") and enc["kind"] in ("lstm", "unrolled"):
            raise ConfigError(
                f"config error at {where}.linear_in_y: applies to moments, deepsets and "
                f"set_transformer, not {enc['kind']}"
            )
        n = enc.get("train_n", 100)
        if isinstance(n, list) and n[0] > n[1]:
            raise ConfigError(f"config error at {where}.train_n: {n}; expected [low, high] with low <= high")
        if enc.get("data", "fixed") == "fixed" and isinstance(n, list):
            raise ConfigError(
                f"config error at {where}.train_n: a range needs data: fresh (the fixed datasets "
                "have the dataset's own n)"
            )


STAGE = Stage("amortized", check=check, order=20)
