rule baselines:
    input:
        dataset="results/{protocol}/data/dataset.npz",
    output:
        metrics="results/{protocol}/baselines/metrics.json",
    log:
        "results/{protocol}/logs/baselines.log",
    benchmark:
        "results/{protocol}/logs/baselines_benchmark.tsv"
    conda:
        "../envs/core.yaml"
    threads: 1
    params:
        fit_lengths=config["baselines"]["fit_lengths"],
    script:
        "../scripts/baselines.py"


rule learned_baselines:
    input:
        dataset="results/{protocol}/data/dataset.npz",
        info="results/{protocol}/data/dataset.json",
    output:
        metrics="results/{protocol}/baselines/learned.json",
        ridge="results/{protocol}/baselines/ridge.npz",
    log:
        "results/{protocol}/logs/learned_baselines.log",
    benchmark:
        "results/{protocol}/logs/learned_baselines_benchmark.tsv"
    conda:
        "../envs/core.yaml"
    threads: 1
    params:
        learned=config["baselines"]["learned"],
    script:
        "../scripts/learned_baselines.py"
