"""Adapter: seed 001's landing points of repeated fits on the line of exact solutions."""

from reglab.core.io import read_json
from reglab.core.logs import log_to
from reglab.plotting import keras as keras_figures
from reglab.plotting.style import save

with log_to(snakemake.log[0], snakemake):
    docs = [d for d in (read_json(p) for p in snakemake.input.runs) if not d["standardize"]]
    fig = keras_figures.landing_points(
        docs, article_point=tuple(snakemake.params.article_point), seed=snakemake.params.seed
    )
    save(fig, snakemake.output[0])
