"""Adapter: merge the shard statistics in order; say whether the second scatter (refinement) is needed."""

from reglab.core.io import read_json, write_json
from reglab.core.logs import log_to
from reglab.core.provenance import job_block, stamp
from reglab.studies import scale

with log_to(snakemake.log[0], snakemake):
    doc = scale.merge_shards([read_json(p) for p in snakemake.input.stats])
    write_json(snakemake.output[0], stamp(doc, job_block(snakemake)))
    print(
        f"{doc['n']} rows from {doc['shards']} shard(s): second pass "
        f"{'needed' if doc['needs_second_pass'] else 'not needed'} ({doc['why']})"
    )
