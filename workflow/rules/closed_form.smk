# Stage 2a: closed-form baselines (several least-squares solvers, logistic MLE for binary targets).


rule closed_form:
    input:
        "results/data/{dataset}.parquet",
    output:
        "results/closed_form/{dataset}.json",
    log:
        "results/logs/closed_form/{dataset}.log",
    benchmark:
        benchmark_file("data", "closed_form", "{dataset}")
    conda:
        "../../envs/numerical.yaml"
    threads: blas_threads
    resources:
        **job_resources("data"),
    params:
        code=code("closed_form"),
    script:
        "../../scripts/closed_form.py"


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
            labels={"dataset": "{dataset}", "figure": "solver agreement"},
        ),
        diagnostics=report(
            "results/figures/{dataset}/diagnostics.png",
            caption="../../report/captions/diagnostics.rst",
            category="Diagnostics",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "figure": "rank and conditioning"},
        ),
    log:
        "results/logs/figures/{dataset}.log",
    benchmark:
        benchmark_file("light", "figures_dataset", "{dataset}")
    localrule: True
    conda:
        "../../envs/report.yaml"
    resources:
        **job_resources("light"),
    params:
        code=code("figures_dataset"),
    script:
        "../../scripts/figures_dataset.py"


register_report("datasets", expand("results/closed_form/{dataset}.json", dataset=DATASETS))
register_report(
    "datasets",
    expand("results/figures/{dataset}/{kind}.png", dataset=TABULAR, kind=["solvers", "diagnostics"]),
)
