# int8 deployment: the Pareto-selected model as a full-integer C header (rule quantize), and the
# portable C core checked bit for bit against the NumPy reference under sanitizers (verify_native).

from dlnet.firmware import core_files


rule quantize:
    input:
        selected="results/{protocol}/pareto/selected.json",
        model=selected_model,
        dataset="results/{protocol}/data/dataset.npz",
        info="results/{protocol}/data/dataset.json",
    output:
        header="results/{protocol}/deploy/dlnet_model.h",
        metrics="results/{protocol}/deploy/int8_metrics.json",
        size="results/{protocol}/deploy/int8_size.json",
    log:
        "results/{protocol}/logs/quantize.log",
    benchmark:
        "results/{protocol}/logs/quantize_benchmark.tsv"
    conda:
        "../envs/deploy.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        seed=config["seed"],
        quantization=QUANTIZATION,
        int8_tolerance=config["deploy"]["int8_tolerance"],
    script:
        "../scripts/quantize.py"


rule verify_native:
    input:
        header="results/{protocol}/deploy/dlnet_model.h",
        dataset="results/{protocol}/data/dataset.npz",
        core=core_files.rule_inputs(),
        host="firmware/host/dlnet_host.c",
    output:
        verify="results/{protocol}/deploy/verify.json",
    log:
        "results/{protocol}/logs/verify_native.log",
    benchmark:
        "results/{protocol}/logs/verify_native_benchmark.tsv"
    conda:
        "../envs/deploy.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        seed=config["seed"],
        verify=config["deploy"]["verify"],
    script:
        "../scripts/verify_native.py"


rule deploy_summary:
    input:
        unpack(network_exports),
        int8_metrics="results/{protocol}/deploy/int8_metrics.json",
        int8_size="results/{protocol}/deploy/int8_size.json",
        header="results/{protocol}/deploy/dlnet_model.h",
        verify="results/{protocol}/deploy/verify.json",
    output:
        metrics="results/{protocol}/deploy/metrics.json",
        sizes="results/{protocol}/deploy/size.json",
    log:
        "results/{protocol}/logs/deploy_summary.log",
    conda:
        "../envs/core.yaml"
    script:
        "../scripts/deploy_summary.py"
