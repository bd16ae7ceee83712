# Stage 3: figures, drawn from artifacts only.


rule figures_dataset:
    input:
        closed_form="results/closed_form/{dataset}.json",
        diagnostics="results/diagnostics/{dataset}.json",
    output:
        solvers=report(
            "results/figures/{dataset}/solvers.png",
            caption="../../report/captions/solvers.rst",
            category="Closed form",
            subcategory="{dataset}",
        ),
        diagnostics=report(
            "results/figures/{dataset}/diagnostics.png",
            caption="../../report/captions/diagnostics.rst",
            category="Diagnostics",
            subcategory="{dataset}",
        ),
    log:
        "results/logs/figures/{dataset}.log",
    script:
        "../../scripts/figures_dataset.py"
