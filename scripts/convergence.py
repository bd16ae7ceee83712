"""Adapter: run one convergence study; write its curve table and summary."""
from reglab.core.io import read_json, write_json, write_parquet
from reglab.core.logs import log_to
from reglab.core.provenance import job_block, stamp
from reglab.data import datasets
from reglab.studies import convergence
from reglab.training.session import configure_threads

with log_to(snakemake.log[0]):
    configure_threads(snakemake.threads)
    curves, summary = convergence.run_study(
        snakemake.wildcards.study,
        snakemake.params.study,
        datasets.load(snakemake.input.data),
        read_json(snakemake.input.closed_form),
        seed=snakemake.params.seed,
        threads=snakemake.threads,
    )
    write_parquet(snakemake.output.curves, curves)
    write_json(snakemake.output.summary, stamp(summary, job_block(snakemake)))
    print(f"{len(summary['runs'])} runs, {len(curves)} curve points")
