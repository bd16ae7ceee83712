"""Adapter: build results/reproduction.csv from Keras and closed-form artifacts."""
from pathlib import Path

from reglab.questions import reproduction
from reglab.core.io import atomic_path, read_json
from reglab.core.logs import log_to

with log_to(snakemake.log[0]):
    keras = {Path(p).stem: read_json(p) for p in snakemake.input.keras}
    closed = {Path(p).stem: read_json(p) for p in snakemake.input.closed_form}
    studies = {Path(p).parent.name: read_json(p) for p in snakemake.input.studies}
    table = reproduction.build_table(keras, closed, studies)
    with atomic_path(snakemake.output[0]) as tmp:
        table.to_csv(tmp, index=False)
    print(table[["document", "quantity", "verdict"]].to_string())
