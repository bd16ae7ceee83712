"""Adapter: multicollinearity diagnostics for one dataset."""

from reglab.core.io import write_json
from reglab.core.logs import log_to
from reglab.core.provenance import job_block, stamp
from reglab.data import datasets
from reglab.linalg import diagnostics

with log_to(snakemake.log[0], snakemake):
    data = datasets.load(snakemake.input[0])
    result = diagnostics.diagnose(data.X(), feature_names=data.features, intercept=data.intercept, y=data.y())
    doc = {"dataset": data.name, "target": data.target, **result}
    write_json(snakemake.output[0], stamp(doc, job_block(snakemake)))
