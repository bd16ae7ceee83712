# Stage 3b: convergence studies. One job per study (TensorFlow imported once); the study's config
# entry reaches it through params.

STUDIES = sorted(config["convergence"]["studies"])


wildcard_constraints:
    study="|".join(STUDIES) if STUDIES else "^$",


rule convergence:
    input:
        data=entry_path("convergence/studies", "study", "results/data/{dataset}.parquet"),
        closed_form=entry_path("convergence/studies", "study", "results/closed_form/{dataset}.json"),
    output:
        curves="results/convergence/{study}/curves.parquet",
        summary="results/convergence/{study}/summary.json",
    log:
        "results/logs/convergence/{study}.log",
    threads: config["threads"]
    params:
        study=entry("convergence/studies", "study"),
        seed=config["seed"],
        code=code("convergence"),
    script:
        "../../scripts/convergence.py"


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
    log:
        "results/logs/figures/convergence_{study}.log",
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
