# Stage 3b: convergence studies. One job per study (TensorFlow imported once); the study's config
# entry reaches it through params.

STUDIES = config["convergence"]["studies"]


def study_spec(wildcards):
    study = STUDIES[wildcards.study]
    return {k: study[k] for k in sorted(study)}


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
