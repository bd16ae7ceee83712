# Stage 3b: convergence studies. On a cluster each study runs as one job per group of Keras configurations
# (the grid cut by the study's group_by; TensorFlow imported once per group); on a local run (pack_jobs)
# one job trains all its groups, its memo keeping the same rerun unit. Then one job for the reference
# solvers and theory, and a merge job that writes the study's table and summary. Each job gets only its own
# slice of the study's config entry through params, so a changed grid point reruns only its group and the
# merge.

STUDIES = sorted(config["convergence"]["studies"])


wildcard_constraints:
    study="|".join(STUDIES) if STUDIES else "^$",
    group="[^/]+",


if packed():
    for _study in STUDIES:
        _groups = study_groups(_study)
        _spec = config["convergence"]["studies"][_study]

        # one job per study: its groups in one process (TensorFlow imported once); the memo restores a
        # group whose configurations, inputs and code are unchanged, so a changed grid point still trains
        # only its group
        rule:
            name:
                f"convergence_groups_{_study}"
            input:
                data=f"results/data/{_spec['dataset']}.parquet",
                closed_form=f"results/closed_form/{_spec['dataset']}.json",
            output:
                curves=[f"results/convergence/{_study}/groups/{g}.parquet" for g in _groups],
                docs=[f"results/convergence/{_study}/groups/{g}.json" for g in _groups],
            log:
                f"results/logs/convergence/{_study}/groups.log",
            benchmark:
                benchmark_file("keras", f"convergence_groups_{_study}")
            conda:
                "../../envs/keras.yaml"
            threads: config["convergence"]["threads"]
            resources:
                **job_resources("keras"),
            params:
                study=_study,
                entries={g: canonical(study_grid.group_entry(_spec, g)) for g in _groups},
                seed=config["seed"],
                memo=f"{MEMO}/convergence/{_study}",
                code=code("convergence_groups"),
            script:
                "../../scripts/convergence_groups.py"

else:

    rule convergence_group:
        input:
            data=entry_path("convergence/studies", "study", "results/data/{dataset}.parquet"),
            closed_form=entry_path("convergence/studies", "study", "results/closed_form/{dataset}.json"),
        output:
            curves="results/convergence/{study}/groups/{group}.parquet",
            doc="results/convergence/{study}/groups/{group}.json",
        log:
            "results/logs/convergence/{study}/groups/{group}.log",
        benchmark:
            benchmark_file("keras", "convergence_group", "{study}/{group}")
        conda:
            "../../envs/keras.yaml"
        threads: config["convergence"]["threads"]
        resources:
            **job_resources("keras"),
        params:
            entry=study_group_entry,
            seed=config["seed"],
            code=code("convergence_group"),
        script:
            "../../scripts/convergence_group.py"


rule convergence_references:
    input:
        data=entry_path("convergence/studies", "study", "results/data/{dataset}.parquet"),
        closed_form=entry_path("convergence/studies", "study", "results/closed_form/{dataset}.json"),
    output:
        curves="results/convergence/{study}/references.parquet",
        doc="results/convergence/{study}/references.json",
    log:
        "results/logs/convergence/{study}/references.log",
    benchmark:
        benchmark_file("data", "convergence_references", "{study}")
    conda:
        "../../envs/keras.yaml"
    threads: blas_threads
    resources:
        **job_resources("data"),
    params:
        entry=study_reference_entry,
        seed=config["seed"],
        code=code("convergence_references"),
    script:
        "../../scripts/convergence_references.py"


rule convergence_merge:
    input:
        curves=study_group_files("parquet"),
        docs=study_group_files("json"),
        reference_curves="results/convergence/{study}/references.parquet",
        references="results/convergence/{study}/references.json",
    output:
        curves="results/convergence/{study}/curves.parquet",
        summary="results/convergence/{study}/summary.json",
    log:
        "results/logs/convergence/{study}/merge.log",
    benchmark:
        benchmark_file("light", "convergence_merge", "{study}")
    localrule: True
    conda:
        "../../envs/keras.yaml"
    resources:
        **job_resources("light"),
    params:
        study=entry("convergence/studies", "study"),
        code=code("convergence_merge"),
    script:
        "../../scripts/convergence_merge.py"


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
            labels={"study": "{study}", "figure": "metric by epoch"},
        ),
        by_seconds=report(
            "results/figures/convergence/{study}/metric_vs_seconds.png",
            caption="../../report/captions/convergence.rst",
            category="Convergence",
            subcategory="{study}",
            labels={"study": "{study}", "figure": "metric by wall time"},
        ),
        by_lr=report(
            "results/figures/convergence/{study}/final_vs_lr.png",
            caption="../../report/captions/convergence_lr.rst",
            category="Convergence",
            subcategory="{study}",
            labels={"study": "{study}", "figure": "final metric by learning rate"},
        ),
        tolerance=report(
            "results/figures/convergence/{study}/time_to_tolerance.png",
            caption="../../report/captions/convergence_tolerance.rst",
            category="Convergence",
            subcategory="{study}",
            labels={"study": "{study}", "figure": "time to tolerance"},
        ),
    log:
        "results/logs/figures/convergence_{study}.log",
    benchmark:
        benchmark_file("light", "figures_convergence", "{study}")
    localrule: True
    conda:
        "../../envs/report.yaml"
    resources:
        **job_resources("light"),
    params:
        code=code("figures_convergence"),
    script:
        "../../scripts/figures_convergence.py"


register_report("convergence", expand("results/convergence/{study}/summary.json", study=STUDIES))
register_report(
    "convergence",
    expand(
        "results/figures/convergence/{study}/{kind}.png",
        study=STUDIES,
        kind=["metric_vs_epoch", "metric_vs_seconds", "final_vs_lr", "time_to_tolerance"],
    ),
)
