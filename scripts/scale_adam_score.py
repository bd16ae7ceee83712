"""Adapter: the streamed Adam runs' coefficients in correct digits against the streamed least squares."""

from reglab.core.io import read_json, write_json
from reglab.core.logs import log_to
from reglab.core.provenance import job_block, stamp
from reglab.studies.scale import score_adam

with log_to(snakemake.log[0], snakemake):
    runs = read_json(snakemake.input.runs)
    doc = score_adam(runs, read_json(snakemake.input.ols))
    doc["dataset"] = runs["dataset"]
    write_json(snakemake.output[0], stamp(doc, job_block(snakemake)))
    for name, run in doc["runs"].items():
        print(f"{name}: {run['coef_digits']} correct digits")
