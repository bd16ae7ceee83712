# Stage 2a: closed-form baselines (several least-squares solvers, logistic MLE for binary targets).


rule closed_form:
    input:
        "results/data/{dataset}.parquet",
    output:
        "results/closed_form/{dataset}.json",
    threads: config["threads"]
    log:
        "results/logs/closed_form/{dataset}.log",
    script:
        "../../scripts/closed_form.py"
