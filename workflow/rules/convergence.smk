# Stage 3b: convergence studies. One job per study (TensorFlow imported once); the study's config
# entry reaches it through params.

STUDIES = config["convergence"]["studies"]


def study_spec(wildcards):
    return canonical(STUDIES[wildcards.study])


def study_dataset(wildcards):
    return STUDIES[wildcards.study]["dataset"]


rule convergence:
    input:
        data=lambda wc: f"results/data/{study_dataset(wc)}.parquet",
        closed_form=lambda wc: f"results/closed_form/{study_dataset(wc)}.json",
    output:
        curves="results/convergence/{study}/curves.parquet",
        summary="results/convergence/{study}/summary.json",
    params:
        study=study_spec,
        seed=config["seed"],
    threads: config["threads"]
    wildcard_constraints:
        study="|".join(STUDIES) if STUDIES else "^$",
    log:
        "results/logs/convergence/{study}.log",
    script:
        "../../scripts/convergence.py"


CONVERGENCE_OUTPUTS = expand("results/convergence/{study}/summary.json", study=sorted(STUDIES))


rule figures_convergence:
    input:
        curves="results/convergence/{study}/curves.parquet",
        summary="results/convergence/{study}/summary.json",
    output:
        by_epoch=report(
            "results/figures/convergence/{study}/metric_vs_epoch.png",
            caption="../../report/captions/convergence.rst",
            category="Convergence",
            subcategory="{study}",
        ),
        by_seconds=report(
            "results/figures/convergence/{study}/metric_vs_seconds.png",
            caption="../../report/captions/convergence.rst",
            category="Convergence",
            subcategory="{study}",
        ),
        by_lr=report(
            "results/figures/convergence/{study}/final_vs_lr.png",
            caption="../../report/captions/convergence_lr.rst",
            category="Convergence",
            subcategory="{study}",
        ),
        tolerance=report(
            "results/figures/convergence/{study}/time_to_tolerance.png",
            caption="../../report/captions/convergence_tolerance.rst",
            category="Convergence",
            subcategory="{study}",
        ),
    wildcard_constraints:
        study="|".join(STUDIES) if STUDIES else "^$",
    log:
        "results/logs/figures/convergence_{study}.log",
    script:
        "../../scripts/figures_convergence.py"


CONVERGENCE_FIGURES = expand(
    "results/figures/convergence/{study}/{kind}.png",
    study=sorted(STUDIES),
    kind=["metric_vs_epoch", "metric_vs_seconds", "final_vs_lr", "time_to_tolerance"],
)
