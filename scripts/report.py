"""Adapter: render the HTML report from artifacts."""
from reglab.report import render as report
from reglab.core.logs import log_to

with log_to(snakemake.log[0]):
    report.render(
        title=snakemake.params.title,
        datasets=snakemake.params.datasets,
        closed_form=list(snakemake.input.closed_form),
        diagnostics=list(snakemake.input.diagnostics),
        keras=list(snakemake.input.keras),
        reproduction=snakemake.input.reproduction,
        studies=list(snakemake.input.studies),
        figures=list(snakemake.input.figures),
        template=snakemake.input.template,
        css=snakemake.input.css,
        output=snakemake.output[0],
    )
