# Stage 4: the reproduction table, one row per number a seed article printed. Its inputs are what the
# seed-question modules (reglab.questions) declare they read, registered by each stage with
# register_reproduction(), so a change elsewhere does not rerun it.

register_reproduction(
    "keras", [f"results/keras/{KERAS_RUNS[run]['dataset']}/{run}.json" for run in QUESTION_READS["runs"]]
)
register_reproduction(
    "studies", expand("results/convergence/{study}/summary.json", study=QUESTION_READS["studies"])
)
register_reproduction(
    "closed_form", expand("results/closed_form/{dataset}.json", dataset=QUESTION_READS["datasets"])
)
register_reproduction(
    "diagnostics",
    expand(
        "results/diagnostics/{dataset}.json", dataset=[d for d in QUESTION_READS["datasets"] if d in TABULAR]
    ),
)


rule reproduction:
    input:
        unpack(reproduction_inputs),
    output:
        report(
            "results/reproduction.csv",
            caption="../../report/captions/reproduction.rst",
            category="Reproduction",
        ),
    log:
        "results/logs/reproduction.log",
    benchmark:
        benchmark_file("light", "reproduction")
    localrule: True
    conda:
        "../../envs/numerical.yaml"
    resources:
        **job_resources("light"),
    params:
        code=code("reproduction"),
        questions=ASKED,
    script:
        "../../scripts/reproduction.py"


register_report("reproduction", ["results/reproduction.csv"])
