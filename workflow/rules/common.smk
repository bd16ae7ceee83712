# Shared, generic helpers for every stage: config slices, code digests, the report's input registry.
# Stages define no functions of their own: they call these (snakemake --lint keeps rules and
# functions apart).
import json
import os
from pathlib import Path

from reglab import questions
from reglab.core import provenance
from reglab.data.datasets import FUEL_SHA256
from reglab.studies import grid as study_grid


def here(*parts):
    """A file of the workflow, relative to the working directory: inputs then do not depend on where the
    project folder lives, so a copied or moved checkout with its results/ and .snakemake/ reruns nothing."""
    return os.path.relpath(Path(workflow.basedir, *parts))


# Seed 004's data ship with the workflow (data/FuelConsumption.SOURCE.md: licence, provenance) and are
# checked against their sha256 when read; the download (rule fetch_fuel) is a fallback for a checkout
# that lacks the file.
FUEL_SHIPPED = Path(here("data", "FuelConsumption.csv"))
FUEL_DOWNLOAD = "resources/FuelConsumption.csv"
FUEL_FILE = str(FUEL_SHIPPED) if FUEL_SHIPPED.is_file() else FUEL_DOWNLOAD
# Datasets too large for memory (kind large, or streaming: true) get the scale stage only.
STREAMING = [n for n, s in config["datasets"].items() if s.get("kind") == "large" or s.get("streaming")]
DATASETS = [n for n in config["datasets"] if n not in STREAMING]
# The amortized dataset of datasets has many small regressions: it gets closed forms per group
# but no single-design diagnostics.
GROUPED = [n for n, s in config["datasets"].items() if s.get("kind") == "amortized"]
TABULAR = [n for n in DATASETS if n not in GROUPED]
# Files each stage shows in the report, by section name (see reglab.report.sections), and the files
# of each stage the seed questions read (the reproduction table's inputs).
REPORT_INPUTS = {}
REPRODUCTION_INPUTS = {}
QUESTION_READS = questions.reads(config)
# the seed questions this study asks (config key questions): the reproduction table's and report's
ASKED = [q.doc_id for q in questions.asked(config)]


wildcard_constraints:
    dataset="|".join(DATASETS),


def canonical(obj):
    """Dicts with keys sorted, recursively: key order in a config file is not a change."""
    if isinstance(obj, dict):
        return {k: canonical(obj[k]) for k in sorted(obj)}
    if isinstance(obj, list):
        return [canonical(v) for v in obj]
    return obj


def packed():
    """Whether the small TensorFlow jobs run packed: a dataset's Keras runs, a study's convergence groups
    in one process (TensorFlow imported once), a memo (results/.memo) keeping each run's and group's
    rerun unit. Config ``pack_jobs``; ``auto`` packs on a local run and not on a cluster, where one job per
    run keeps the nodes busy.

    The executor is chosen after the Snakefile is parsed (``workflow.local_exec`` still reads True here on
    a SLURM run), so ``auto`` reads what is known at parse time: a cluster job runs in remote mode, and a
    cluster's main process has ``nodes`` (``--jobs``; Snakemake requires it off a local run and, on a
    local run without ``--cores``, turns ``--jobs`` into cores). Both sides of a cluster run decide alike."""
    mode = config["pack_jobs"]
    if mode == "auto":
        return not workflow.remote_exec and workflow.resource_settings.nodes is None
    return bool(mode)


MEMO = "results/.memo"


# each library source's imports, kept between commands (keyed by content): parsing them was most of the
# digests' time, which every command and every cluster job pays
IMPORT_CACHE = ".snakemake/reglab/imports.json"


def code(script):
    """Digest of the library code a rule's script imports (and of the numerical packages' versions)."""
    return provenance.code_digest(f"{workflow.basedir}/scripts/{script}.py", cache=IMPORT_CACHE)


def register_report(section, files):
    """Show ``files`` in the report section ``section``; the report rule's inputs come from here."""
    REPORT_INPUTS.setdefault(section, []).extend(files)


def report_inputs(wildcards):
    return {name: sorted(set(files)) for name, files in REPORT_INPUTS.items()}


def register_reproduction(stage, files):
    """The reproduction table reads ``files`` (only what a seed question declares it reads)."""
    REPRODUCTION_INPUTS.setdefault(stage, []).extend(files)
    register_report("questions", files)


def reproduction_inputs(wildcards):
    return {name: sorted(set(files)) for name, files in REPRODUCTION_INPUTS.items()}


