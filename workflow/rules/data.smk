# Stage 1: datasets. Every dataset becomes one Parquet artifact with its provenance.


rule fetch_fuel:
    output:
        FUEL_FILE,
    params:
        url=fuel_url,
    log:
        "results/logs/fetch_fuel.log",
    script:
        "../../scripts/fetch_fuel.py"


rule dataset:
    input:
        dataset_source,
    output:
        "results/data/{dataset}.parquet",
    params:
        spec=dataset_spec,
        seed=config["seed"],
        code=code("make_dataset"),
    log:
        "results/logs/dataset/{dataset}.log",
    script:
        "../../scripts/make_dataset.py"
