# Stage 4: the reproduction table, one row per number a seed article printed.


rule reproduction:
    input:
        keras=KERAS_OUTPUTS,
        closed_form=expand("results/closed_form/{dataset}.json", dataset=DATASETS),
    output:
        report(
            "results/reproduction.csv",
            caption="../../report/captions/reproduction.rst",
            category="Reproduction",
        ),
    log:
        "results/logs/reproduction.log",
    script:
        "../../scripts/reproduction.py"
