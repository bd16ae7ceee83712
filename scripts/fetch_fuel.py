"""Adapter: download the FuelConsumption file named in config and verify it."""

from reglab.core.logs import log_to
from reglab.data.datasets import fetch_fuel

with log_to(snakemake.log[0], snakemake):
    digest = fetch_fuel(snakemake.params.url, snakemake.output[0])
    print(f"downloaded {snakemake.params.url} -> {snakemake.output[0]} (sha256 {digest})")
