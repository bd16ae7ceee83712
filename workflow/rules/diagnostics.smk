# Stage 2b: multicollinearity diagnostics (rank, conditioning, VIF, BKW, null space, verdict).


rule diagnostics:
    input:
        "results/data/{dataset}.parquet",
    output:
        "results/diagnostics/{dataset}.json",
    threads: config["threads"]
    log:
        "results/logs/diagnostics/{dataset}.log",
    script:
        "../../scripts/diagnostics.py"
