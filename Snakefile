# reglab: data synthesis -> closed-form baselines + diagnostics -> Keras training -> convergence studies
# -> reproduction table -> one HTML report. Run `snakemake --cores 8`; see README.md and
# docs/architecture.md (where a new stage goes).
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger
from snakemake.utils import min_version, validate

from reglab import questions  # noqa: F401  (used by the rule files)
from reglab.core import config as reglab_config
from reglab.core import configfiles, runlock

min_version("9.0")


report: "report/workflow.rst"


# The config: config.yaml, or the study named by `--config study=<name>` (config/<name>.yaml), then the
# command line's --configfile files and --config on top. Composed here rather than with `configfile:`
# so that a study reaches cluster jobs intact (Snakemake passes --config to them) and every file
# reglab reads is parsed strictly (duplicate keys, file and line in every message).
try:
    _composed = configfiles.compose(
        base=Path(workflow.basedir) / "config.yaml",
        studies_dir=Path(workflow.basedir) / "config",
        study=config.get("study"),
        overrides=workflow.config_settings.overwrite_config,
        override_files=workflow.overwrite_configfiles or [],
        replace=bool(workflow.config_settings.replace_workflow_config),
    )
except configfiles.ConfigFileError as _exc:
    raise WorkflowError(f"reglab: {_exc}") from None
config.clear()
config.update(_composed)

# One live run per folder; after a crash (even kill -9) the same command resumes: a run that gets
# reglab's OS lock knows no run is alive here and removes the dead run's Snakemake locks and *.tmp files.
if workflow.is_main_process and not workflow.dryrun:
    try:
        runlock.hold(Path(".snakemake") / "reglab.lock")
    except runlock.RunLockError as _exc:
        raise WorkflowError(f"reglab: {_exc}") from None
    for _left in runlock.clear_leftovers("."):
        logger.warning(f"reglab: removed what a crashed run left: {_left}")


validate(config, "workflow/schemas/config.schema.json")
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
    localrule: True
