# The Cortex-M4 latency of what a protocol with a candidates.max_latency_ms could deploy, timed in
# QEMU on validation windows as rule firmware_m4 times the deployed model (rules/firmware.smk):
# rule latency times the main tree's networks and baselines within the byte limit, so that the
# pareto checkpoint leaves the slower ones out of the front and the finalists; latency_seeds
# times the finalists' other seeds, so that select deploys only a seed within the limit.

# Validation windows each int8 shape runs; the one with the most instructions is traced for its
# cycles.
LATENCY_WINDOWS = 8
# The build and QEMU settings of firmware_m4 that a timing depends on.
LATENCY_FIRMWARE = {k: FIRMWARE[k] for k in ("optimize", "qemu_timeout")}


rule latency:
    input:
        dataset="results/{protocol}/data/dataset.npz",
        info="results/{protocol}/data/dataset.json",
        baselines="results/{protocol}/baselines/metrics.json",
        learned="results/{protocol}/baselines/learned.json",
        ridge="results/{protocol}/baselines/ridge.npz",
        teacher_model="results/{protocol}/teacher/model.pt",
        teacher_metrics="results/{protocol}/teacher/metrics.json",
        student_models=lambda w: student_files(w, "model.pt"),
        student_metrics=lambda w: student_files(w, "metrics.json"),
        recovered_models=lambda w: recovered_files(w, "model.pt"),
        recovered_metrics=lambda w: recovered_files(w, "metrics.json"),
        core=core_files.rule_inputs(),
        m4=["firmware/m4/main.c", "firmware/m4/startup.c", "firmware/m4/nrf52840.ld"],
    output:
        latency="results/{protocol}/pareto/latency.csv",
    log:
        "results/{protocol}/logs/latency.log",
    benchmark:
        "results/{protocol}/logs/latency_benchmark.tsv"
    conda:
        "../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        protocol=latency_protocol,
        windows=LATENCY_WINDOWS,
        seed=config["seed"],
        quantization=QUANTIZATION,
        firmware=LATENCY_FIRMWARE,
    script:
        "../scripts/latency.py"


rule latency_seeds:
    input:
        dataset="results/{protocol}/data/dataset.npz",
        info="results/{protocol}/data/dataset.json",
        seed_metrics=lambda w: finalist_seed_files(w, "metrics.json"),
        seed_models=lambda w: finalist_seed_files(w, "model.pt"),
        core=core_files.rule_inputs(),
        m4=["firmware/m4/main.c", "firmware/m4/startup.c", "firmware/m4/nrf52840.ld"],
    output:
        latency="results/{protocol}/pareto/latency_seeds.csv",
    log:
        "results/{protocol}/logs/latency_seeds.log",
    benchmark:
        "results/{protocol}/logs/latency_seeds_benchmark.tsv"
    conda:
        "../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        windows=LATENCY_WINDOWS,
        quantization=QUANTIZATION,
        firmware=LATENCY_FIRMWARE,
    script:
        "../scripts/latency_seeds.py"
