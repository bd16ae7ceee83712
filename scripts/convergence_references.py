"""Adapter: a convergence study's reference solvers, article runs and theory (no TensorFlow)."""

from reglab.core.io import read_json, write_json, write_parquet
from reglab.core.logs import log_to
from reglab.core.provenance import job_block, stamp
from reglab.data import datasets
from reglab.studies import convergence

with log_to(snakemake.log[0], snakemake):
    curves, doc = convergence.run_references(
        snakemake.wildcards.study,
        snakemake.params.entry,
        datasets.load(snakemake.input.data),
        read_json(snakemake.input.closed_form),
        seed=snakemake.params.seed,
    )
    write_parquet(snakemake.output.curves, curves)
    write_json(snakemake.output.doc, stamp(doc, job_block(snakemake)))
    print(f"{len(doc['runs'])} runs, {len(curves)} curve points")
