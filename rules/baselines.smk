rule baselines:
    input:
        dataset="results/{protocol}/data/dataset.npz",
    output:
        metrics="results/{protocol}/baselines/metrics.json",
    params:
        fit_lengths=config["baselines"]["fit_lengths"],
    log:
        "results/{protocol}/logs/baselines.log",
    threads: 1
    conda:
        "../envs/core.yaml"
    script:
        "../scripts/baselines.py"
