# Stage 2b: multicollinearity diagnostics (rank, conditioning, VIF, BKW, null space, verdict).


rule diagnostics:
    input:
        "results/data/{dataset}.parquet",
    output:
        "results/diagnostics/{dataset}.json",
    params:
        code=code("diagnostics"),
    threads: config["threads"]
    log:
        "results/logs/diagnostics/{dataset}.log",
    script:
        "../../scripts/diagnostics.py"


register_report("datasets", expand("results/diagnostics/{dataset}.json", dataset=TABULAR))
