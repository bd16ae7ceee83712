"""Adapter: the Keras runs of one group of a convergence study; write its curve rows and run records."""

from reglab.core.io import read_json, write_json, write_parquet
from reglab.core.logs import log_to
from reglab.core.provenance import job_block, stamp
from reglab.data import datasets
from reglab.studies import convergence
from reglab.training.session import configure_threads

with log_to(snakemake.log[0], snakemake):
    configure_threads(snakemake.threads)
    curves, doc = convergence.run_group(
        snakemake.wildcards.study,
        snakemake.wildcards.group,
        snakemake.params.entry,
        datasets.load(snakemake.input.data),
        read_json(snakemake.input.closed_form),
        seed=snakemake.params.seed,
        threads=snakemake.threads,
    )
    write_parquet(snakemake.output.curves, curves)
    write_json(snakemake.output.doc, stamp(doc, job_block(snakemake)))
    print(
        f"{len(doc['configurations'])} configurations, {sum(map(len, doc['runs']))} runs, {len(curves)} "
        "curve points"
    )
