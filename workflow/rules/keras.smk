# Stage 3a: Keras training. One job per dataset trains all of that dataset's runs, so TensorFlow
# is imported once per dataset; each run's config entry reaches the job through params.

KERAS_RUNS = config["keras"]["runs"]
KERAS_DATASETS = sorted({run["dataset"] for run in KERAS_RUNS.values()})
# Seed 001's landing points on the line of exact solutions (datasets of kind collinear_toy).
LANDING_DATASETS = [ds for ds in KERAS_DATASETS if config["datasets"][ds].get("kind") == "collinear_toy"]


for _ds in KERAS_DATASETS:

    rule:
        name:
            f"keras_{_ds}"
        input:
            data=f"results/data/{_ds}.parquet",
            closed_form=f"results/closed_form/{_ds}.json",
        output:
            runs=[f"results/keras/{_ds}/{run}.json" for run in keras_runs_of(_ds)],
            history=f"results/keras/{_ds}/history.parquet",
        log:
            f"results/logs/keras/{_ds}.log",
        threads: config["threads"]
        params:
            runs=keras_runs_of(_ds),
            seed=config["seed"],
            code=code("keras_train"),
        script:
            "../../scripts/keras_train.py"


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
    params:
        code=code("figures_keras"),
    script:
        "../../scripts/figures_keras.py"


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
    log:
        "results/logs/figures/landing_{dataset}.log",
    params:
        article_point=[1.15, 0.85],
        code=code("figure_landing"),
    script:
        "../../scripts/figure_landing.py"


register_report("keras", [f"results/keras/{run['dataset']}/{name}.json" for name, run in KERAS_RUNS.items()])
register_report(
    "keras",
    expand("results/figures/{dataset}/keras_{kind}.png", dataset=KERAS_DATASETS, kind=["loss", "distance"]),
)
register_report("keras", expand("results/figures/{dataset}/keras_landing.png", dataset=LANDING_DATASETS))
