"""Adapter: write one shard of a dataset of kind large, chunk by chunk (never held whole)."""

from pathlib import Path

from reglab.core.logs import log_to
from reglab.data import large

with log_to(snakemake.log[0], snakemake):
    spec = dict(snakemake.params.spec)
    options = {
        k: spec[k]
        for k in ("condition", "scale_spread", "mean", "constant_column", "noise", "chunk_rows")
        if k in spec
    }
    path = large.write_large_shard(
        Path(snakemake.output[0]).parent,
        snakemake.params.shard,
        n=spec["n"],
        d=spec["d"],
        seed=snakemake.params.seed,
        shards=spec["shards"],
        **options,
    )
    print(f"wrote {path}")
