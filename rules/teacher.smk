rule teacher:
    input:
        dataset="results/{protocol}/data/dataset.npz",
        info="results/{protocol}/data/dataset.json",
    output:
        model="results/{protocol}/teacher/model.pt",
        metrics="results/{protocol}/teacher/metrics.json",
        history="results/{protocol}/teacher/train_log.csv",
    log:
        "results/{protocol}/teacher/train.log",
    benchmark:
        "results/{protocol}/teacher/benchmark.tsv"
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        seed=config["seed"],
        training=training_config,
        teacher=config["teacher"],
    script:
        "../scripts/teacher.py"
