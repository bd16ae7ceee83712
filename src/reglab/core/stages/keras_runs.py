"""The Keras stage (one job per run): results/keras/<dataset>/<run>.json."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reglab.core.config import ConfigError, single_design
from reglab.core.stages import Stage

#: The arguments each Keras optimizer takes besides ``learning_rate`` (keras 3; a test compares them with
#: the optimizers' signatures), so a misspelt or foreign option fails when the config is checked, not
#: in a job after its upstream jobs ran.
_OPTIMIZER_COMMON = (
    "weight_decay",
    "clipnorm",
    "clipvalue",
    "global_clipnorm",
    "use_ema",
    "ema_momentum",
    "ema_overwrite_frequency",
    "loss_scale_factor",
    "gradient_accumulation_steps",
    "name",
)
OPTIMIZER_OPTIONS: dict[str, tuple[str, ...]] = {
    "sgd": ("momentum", "nesterov", *_OPTIMIZER_COMMON),
    "adam": ("beta_1", "beta_2", "epsilon", "amsgrad", *_OPTIMIZER_COMMON),
    "rmsprop": ("rho", "momentum", "epsilon", "centered", *_OPTIMIZER_COMMON),
    "adagrad": ("initial_accumulator_value", "epsilon", *_OPTIMIZER_COMMON),
}


def _check_optimizer_options(where: str, optimizer: str, options: Mapping[str, Any]) -> None:
    allowed = OPTIMIZER_OPTIONS.get(optimizer, ())
    if "learning_rate" in options:
        raise ConfigError(
            f"config error at {where}.optimizer_options.learning_rate: give the learning rate "
            f"as {where}.learning_rate"
        )
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ConfigError(
            f"config error at {where}.optimizer_options: {unknown} not accepted by Keras' "
            f"{optimizer} optimizer; it takes {list(allowed)}"
        )


def check(config: Mapping[str, Any]) -> None:
    """Each run trains on one in-memory design with options its optimizer takes and a target its model
    can fit."""
    datasets = config["datasets"]
    for name, run in (config.get("keras") or {}).get("runs", {}).items():
        where = f"keras.runs.{name}"
        kind = single_design(where, run["dataset"], datasets)
        _check_optimizer_options(where, run.get("optimizer", "adam"), run.get("optimizer_options") or {})
        if run.get("standardize") and not run.get("use_bias", True):
            raise ConfigError(
                f"config error at {where}.standardize: standardizing centres the features, "
                "which needs use_bias: true"
            )
        classifier = run["model"] in ("logistic", "mlp_classification")
        target = run.get("target")
        if kind == "balloons" and target not in (None, "num_balloons", "color"):
            raise ConfigError(f"config error at {where}.target: '{target}'; expected num_balloons or color")
        if classifier and kind == "balloons" and target != "color":
            raise ConfigError(
                f"config error at {where}.target: model '{run['model']}' needs a binary target; "
                "expected target: color"
            )


def _path(key: str, doc: Mapping[str, Any]) -> str:
    return f"results/keras/{doc.get('dataset', '?')}/{key}.json"


STAGE = Stage("keras", check=check, order=40, path=_path)