def entry(section, wildcard):
    """Input function: the config entry ``section.<wildcard value>`` (canonical key order)."""

    def get(wildcards):
        return canonical(lookup(dpath=f"{section}/{wildcards[wildcard]}", within=config))

    return get


def entry_path(section, wildcard, pattern):
    """Input function: ``pattern`` formatted with the fields of the config entry ``section.<wildcard>``."""

    def get(wildcards):
        return pattern.format(**lookup(dpath=f"{section}/{wildcards[wildcard]}", within=config))

    return get


def dataset_spec(wildcards):
    """The dataset's own config entry: changing it reruns this dataset's jobs only."""
    # The URL a file came from does not change its content.
    spec = config["datasets"][wildcards.dataset]
    spec = {k: v for k, v in spec.items() if k != "url"}
    if spec.get("kind") == "fuel" and FUEL_FILE == str(FUEL_SHIPPED):
        spec["sha256"] = FUEL_SHA256  # the shipped copy must be the shipped bytes
    return canonical(spec)


def dataset_source(wildcards):
    spec = config["datasets"][wildcards.dataset]
    kind = spec.get("kind", "file")
    if kind == "fuel":
        return FUEL_FILE
    if kind == "file":
        return spec["path"]
    return []


def report_fragments():
    """The report's section templates (relative paths, as :func:`here`)."""
    return sorted(
        here("report", "templates", "sections", p.name)
        for p in Path(here("report", "templates", "sections")).glob("*.html.j2")
    )


def fuel_url(wildcards):
    urls = [s["url"] for s in config["datasets"].values() if s.get("kind") == "fuel" and s.get("url")]
    if not urls:
        raise ValueError(
            f"no dataset of kind 'fuel' in config, so nothing names a URL for {FUEL_DOWNLOAD}, and the shipped {FUEL_SHIPPED} is missing (git checkout -- data/)"
        )
    return urls[0]


def keras_runs_of(dataset):
    """This dataset's Keras runs (canonical key order)."""
    runs = config["keras"]["runs"]
    return canonical({name: run for name, run in runs.items() if run["dataset"] == dataset})


def keras_run_files(wildcards):
    return [f"results/keras/{wildcards.dataset}/{run}.json" for run in keras_runs_of(wildcards.dataset)]


def keras_history_files(wildcards):
    """The history tables of a dataset's runs (one job each), in run-name order: its history merge's inputs."""
    return [
        f"results/keras/{wildcards.dataset}/history/{run}.parquet" for run in keras_runs_of(wildcards.dataset)
    ]


def study_groups(study):
    """A convergence study's groups (one job each, the grid cut by its ``group_by``), in grid order."""
    return list(study_grid.groups(config["convergence"]["studies"][study]))


def study_group_entry(wildcards):
    """A group job's params: its own configurations and the study keys their runs read, nothing else, so a
    changed grid point reruns only its group (and the merge)."""
    study = config["convergence"]["studies"][wildcards.study]
    return canonical(study_grid.group_entry(study, wildcards.group))


def study_reference_entry(wildcards):
    """The reference-solver job's params: the study keys its solvers and theory read (not the Keras grid)."""
    return canonical(study_grid.reference_entry(config["convergence"]["studies"][wildcards.study]))


def study_group_files(ext):
    """Input function: every group's file with extension ``ext`` of the study, in grid order."""

    def get(wildcards):
        return [
            f"results/convergence/{wildcards.study}/groups/{g}.{ext}" for g in study_groups(wildcards.study)
        ]

    return get


def streaming_inputs(dataset):
    """The files a streamed dataset's jobs read (each shard file, or the user's file)."""
    spec = config["datasets"][dataset]
    if spec.get("kind") == "large":
        return [f"results/large/{dataset}/part-{i:03d}.parquet" for i in range(int(spec.get("shards") or 1))]
    return [spec["path"]]


def stream_inputs(wildcards):
    return streaming_inputs(wildcards.stream)


def shard_index(wildcards):
    return int(wildcards.shard)


def scale_refinements(dataset, shards):
    """The refinement statistics a streamed dataset's solve job reads: one per shard when the merge job (a
    checkpoint) says the first pass leaves digits at risk, else none (the second scatter does not run)."""

    def get(wildcards):
        merged = getattr(checkpoints, f"scale_merge_{dataset}").get().output[0]
        if not json.loads(Path(merged).read_text())["needs_second_pass"]:
            return []
        return [f"results/scale/{dataset}/refine-{i:03d}.json" for i in range(shards)]

    return get


