rule teacher:
    input:
        dataset="results/{protocol}/data/dataset.npz",
        info="results/{protocol}/data/dataset.json",
    output:
        model="results/{protocol}/teacher/model.pt",
        metrics="results/{protocol}/teacher/metrics.json",
        history="results/{protocol}/teacher/train_log.csv",
    params:
        seed=config["seed"],
        training=training_config,
        teacher=config["teacher"],
    log:
        "results/{protocol}/teacher/train.log",
    benchmark:
        "results/{protocol}/teacher/benchmark.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/teacher.py"
