# Stage 1: datasets. Every dataset becomes one Parquet artifact with its provenance.


rule fetch_fuel:
    output:
        FUEL_DOWNLOAD,
    log:
        "results/logs/fetch_fuel.log",
    localrule: True  # needs the network, which compute nodes often lack
    conda:
        "../../envs/numerical.yaml"
    params:
        url=fuel_url,
    script:
        "../../scripts/fetch_fuel.py"


rule dataset:
    input:
        dataset_source,
    output:
        "results/data/{dataset}.parquet",
    log:
        "results/logs/dataset/{dataset}.log",
    benchmark:
        benchmark_file("data", "dataset", "{dataset}")
    priority: dataset_priority
    conda:
        "../../envs/numerical.yaml"
    resources:
        **job_resources("data"),
    params:
        spec=dataset_spec,
        seed=config["seed"],
        code=code("make_dataset"),
    script:
        "../../scripts/make_dataset.py"
