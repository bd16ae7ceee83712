"""Adapter: the untrained reference rows (OLS floor, truth, intercept only, zero, gradient steps)."""

from reglab.core.io import write_json, write_parquet
from reglab.core.logs import log_to
from reglab.core.provenance import job_block, stamp
from reglab.studies import amortized

with log_to(snakemake.log[0], snakemake):
    doc, table = amortized.run_references(evaluation=snakemake.params.evaluation, seed=snakemake.params.seed)
    write_parquet(snakemake.output.evaluation, table)
    write_json(snakemake.output.doc, stamp(doc, job_block(snakemake)))
