# Stage 5: one self-contained HTML report, built from artifacts only (seconds, no retraining). Its inputs
# are what the stages registered with register_report(); each group feeds the section of that name.


rule report:
    input:
        unpack(report_inputs),
        template=here("report", "templates", "report.html.j2"),
        css=here("report", "templates", "report.css"),
        fragments=report_fragments(),
    output:
        report(
            "results/report.html",
            caption="../../report/captions/reglab_report.rst",
            category="reglab report",
            labels={"document": "reglab's own report (the main one)"},
        ),
    log:
        "results/logs/report.log",
    benchmark:
        benchmark_file("light", "report")
    localrule: True
    conda:
        "../../envs/report.yaml"
    resources:
        **job_resources("light"),
    params:
        title=config["report"]["title"],
        datasets=DATASETS,
        threads=config["threads"],
        config_digest=provenance.digest(config),
        benchmarks="results/benchmarks",
        logs="results/logs",
        job_sizes=JOB_SIZES,
        code=code("report"),
        questions=ASKED,
    script:
        "../../scripts/report.py"
