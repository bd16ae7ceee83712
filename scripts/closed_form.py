"""Adapter: closed-form baselines for one dataset."""
from reglab import closed_form, datasets
from reglab.io import write_json
from reglab.logs import log_to

with log_to(snakemake.log[0]):
    summary = closed_form.summarize(datasets.load(snakemake.input[0]))
    write_json(snakemake.output[0], summary)
