# Stage 2b: multicollinearity diagnostics (rank, conditioning, VIF, BKW, null space, verdict).


rule diagnostics:
    input:
        "results/data/{dataset}.parquet",
    output:
        "results/diagnostics/{dataset}.json",
    log:
        "results/logs/diagnostics/{dataset}.log",
    benchmark:
        benchmark_file("data", "diagnostics", "{dataset}")
    conda:
        "../../envs/numerical.yaml"
    threads: blas_threads
    resources:
        **job_resources("data"),
    params:
        code=code("diagnostics"),
    script:
        "../../scripts/diagnostics.py"


register_report("datasets", expand("results/diagnostics/{dataset}.json", dataset=TABULAR))
