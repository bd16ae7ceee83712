"""Adapter: the figures of one convergence study."""

import pandas as pd

from reglab.core.io import read_json
from reglab.core.logs import log_to
from reglab.plotting import convergence as cf
from reglab.plotting.style import save

with log_to(snakemake.log[0], snakemake):
    curves = pd.read_parquet(snakemake.input.curves)
    summary = read_json(snakemake.input.summary)
    save(cf.metric_curves(curves, summary, x="epoch"), snakemake.output.by_epoch)
    save(cf.metric_curves(curves, summary, x="seconds"), snakemake.output.by_seconds)
    save(cf.final_vs_learning_rate(summary), snakemake.output.by_lr)
    save(cf.time_to_tolerance_bars(summary), snakemake.output.tolerance)
