"""Adapter: Keras Dense(1) + Adam streaming from the same files the least squares reads (scored against it
by scale_adam_score)."""

from reglab.core.io import write_json
from reglab.core.logs import log_to
from reglab.core.provenance import job_block, stamp
from reglab.studies import scale
from reglab.training.session import configure_threads
from reglab.training.streamed import adam_runs

with log_to(snakemake.log[0], snakemake):
    configure_threads(snakemake.threads)
    parts, features = scale.parts_of(
        scale.source_of(snakemake.params.spec, snakemake.input.data[0]), snakemake.params.spec
    )
    doc = adam_runs(parts, features, snakemake.params.runs, seed=snakemake.params.seed)
    doc["dataset"] = snakemake.params.name
    write_json(snakemake.output[0], stamp(doc, job_block(snakemake)))
    for name, run in doc["runs"].items():
        print(f"{name}: {run['steps']} steps, {run['seconds']:.1f} s")
