"""Adapter: merge the shard statistics in order and solve; time a single-process solve of the same files."""
from reglab.core.io import read_json, write_json
from reglab.core.logs import log_to
from reglab.core.provenance import job_block, stamp
from reglab.studies import scale

with log_to(snakemake.log[0]):
    docs = [read_json(p) for p in snakemake.input.stats]
    doc = scale.merge_and_solve(scale.source_of(snakemake.params.spec, snakemake.input.data[0]), snakemake.params.spec, docs)
    doc["dataset"] = snakemake.params.name
    write_json(snakemake.output[0], stamp(doc, job_block(snakemake)))
    print(f"{doc['n']} x {doc['d']}: {doc['method']}, {doc['passes']} pass(es), {doc['seconds']:.2f} s, "
          f"~{doc['correct_digits_estimate']:.1f} digits; {doc['message']}")
