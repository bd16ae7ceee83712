"""Adapter: closed-form baselines for one dataset."""

from reglab.core.io import write_json
from reglab.core.logs import log_to
from reglab.core.provenance import job_block, stamp
from reglab.data import datasets
from reglab.linalg import closed_form

with log_to(snakemake.log[0], snakemake):
    summary = closed_form.summarize(datasets.load(snakemake.input[0]))
    write_json(snakemake.output[0], stamp(summary, job_block(snakemake)))
