"""Cross-key checks the JSON schema cannot express; run by the Snakefile before any job."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Dataset kinds a Keras run can train on (the amortized dataset of datasets is not one design).
KERAS_KINDS = {"collinear_toy", "collinear", "underdetermined", "balloons", "fuel", "file"}


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


class ConfigError(ValueError):
    """A config value is unusable; the message names the key and what was expected."""


def _single_design(where: str, ds: str, datasets: Mapping[str, Any]) -> str:
    """The kind of dataset ``ds``, which a Keras run or a study at ``where`` trains on in memory."""
    if ds not in datasets:
        raise ConfigError(
            f"config error at {where}.dataset: '{ds}' is not a dataset; expected one of {sorted(datasets)}"
        )
    if datasets[ds].get("streaming"):
        raise ConfigError(
            f"config error at {where}.dataset: '{ds}' streams from disk (streaming: true), "
            "which only the scale stage reads"
        )
    kind = datasets[ds].get("kind", "file")
    if kind not in KERAS_KINDS:
        raise ConfigError(
            f"config error at {where}.dataset: dataset '{ds}' is of kind '{kind}', "
            f"which is not a single design; expected a dataset of kind {sorted(KERAS_KINDS)}"
        )
    return kind


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
    """Raise :class:`ConfigError` naming the first bad key."""
    datasets = config["datasets"]
    for name, study in (config.get("convergence") or {}).get("studies", {}).items():
        _single_design(f"convergence.studies.{name}", study["dataset"], datasets)
        if True in study.get("standardize", [False]) and not study.get("use_bias", True):
            raise ConfigError(
                f"config error at convergence.studies.{name}.standardize: standardizing centres the "
                "features, which needs use_bias: true"
            )
    _check_amortized(config)
    for name, spec in datasets.items():
        if spec.get("streaming") and spec.get("kind", "file") != "file":
            raise ConfigError(
                f"config error at datasets.{name}.streaming: only user files (kind file) stream"
            )
    for name, run in (config.get("keras") or {}).get("runs", {}).items():
        where = f"keras.runs.{name}"
        kind = _single_design(where, run["dataset"], datasets)
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


def _check_amortized(config: Mapping[str, Any]) -> None:
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
