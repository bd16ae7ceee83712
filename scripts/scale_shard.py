"""Adapter: the mergeable least-squares statistic of one shard of a streamed dataset."""

from reglab.core.io import write_json
from reglab.core.logs import log_to
from reglab.core.provenance import job_block, stamp
from reglab.studies import scale

with log_to(snakemake.log[0], snakemake):
    doc = scale.shard_stat(
        scale.source_of(snakemake.params.spec, snakemake.input.data[0]),
        snakemake.params.spec,
        snakemake.params.shard,
        snakemake.threads,
    )
    write_json(snakemake.output[0], stamp(doc, job_block(snakemake)))
    print(
        f"shard {doc['shard']}: {doc['rows']} rows in {doc['seconds']:.2f} s, peak "
        f"{doc['peak_rss_mb']:.0f} MB"
    )
