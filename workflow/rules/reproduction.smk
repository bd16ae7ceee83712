# Stage 4: the reproduction table, one row per number a seed article printed.


rule reproduction:
    input:
        keras=KERAS_OUTPUTS,
        studies=CONVERGENCE_OUTPUTS,
        # only the datasets the table reads: a change elsewhere does not rerun it
        closed_form=expand(
            "results/closed_form/{dataset}.json",
            dataset=sorted(set(KERAS_DATASETS) | ({"underdetermined", "fuel"} & set(DATASETS))),
        ),
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
