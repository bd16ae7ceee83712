# Stage 3: Keras training. One job per dataset trains all of that dataset's runs, so TensorFlow
# is imported once per dataset; each run's config entry reaches the job through params.

KERAS_RUNS = config["keras"]["runs"]
KERAS_DATASETS = sorted({run["dataset"] for run in KERAS_RUNS.values()})


def keras_runs_of(dataset):
    """This dataset's runs (canonical key order)."""
    return canonical({name: run for name, run in KERAS_RUNS.items() if run["dataset"] == dataset})


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
        params:
            runs=keras_runs_of(_ds),
            seed=config["seed"],
        threads: config["threads"]
        log:
            f"results/logs/keras/{_ds}.log",
        script:
            "../../scripts/keras_train.py"


KERAS_OUTPUTS = [f"results/keras/{run['dataset']}/{name}.json" for name, run in sorted(KERAS_RUNS.items())]
KERAS_HISTORIES = [f"results/keras/{ds}/history.parquet" for ds in KERAS_DATASETS]
