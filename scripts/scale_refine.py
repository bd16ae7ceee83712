"""Adapter: one job of the second scatter: the TSQR statistic of one shard, with the merge job's plan."""

from reglab.core.io import read_json, write_json
from reglab.core.logs import log_to
from reglab.core.provenance import job_block, stamp
from reglab.studies import scale

with log_to(snakemake.log[0], snakemake):
    plan = read_json(snakemake.input.merged)["plan"]
    doc = scale.refine_stat(
        scale.source_of(snakemake.params.spec, snakemake.input.data[0]),
        snakemake.params.spec,
        snakemake.params.shard,
        plan,
        snakemake.threads,
    )
    write_json(snakemake.output[0], stamp(doc, job_block(snakemake)))
    print(
        f"refine shard {doc['shard']}: {doc['rows']} rows in {doc['seconds']:.2f} s, peak "
        f"{doc['peak_rss_mb']:.0f} MB"
    )
