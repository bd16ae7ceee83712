"""Adapter: train every Keras run of one dataset; write one JSON per run and one history table."""
from pathlib import Path

import pandas as pd

from reglab.core.io import read_json, write_json, write_parquet
from reglab.core.logs import log_to
from reglab.core.provenance import job_block, stamp
from reglab.data import datasets
from reglab.training import keras_runs
from reglab.training.session import configure_threads

with log_to(snakemake.log[0]):
    configure_threads(snakemake.threads)
    data = datasets.load(snakemake.input.data)
    closed = read_json(snakemake.input.closed_form)
    docs, histories = {}, []
    for name, run in snakemake.params.runs.items():
        doc, history = keras_runs.run_one(name, run, data, closed, seed=snakemake.params.seed,
                                           threads=snakemake.threads)
        print(f"{name}: final loss {doc['final_train_loss']}, diverged {doc['n_diverged']}/{doc['n_repeats']}, "
              f"{doc['seconds']:.2f} s")
        docs[name] = doc
        histories.append(history)
    # all outputs at the end: a killed job leaves nothing that looks finished
    write_parquet(snakemake.output.history, pd.concat(histories, ignore_index=True))
    block = job_block(snakemake)
    for path in snakemake.output.runs:
        write_json(path, stamp(docs[Path(path).stem], block))
