"""Adapter: per-dataset figures from the closed-form and diagnostics artifacts."""
from reglab import figures
from reglab.io import read_json
from reglab.logs import log_to

with log_to(snakemake.log[0]):
    closed = read_json(snakemake.input.closed_form)
    diag = read_json(snakemake.input.diagnostics)
    figures.save(figures.solver_agreement(closed), snakemake.output.solvers)
    figures.save(figures.diagnostics_panel(diag), snakemake.output.diagnostics)
