"""Adapter: solve from the merged statistics (and the refinement ones, when the merge asked for them);
time a single-process solve of the same files."""

from reglab.core.io import read_json, write_json
from reglab.core.logs import log_to
from reglab.core.provenance import job_block, stamp
from reglab.studies import scale

with log_to(snakemake.log[0], snakemake):
    doc = scale.solve_merged(
        scale.source_of(snakemake.params.spec, snakemake.input.data[0]),
        snakemake.params.spec,
        read_json(snakemake.input.merged),
        [read_json(p) for p in snakemake.input.stats],
        [read_json(p) for p in snakemake.input.refines],
        snakemake.threads,
    )
    doc["dataset"] = snakemake.params.name
    write_json(snakemake.output[0], stamp(doc, job_block(snakemake)))
    print(
        f"{doc['n']} x {doc['d']}: {doc['method']}, {doc['passes']} pass(es), {doc['seconds']:.2f} s, "
        f"~{doc['claimed_digits']:.1f} digits claimed; {doc['message']}"
    )
