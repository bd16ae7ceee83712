"""Adapter: train one Keras run (all its repeats); write its JSON document and its history table."""

from reglab.core.io import read_json, write_json, write_parquet
from reglab.core.logs import log_to
from reglab.core.provenance import job_block, stamp
from reglab.data import datasets
from reglab.training import keras_runs
from reglab.training.session import configure_threads

with log_to(snakemake.log[0], snakemake):
    configure_threads(snakemake.threads)
    data = datasets.load(snakemake.input.data)
    closed = read_json(snakemake.input.closed_form)
    name = snakemake.wildcards.run
    doc, history = keras_runs.run_one(
        name, snakemake.params.run, data, closed, seed=snakemake.params.seed, threads=snakemake.threads
    )
    print(
        f"{name}: final loss {doc['final_train_loss']}, diverged {doc['n_diverged']}/{doc['n_repeats']}, "
        f"{doc['seconds']:.2f} s"
    )
    # both outputs at the end: a killed job leaves nothing that looks finished
    write_parquet(snakemake.output.history, history)
    write_json(snakemake.output.doc, stamp(doc, job_block(snakemake)))
