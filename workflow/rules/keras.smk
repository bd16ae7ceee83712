# Stage 3a: Keras training. On a cluster one job per run (all its repeats), so adding or changing a run
# reruns only that run's job; its config entry reaches it through params. On a local run (pack_jobs) one
# job per dataset trains its runs in one process and its memo keeps the same rerun unit. A dataset's runs'
# histories go into one table: written by the packed job itself, or on a cluster by one merge job per
# dataset (one job fewer on a one-run change: its chain to the report is a second shorter).

KERAS_RUNS = config["keras"]["runs"]
KERAS_DATASETS = sorted({run["dataset"] for run in KERAS_RUNS.values()})
# Seed 001's landing points on the line of exact solutions (datasets of kind collinear_toy).
LANDING_DATASETS = [ds for ds in KERAS_DATASETS if config["datasets"][ds].get("kind") == "collinear_toy"]


wildcard_constraints:
    run="|".join(KERAS_RUNS) if KERAS_RUNS else "^$",


if packed():
    for _dataset in KERAS_DATASETS:
        _runs = keras_runs_of(_dataset)

        # one job per dataset: its runs in one process (TensorFlow imported once); the memo restores a
        # run whose entry, inputs and code are unchanged, so a changed run still trains only that run
        rule:
            name:
                f"keras_runs_{_dataset}"
            input:
                data=f"results/data/{_dataset}.parquet",
                closed_form=f"results/closed_form/{_dataset}.json",
            output:
                docs=[f"results/keras/{_dataset}/{r}.json" for r in _runs],
                histories=[f"results/keras/{_dataset}/history/{r}.parquet" for r in _runs],
                history=f"results/keras/{_dataset}/history.parquet",  # the merge, here: no job of its own
            log:
                f"results/logs/keras/{_dataset}/runs.log",
            benchmark:
                benchmark_file("keras", f"keras_runs_{_dataset}")
            conda:
                "../../envs/keras.yaml"
            threads: config["keras"]["threads"]
            resources:
                **job_resources("keras"),
            params:
                runs=_runs,
                seed=config["seed"],
                memo=f"{MEMO}/keras/{_dataset}",
                code=code("keras_runs"),
            script:
                "../../scripts/keras_runs.py"

else:

    rule keras_run:
        input:
            data=entry_path("keras/runs", "run", "results/data/{dataset}.parquet"),
            closed_form=entry_path("keras/runs", "run", "results/closed_form/{dataset}.json"),
        output:
            doc="results/keras/{dataset}/{run}.json",
            history="results/keras/{dataset}/history/{run}.parquet",
        log:
            "results/logs/keras/{dataset}/runs/{run}.log",
        benchmark:
            benchmark_file("keras", "keras_run", "{dataset}/{run}")
        conda:
            "../../envs/keras.yaml"
        threads: config["keras"]["threads"]
        resources:
            **job_resources("keras"),
        params:
            run=entry("keras/runs", "run"),
            seed=config["seed"],
            code=code("keras_run"),
        script:
            "../../scripts/keras_run.py"

    rule keras_history:
        input:
            histories=keras_history_files,
        output:
            "results/keras/{dataset}/history.parquet",
        log:
            "results/logs/keras/{dataset}/history.log",
        benchmark:
            benchmark_file("light", "keras_history", "{dataset}")
        localrule: True
        conda:
            "../../envs/keras.yaml"
        resources:
            **job_resources("light"),
        params:
            code=code("keras_history"),
        script:
            "../../scripts/keras_history.py"


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
            labels={"dataset": "{dataset}", "figure": "training loss"},
        ),
        distance=report(
            "results/figures/{dataset}/keras_distance.png",
            caption="../../report/captions/keras_distance.rst",
            category="Keras",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "figure": "distance to the closed form"},
        ),
    log:
        "results/logs/figures/keras_{dataset}.log",
    benchmark:
        benchmark_file("light", "figures_keras", "{dataset}")
    localrule: True
    conda:
        "../../envs/report.yaml"
    resources:
        **job_resources("light"),
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
            labels={"dataset": "{dataset}", "figure": "landing points of repeated fits"},
        ),
    log:
        "results/logs/figures/landing_{dataset}.log",
    benchmark:
        benchmark_file("light", "figure_landing", "{dataset}")
    localrule: True
    conda:
        "../../envs/report.yaml"
    resources:
        **job_resources("light"),
    params:
        article_point=[1.15, 0.85],
        seed=config["seed"],
        code=code("figure_landing"),
    script:
        "../../scripts/figure_landing.py"


register_report("keras", [f"results/keras/{run['dataset']}/{name}.json" for name, run in KERAS_RUNS.items()])
register_report(
    "keras",
    expand("results/figures/{dataset}/keras_{kind}.png", dataset=KERAS_DATASETS, kind=["loss", "distance"]),
)
register_report("keras", expand("results/figures/{dataset}/keras_landing.png", dataset=LANDING_DATASETS))
