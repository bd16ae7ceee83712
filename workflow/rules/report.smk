# Stage 5: one self-contained HTML report, built from artifacts only (seconds, no retraining).


rule report:
    input:
        closed_form=expand("results/closed_form/{dataset}.json", dataset=DATASETS),
        diagnostics=expand("results/diagnostics/{dataset}.json", dataset=TABULAR),
        keras=KERAS_OUTPUTS,
        reproduction="results/reproduction.csv",
        studies=CONVERGENCE_OUTPUTS,
        figures=expand(
            "results/figures/{dataset}/{kind}.png", dataset=TABULAR, kind=["solvers", "diagnostics"]
        )
        + KERAS_FIGURES
        + CONVERGENCE_FIGURES,
        template=f"{workflow.basedir}/report/templates/report.html.j2",
        css=f"{workflow.basedir}/report/templates/report.css",
    output:
        "results/report.html",
    params:
        datasets=DATASETS,
        title=config["report"]["title"],
    log:
        "results/logs/report.log",
    script:
        "../../scripts/report.py"
