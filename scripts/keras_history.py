"""Adapter: one dataset's Keras history table from its runs' histories (in run-name order)."""

import pandas as pd

from reglab.core.io import write_parquet
from reglab.core.logs import log_to
from reglab.training import keras_runs

with log_to(snakemake.log[0], snakemake):
    history = keras_runs.merge_histories([pd.read_parquet(p) for p in snakemake.input.histories])
    write_parquet(snakemake.output[0], history)
    print(f"{len(snakemake.input.histories)} runs, {len(history)} rows")
