"""Adapter: render the HTML report from the artifacts each stage registered for it."""

from pathlib import Path

from reglab.core.logs import log_to
from reglab.report import render

with log_to(snakemake.log[0], snakemake):
    fixed = {"template", "css", "fragments"}
    render(
        groups={name: list(files) for name, files in snakemake.input.items() if name not in fixed},
        template=snakemake.input.template,
        css=snakemake.input.css,
        output=snakemake.output[0],
        title=snakemake.params.title,
        params={**dict(snakemake.params.items()), "workflow_dir": str(Path(snakemake.scriptdir).parent)},
    )