# Longest job first packs the cores best: the encoder kinds' cost ranks as measured on the default config
# (a stacked LSTM ~150 s, one layer ~50 s; moments and set_transformer ~40 s; deepsets ~25 s; unrolled ~13 s).
ENCODER_COST_RANK = {"lstm": 3, "moments": 2, "set_transformer": 2, "deepsets": 1, "unrolled": 0}
# The scale stage's shards, statistics and streamed Adam go before the encoders: they are short, and the
# Adam (~25 s on one core in the default run) then overlaps the encoders instead of running last, alone.
SCALE_PRIORITY = max(ENCODER_COST_RANK.values()) + 2


def dataset_priority(wildcards):
    """``priority:`` of a dataset's job: the encoders' dataset as early as the scale stage (a job's priority
    does not pass to the jobs it waits for, and the encoders are the longest jobs)."""
    return SCALE_PRIORITY if wildcards.dataset == config["amortized"]["dataset"] else 0


def encoder_priority(wildcards):
    """``priority:`` of an encoder's job, from its config entry's kind (and depth)."""
    entry = config["amortized"]["encoders"][wildcards.encoder]
    stacked = entry["kind"] == "lstm" and int(entry.get("depth", 2)) > 1
    return ENCODER_COST_RANK.get(entry["kind"], 0) + int(stacked)


# Cluster requests. Site values come from the user's environment, never from our files: unset means the
# cluster's default partition and the user's default account.
SITE_RESOURCES = {
    key: os.environ[var]
    for key, var in (("slurm_partition", "REGLAB_SLURM_PARTITION"), ("slurm_account", "REGLAB_SLURM_ACCOUNT"))
    if os.environ.get(var)
}
# Memory (MB) and run time (minutes) of one attempt per job family, sized from the measured peaks
# (results/benchmarks/, shown in the report's "Jobs" table) with room to spare; attempt k asks for k
# times as much, so a retry after an out-of-memory kill or a timeout does not repeat the same request.
JOB_SIZES = {
    "light": (1000, 10),  # fetch, figures, merges, report: measured peaks under 400 MB, seconds
    "data": (2000, 10),  # dataset generation and reading, closed forms, diagnostics
    "keras": (3000, 60),  # TensorFlow jobs: ~1 GB peak, minutes
    "stream": (1000, 20),  # scale shard / refinement / solve jobs: bounded by a row group, ~230 MB
}


# In-memory numerical jobs (closed forms, diagnostics, convergence references) read their dataset whole.
# Below BLAS_CELLS cells (rows x columns) their LAPACK calls take milliseconds: one thread, so the job does
# not hold a second core that the jobs beside it wait for (measured on 2 cores: with two-thread
# reservations one core sat idle for 99 s of the 395 s default run, with this 37 s of 343 s). At or above
# it, and while the dataset is not yet written, ``threads`` (the scheduler evaluates threads again once a
# job's inputs exist, before it starts).
BLAS_CELLS = 1_000_000


def blas_threads(wildcards, input):
    """``threads:`` of a job that reads an in-memory dataset (its first parquet input)."""
    import pyarrow.parquet as pq  # here, not at parse time: only jobs being scheduled pay for it

    path = next((str(f) for f in input if str(f).endswith(".parquet")), None)
    if path is None or not os.path.exists(path):
        return config["threads"]
    meta = pq.read_metadata(path)
    return 1 if meta.num_rows * meta.num_columns < BLAS_CELLS else config["threads"]


def job_resources(family):
    """``resources:`` of a job family: ``mem_mb`` and ``runtime`` scaled by the attempt, plus the site's."""
    mem_mb, minutes = JOB_SIZES[family]

    def mem(wildcards, attempt):
        return mem_mb * attempt

    def runtime(wildcards, attempt):
        return minutes * attempt

    return {"mem_mb": mem, "runtime": runtime, **SITE_RESOURCES}


def benchmark_file(family, rule_name, pattern=""):
    """Snakemake's own wall time and peak memory of a job, filed under its resource family (the report's
    "Jobs" table sets each family's peaks beside its request): ``results/benchmarks/<family>/<rule>[/<pattern>].tsv``.
    """
    assert family in JOB_SIZES, family
    return str(Path("results", "benchmarks", family, rule_name, pattern).with_suffix(".tsv"))
