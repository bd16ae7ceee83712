"""Adapter: loss and distance curves of one dataset's Keras runs."""

import pandas as pd

from reglab.core.io import read_json
from reglab.core.logs import log_to
from reglab.plotting import keras as keras_figures
from reglab.plotting.style import save

with log_to(snakemake.log[0], snakemake):
    docs = [read_json(p) for p in snakemake.input.runs]
    history = pd.read_parquet(snakemake.input.history)
    save(keras_figures.loss_curves(docs, history), snakemake.output.loss)
    save(keras_figures.distance_curves(docs, history), snakemake.output.distance)
