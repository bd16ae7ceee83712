"""Adapter: a convergence study's groups in one process (TensorFlow imported once), each into its own curve
rows and run records; a group whose memo key (configurations, inputs, seed, code) is unchanged is restored."""

from reglab.core import memo
from reglab.core.io import read_json, write_json, write_parquet
from reglab.core.logs import log_to
from reglab.core.provenance import job_block, stamp
from reglab.data import datasets
from reglab.studies import convergence
from reglab.training.session import configure_threads

with log_to(snakemake.log[0], snakemake):
    configure_threads(snakemake.threads)
    study, entries = snakemake.params.study, dict(snakemake.params.entries)
    seed, threads = snakemake.params.seed, snakemake.threads
    data, closed = datasets.load(snakemake.input.data), read_json(snakemake.input.closed_form)
    outputs = {"curves.parquet": snakemake.output.curves, "doc.json": snakemake.output.docs}
    groups = memo.units(
        entries, outputs, snakemake.input, seed=seed, code=snakemake.params.code, threads=threads
    )

    def run(group):
        curves, doc = convergence.run_group(
            study, group, entries[group], data, closed, seed=seed, threads=threads
        )
        _, paths = groups[group]
        write_parquet(paths["curves.parquet"], curves)
        write_json(
            paths["doc.json"], stamp(doc, job_block(snakemake, {"entry": entries[group], "seed": seed}))
        )
        print(f"{group}: {len(doc['configurations'])} configurations, {len(curves)} curve points")

    print(memo.said(memo.run_units(memo.Memo(snakemake.params.memo), groups, run)))
