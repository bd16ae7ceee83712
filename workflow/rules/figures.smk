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


def keras_run_files(wildcards):
    return [f"results/keras/{wildcards.dataset}/{run}.json" for run in keras_runs_of(wildcards.dataset)]


rule figures_keras:
    input:
        runs=keras_run_files,
        history="results/keras/{dataset}/history.parquet",
    output:
        loss=report(
            "results/figures/{dataset}/keras_loss.png",
            caption="../../report/captions/keras_loss.rst",
            category="Keras",
            subcategory="{dataset}",
        ),
        distance=report(
            "results/figures/{dataset}/keras_distance.png",
            caption="../../report/captions/keras_distance.rst",
            category="Keras",
            subcategory="{dataset}",
        ),
    log:
        "results/logs/figures/keras_{dataset}.log",
    script:
        "../../scripts/figures_keras.py"


# Seed 001's landing points on the line of exact solutions (datasets of kind collinear_toy).
LANDING_DATASETS = [
    ds for ds in KERAS_DATASETS if config["datasets"][ds].get("kind") == "collinear_toy"
]


rule figure_landing:
    input:
        runs=keras_run_files,
    output:
        report(
            "results/figures/{dataset}/keras_landing.png",
            caption="../../report/captions/keras_landing.rst",
            category="Keras",
            subcategory="{dataset}",
        ),
    params:
        article_point=[1.15, 0.85],
    log:
        "results/logs/figures/landing_{dataset}.log",
    script:
        "../../scripts/figure_landing.py"


KERAS_FIGURES = expand(
    "results/figures/{dataset}/keras_{kind}.png", dataset=KERAS_DATASETS, kind=["loss", "distance"]
) + expand("results/figures/{dataset}/keras_landing.png", dataset=LANDING_DATASETS)
