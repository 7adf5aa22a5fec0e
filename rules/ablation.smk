rule signals_ablation:
    input:
        dataset="results/{protocol}/data/dataset.npz",
        info="results/{protocol}/data/dataset.json",
        series="results/{protocol}/data/series.csv.gz",
    output:
        result="results/{protocol}/ablation/{group}.json",
    log:
        "results/{protocol}/ablation/{group}.log",
    benchmark:
        "results/{protocol}/ablation/{group}_benchmark.tsv"
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=30,
    params:
        group=lambda w: w.group,
        signals=ablation_signals,
        tried=config["ablation"]["signals"],
        model=config["ablation"]["model"],
        arch=lambda w: STUDENTS[config["ablation"]["model"]],
        seeds=run_seeds(config["seed"], config["ablation"]["seeds"]),
        training=training_config,
        shape=STUDENT_SHAPE,
    script:
        "../scripts/signals_ablation.py"
