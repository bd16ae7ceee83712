"""Adapter: multicollinearity diagnostics for one dataset."""
from reglab.data import datasets
from reglab.linalg import diagnostics
from reglab.core.io import write_json
from reglab.core.logs import log_to

with log_to(snakemake.log[0]):
    data = datasets.load(snakemake.input[0])
    result = diagnostics.diagnose(data.X(), feature_names=data.features, intercept=data.intercept, y=data.y())
    write_json(snakemake.output[0], {"dataset": data.name, "target": data.target, **result})
