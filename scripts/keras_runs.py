"""Adapter: train a dataset's Keras runs in one process (TensorFlow imported once), each into its own JSON
document and history table; a run whose memo key (entry, inputs, seed, code) is unchanged is restored. Then
the dataset's history table, merged from its runs' (as the ``keras_history`` job does on a cluster)."""

import pandas as pd

from reglab.core import memo
from reglab.core.io import read_json, write_json, write_parquet
from reglab.core.logs import log_to
from reglab.core.provenance import job_block, stamp
from reglab.data import datasets
from reglab.training import keras_runs
from reglab.training.session import configure_threads

with log_to(snakemake.log[0], snakemake):
    configure_threads(snakemake.threads)
    runs, seed, threads = dict(snakemake.params.runs), snakemake.params.seed, snakemake.threads
    data, closed = datasets.load(snakemake.input.data), read_json(snakemake.input.closed_form)
    outputs = {"doc.json": snakemake.output.docs, "history.parquet": snakemake.output.histories}
    units = memo.units(runs, outputs, snakemake.input, seed=seed, code=snakemake.params.code, threads=threads)

    def train(name):
        doc, history = keras_runs.run_one(name, runs[name], data, closed, seed=seed, threads=threads)
        _, paths = units[name]
        # both outputs at the end: a killed job leaves nothing that looks finished
        write_parquet(paths["history.parquet"], history)
        write_json(paths["doc.json"], stamp(doc, job_block(snakemake, {"run": runs[name], "seed": seed})))
        print(
            f"{name}: final loss {doc['final_train_loss']}, diverged {doc['n_diverged']}/{doc['n_repeats']}"
        )

    print(memo.said(memo.run_units(memo.Memo(snakemake.params.memo), units, train)))
    histories = [pd.read_parquet(p) for p in snakemake.output.histories]
    write_parquet(snakemake.output.history, keras_runs.merge_histories(histories))
