# The Cortex-M4 latency of every candidate that select may choose, for the protocols with a
# candidates.max_latency_ms (dlnet/run/latency.py): select leaves out a finalist none of whose
# seeds runs within it. The same build and QEMU measurement as rule firmware_m4
# (rules/firmware.smk), on validation windows.

# Validation windows each int8 shape runs; the one with the most instructions is traced for its
# cycles.
LATENCY_WINDOWS = 8


rule latency:
    input:
        candidates="results/{protocol}/pareto/candidates.csv",
        dataset="results/{protocol}/data/dataset.npz",
        info="results/{protocol}/data/dataset.json",
        ridge="results/{protocol}/baselines/ridge.npz",
        finalists=finalist_models,
        seed_metrics=lambda w: finalist_seed_files(w, "metrics.json"),
        seed_models=lambda w: finalist_seed_files(w, "model.pt"),
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
        protocol=lambda w: {k: protocol_config(w)[k] for k in ("input_len", "output_len")},
        windows=LATENCY_WINDOWS,
        seed=config["seed"],
        quantization=QUANTIZATION,
        firmware=FIRMWARE_M4,
    script:
        "../scripts/latency.py"
