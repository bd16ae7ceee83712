"""Adapter: a convergence study's curve table and summary from its groups' and references' outputs."""

import pandas as pd

from reglab.core.io import read_json, write_json, write_parquet
from reglab.core.logs import log_to
from reglab.core.provenance import job_block, stamp
from reglab.studies import convergence

with log_to(snakemake.log[0], snakemake):
    parts = [(pd.read_parquet(c), read_json(d)) for c, d in zip(snakemake.input.curves, snakemake.input.docs)]
    references = (pd.read_parquet(snakemake.input.reference_curves), read_json(snakemake.input.references))
    curves, summary = convergence.merge(snakemake.wildcards.study, snakemake.params.study, parts, references)
    write_parquet(snakemake.output.curves, curves)
    write_json(snakemake.output.summary, stamp(summary, job_block(snakemake)))
    print(f"{len(parts)} groups, {len(summary['runs'])} runs, {len(curves)} curve points")
