"""Adapter: per-dataset figures from the closed-form and diagnostics artifacts."""

from reglab.core.io import read_json
from reglab.core.logs import log_to
from reglab.plotting import datasets as figures
from reglab.plotting.style import save

with log_to(snakemake.log[0], snakemake):
    closed = read_json(snakemake.input.closed_form)
    diag = read_json(snakemake.input.diagnostics)
    save(figures.solver_agreement(closed), snakemake.output.solvers)
    save(figures.diagnostics_panel(diag), snakemake.output.diagnostics)
