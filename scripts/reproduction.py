"""Adapter: build results/reproduction.csv from the artifacts the seed questions read."""

from reglab import questions
from reglab.core.io import write_csv
from reglab.core.logs import log_to

with log_to(snakemake.log[0], snakemake):
    art = questions.Artifacts.from_paths(snakemake.input)
    table = questions.build_table(art, snakemake.params.questions)
    write_csv(snakemake.output[0], table)
    print(table[["document", "quantity", "verdict"]].to_string())
