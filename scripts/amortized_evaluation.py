"""Adapter: merge every encoder's and the references' evaluations into one table and a summary."""

from pathlib import Path

import pandas as pd

from reglab.core.io import read_json, write_json, write_parquet
from reglab.core.logs import log_to
from reglab.core.provenance import job_block, stamp
from reglab.studies import amortized

with log_to(snakemake.log[0], snakemake):
    docs = {Path(p).stem: read_json(p) for p in snakemake.input.docs}
    tables = [pd.read_parquet(p) for p in [*snakemake.input.evaluations, snakemake.input.ref_evaluation]]
    summary, table = amortized.summarize(docs, read_json(snakemake.input.references), tables)
    write_parquet(snakemake.output.evaluation, table)
    write_parquet(
        snakemake.output.history, pd.concat([pd.read_parquet(p) for p in snakemake.input.histories])
    )
    write_json(snakemake.output.summary, stamp(summary, job_block(snakemake)))
    print(
        f"best learned encoder: {summary['best_encoder']} "
        f"({summary['best_encoder_excess_pct']}% over the floor)"
    )
