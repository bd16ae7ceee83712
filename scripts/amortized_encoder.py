"""Adapter: train one amortized encoder and evaluate it on the held-out datasets."""

from reglab.core.io import write_json, write_parquet
from reglab.core.logs import log_to
from reglab.core.provenance import job_block, stamp
from reglab.data import datasets
from reglab.studies import amortized, amortized_encoder
from reglab.training.session import configure_threads

with log_to(snakemake.log[0], snakemake):
    configure_threads(snakemake.threads)
    data = datasets.load(snakemake.input.data)
    fixed = amortized.training_batch(data.frame, data.features, data.target, data.truth)
    doc, table, history = amortized_encoder.run_encoder(
        snakemake.wildcards.encoder,
        snakemake.params.encoder,
        evaluation=snakemake.params.evaluation,
        seed=snakemake.params.seed,
        fixed=fixed,
    )
    write_parquet(snakemake.output.evaluation, table)
    write_parquet(snakemake.output.history, history)
    write_json(snakemake.output.doc, stamp(doc, job_block(snakemake)))
    print(
        f"{doc['name']}: {doc['params']} parameters, {doc['train_seconds']:.1f} s, loss "
        f"{doc['eval_loss']:.4g} (floor {doc['floor_loss']:.4g}, excess {doc['excess_pct']}%)"
    )
