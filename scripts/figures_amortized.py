"""Adapter: the amortized stage's figures, from its artifacts."""

from pathlib import Path

import pandas as pd

from reglab.core.io import read_json
from reglab.core.logs import log_to
from reglab.plotting import amortized as figs
from reglab.plotting.style import save
from reglab.questions.base import Artifacts
from reglab.questions.seed000 import built_in

with log_to(snakemake.log[0], snakemake):
    docs = {Path(p).stem: read_json(p) for p in snakemake.input.docs}
    references = read_json(snakemake.input.references)
    evaluation = pd.read_parquet(snakemake.input.evaluation)
    history = pd.read_parquet(snakemake.input.history)
    save(figs.training_curves(history, docs, references), snakemake.output.curves)
    save(figs.excess_by_condition(evaluation), snakemake.output.conditions)
    save(figs.permutation_change(docs), snakemake.output.permutation)
    save(figs.fitted_planes(docs, references), snakemake.output.plane)
    art = Artifacts({"amortized": {**docs, "references": references}})
    save(figs.built_in(built_in(art)), snakemake.output.built_in)
