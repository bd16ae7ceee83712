# Stage 6: seed 000's amortized regression. One job per encoder (train, then evaluate on held-out
# datasets one factor at a time), one for the untrained references, a merge, the figures.

AMORTIZED = config["amortized"]
ENCODERS = sorted(AMORTIZED["encoders"])
AMORTIZED_FIGURES = ["curves", "conditions", "permutation", "plane", "built_in"]


# (the config schema keeps encoders off the stage's own file names: summary, references, ...)
wildcard_constraints:
    encoder="|".join(ENCODERS) if ENCODERS else "^$",


# one job per encoder (train, then evaluate), one wildcard rule: a cluster submits the encoders as one job
# array; the longest start first (priority by kind: longest first packs the cores best)
rule amortized_encoder:
    input:
        data=f"results/data/{AMORTIZED['dataset']}.parquet",
    output:
        doc="results/amortized/{encoder}.json",
        evaluation="results/amortized/{encoder}/evaluation.parquet",
        history="results/amortized/{encoder}/history.parquet",
    log:
        "results/logs/amortized/{encoder}.log",
    benchmark:
        benchmark_file("keras", "amortized_encoder", "{encoder}")
    priority: encoder_priority
    conda:
        "../../envs/keras.yaml"
    threads: AMORTIZED["threads"]
    resources:
        **job_resources("keras"),
    params:
        encoder=entry("amortized/encoders", "encoder"),
        evaluation=canonical(AMORTIZED["evaluation"]),
        seed=config["seed"],
        code=code("amortized_encoder"),
    script:
        "../../scripts/amortized_encoder.py"


rule amortized_references:
    output:
        doc="results/amortized/references.json",
        evaluation="results/amortized/references/evaluation.parquet",
    log:
        "results/logs/amortized/references.log",
    benchmark:
        benchmark_file("data", "amortized_references")
    conda:
        "../../envs/numerical.yaml"
    resources:
        **job_resources("data"),
    params:
        evaluation=canonical(AMORTIZED["evaluation"]),
        seed=config["seed"],
        code=code("amortized_references"),
    script:
        "../../scripts/amortized_references.py"


rule amortized_evaluation:
    input:
        docs=expand("results/amortized/{encoder}.json", encoder=ENCODERS),
        evaluations=expand("results/amortized/{encoder}/evaluation.parquet", encoder=ENCODERS),
        histories=expand("results/amortized/{encoder}/history.parquet", encoder=ENCODERS),
        references="results/amortized/references.json",
        ref_evaluation="results/amortized/references/evaluation.parquet",
    output:
        summary="results/amortized/summary.json",
        evaluation="results/amortized/evaluation.parquet",
        history="results/amortized/history.parquet",
    log:
        "results/logs/amortized/evaluation.log",
    benchmark:
        benchmark_file("light", "amortized_evaluation")
    localrule: True
    conda:
        "../../envs/numerical.yaml"
    resources:
        **job_resources("light"),
    params:
        code=code("amortized_evaluation"),
    script:
        "../../scripts/amortized_evaluation.py"


rule figures_amortized:
    input:
        docs=expand("results/amortized/{encoder}.json", encoder=ENCODERS),
        references="results/amortized/references.json",
        evaluation="results/amortized/evaluation.parquet",
        history="results/amortized/history.parquet",
    output:
        curves=report(
            "results/figures/amortized/curves.png",
            caption="../../report/captions/amortized_curves.rst",
            category="Seed 000: amortized regression",
            subcategory="encoders",
            labels={"figure": "training curves"},
        ),
        conditions=report(
            "results/figures/amortized/conditions.png",
            caption="../../report/captions/amortized_conditions.rst",
            category="Seed 000: amortized regression",
            subcategory="encoders",
            labels={"figure": "excess loss by condition"},
        ),
        permutation=report(
            "results/figures/amortized/permutation.png",
            caption="../../report/captions/amortized_permutation.rst",
            category="Seed 000: amortized regression",
            subcategory="encoders",
            labels={"figure": "row-order invariance"},
        ),
        plane=report(
            "results/figures/amortized/plane.png",
            caption="../../report/captions/amortized_plane.rst",
            category="Seed 000: amortized regression",
            subcategory="encoders",
            labels={"figure": "predicted vs OLS coefficients"},
        ),
        built_in=report(
            "results/figures/amortized/built_in.png",
            caption="../../report/captions/amortized_built_in.rst",
            category="Seed 000: amortized regression",
            subcategory="encoders",
            labels={"figure": "how much must be built in"},
        ),
    log:
        "results/logs/figures/amortized.log",
    benchmark:
        benchmark_file("light", "figures_amortized")
    localrule: True
    conda:
        "../../envs/report.yaml"
    resources:
        **job_resources("light"),
    params:
        code=code("figures_amortized"),
    script:
        "../../scripts/figures_amortized.py"


if ENCODERS:
    register_reproduction(
        "amortized",
        expand("results/amortized/{encoder}.json", encoder=QUESTION_READS["encoders"])
        + ["results/amortized/summary.json", "results/amortized/references.json"],
    )
    register_report("amortized", expand("results/amortized/{encoder}.json", encoder=ENCODERS))
    register_report("amortized", ["results/amortized/summary.json", "results/amortized/references.json"])
    register_report("amortized", expand("results/figures/amortized/{kind}.png", kind=AMORTIZED_FIGURES))
