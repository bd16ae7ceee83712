"""Adapter: build one dataset from its config entry and save the artifact."""

from reglab.core.logs import log_to
from reglab.data import datasets

with log_to(snakemake.log[0], snakemake):
    path = snakemake.input[0] if len(snakemake.input) else None
    data = datasets.build(
        snakemake.wildcards.dataset, snakemake.params.spec, seed=snakemake.params.seed, path=path
    )
    datasets.save(data, snakemake.output[0])
    print(f"{data.name}: {len(data.frame)} rows, features {data.features}, targets {data.targets}")
