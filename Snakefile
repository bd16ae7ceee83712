# reglab: data synthesis -> closed-form baselines + diagnostics -> Keras training -> convergence studies
# -> reproduction table -> one HTML report. Run `snakemake --cores 8`; see README.md and
# docs/architecture.md (where a new stage goes).
from pathlib import Path

from snakemake.logging import logger
from snakemake.utils import min_version, validate

from reglab import questions  # noqa: F401  (used by the rule files)
from reglab.core import config as reglab_config

min_version("9.0")


configfile: "config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")
reglab_config.check(config)
for _warning in questions.missing_inputs(config):
    logger.warning(f"reglab: {_warning}")


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/closed_form.smk"
include: "workflow/rules/diagnostics.smk"
include: "workflow/rules/keras.smk"
include: "workflow/rules/convergence.smk"
include: "workflow/rules/amortized.smk"
include: "workflow/rules/scale.smk"
include: "workflow/rules/reproduction.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        "results/report.html",
