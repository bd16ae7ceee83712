# Stage 7: seed 001's large design, streamed. A dataset of kind large is written shard by shard; each
# shard's least-squares statistic is one job (a cluster job under --executor slurm); one merge job (a
# checkpoint) combines them and says whether digits are at risk; only then a second scatter of one
# refinement (TSQR) job per shard runs; one solve job answers. Keras Adam streams the same files (from the
# moment they exist), and a light job scores it against the solve.

SCALE = config["scale"]


wildcard_constraints:
    stream="|".join(STREAMING) if STREAMING else "^$",
    shard=r"\d{3}",


# One wildcard rule per scatter step (one job per shard; a cluster submits a rule's shards as one job
# array): write a shard of a dataset of kind large, its least-squares statistic, its refinement.
rule large_shard:
    output:
        "results/large/{stream}/part-{shard}.parquet",
    log:
        "results/logs/large/{stream}_{shard}.log",
    benchmark:
        benchmark_file("stream", "large_shard", "{stream}/{shard}")
    priority: SCALE_PRIORITY
    conda:
        "../../envs/numerical.yaml"
    resources:
        **job_resources("stream"),
    params:
        spec=entry("datasets", "stream"),
        shard=shard_index,
        seed=config["seed"],
        code=code("large_shard"),
    script:
        "../../scripts/large_shard.py"


rule scale_shard:
    input:
        data=stream_inputs,
    output:
        "results/scale/{stream}/stat-{shard}.json",
    log:
        "results/logs/scale/{stream}_{shard}.log",
    benchmark:
        benchmark_file("stream", "scale_shard", "{stream}/{shard}")
    priority: SCALE_PRIORITY
    conda:
        "../../envs/numerical.yaml"
    resources:
        **job_resources("stream"),
    params:
        spec=entry("datasets", "stream"),
        shard=shard_index,
        code=code("scale_shard"),
    script:
        "../../scripts/scale_shard.py"


rule scale_refine:
    input:
        merged="results/scale/{stream}/merged.json",
        data=stream_inputs,
    output:
        "results/scale/{stream}/refine-{shard}.json",
    log:
        "results/logs/scale/{stream}_refine_{shard}.log",
    benchmark:
        benchmark_file("stream", "scale_refine", "{stream}/{shard}")
    conda:
        "../../envs/numerical.yaml"
    resources:
        **job_resources("stream"),
    params:
        spec=entry("datasets", "stream"),
        shard=shard_index,
        code=code("scale_refine"),
    script:
        "../../scripts/scale_refine.py"


for _ds in STREAMING:
    _spec = canonical(config["datasets"][_ds])
    _shards = int(_spec.get("shards") or 1)

    # a checkpoint: the solve's inputs depend on what the merge says (second scatter or not)
    checkpoint:
        name:
            f"scale_merge_{_ds}"
        input:
            stats=[f"results/scale/{_ds}/stat-{_i:03d}.json" for _i in range(_shards)],
        output:
            f"results/scale/{_ds}/merged.json",
        log:
            f"results/logs/scale/{_ds}_merge.log",
        benchmark:
            benchmark_file("light", f"scale_merge_{_ds}")
        localrule: True
        conda:
            "../../envs/numerical.yaml"
        resources:
            **job_resources("light"),
        params:
            code=code("scale_merge"),
        script:
            "../../scripts/scale_merge.py"

    rule:
        name:
            f"scale_solve_{_ds}"
        input:
            merged=f"results/scale/{_ds}/merged.json",
            stats=[f"results/scale/{_ds}/stat-{_i:03d}.json" for _i in range(_shards)],
            refines=scale_refinements(_ds, _shards),
            data=streaming_inputs(_ds),
        output:
            f"results/scale/{_ds}.json",
        log:
            f"results/logs/scale/{_ds}_solve.log",
        benchmark:
            benchmark_file("stream", f"scale_solve_{_ds}")
        conda:
            "../../envs/numerical.yaml"
        threads: config["threads"]
        resources:
            **job_resources("stream"),
        params:
            spec=_spec,
            name=_ds,
            code=code("scale_solve"),
        script:
            "../../scripts/scale_solve.py"

    # Adam needs only the files: it starts as soon as they are written (priority: its ~25 s on one core
    # overlap the rest of the run instead of ending it alone, after the two-thread solve, which waits for
    # two free cores); scale_adam_score sets it beside the solve's answer.
    rule:
        name:
            f"scale_adam_{_ds}"
        input:
            data=streaming_inputs(_ds),
        output:
            f"results/scale/{_ds}_adam_runs.json",
        log:
            f"results/logs/scale/{_ds}_adam.log",
        benchmark:
            benchmark_file("keras", f"scale_adam_{_ds}")
        priority: SCALE_PRIORITY
        conda:
            "../../envs/keras.yaml"
        threads: config["keras"]["threads"]  # a small model: one thread is faster, and the same bits
        resources:
            **job_resources("keras"),
        params:
            spec=_spec,
            name=_ds,
            runs=canonical(SCALE["adam"]),
            seed=config["seed"],
            code=code("scale_adam"),
        script:
            "../../scripts/scale_adam.py"


rule scale_adam_score:
    input:
        runs="results/scale/{stream}_adam_runs.json",
        ols="results/scale/{stream}.json",
    output:
        "results/scale/{stream}_adam.json",
    log:
        "results/logs/scale/{stream}_adam_score.log",
    benchmark:
        benchmark_file("light", "scale_adam_score", "{stream}")
    localrule: True
    conda:
        "../../envs/numerical.yaml"
    resources:
        **job_resources("light"),
    params:
        code=code("scale_adam_score"),
    script:
        "../../scripts/scale_adam_score.py"


register_report("scale", expand("results/scale/{dataset}.json", dataset=STREAMING))
register_report("scale", expand("results/scale/{dataset}_adam.json", dataset=STREAMING))
register_reproduction("scale", expand("results/scale/{dataset}.json", dataset=QUESTION_READS["scale"]))
register_reproduction("scale", expand("results/scale/{dataset}_adam.json", dataset=QUESTION_READS["scale"]))
