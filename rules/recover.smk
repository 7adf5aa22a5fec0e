rule recover:
    input:
        dataset="results/{protocol}/data/dataset.npz",
        info="results/{protocol}/data/dataset.json",
        teacher="results/{protocol}/teacher/model.pt",
        model="results/{protocol}/pruned/{student}_p{ratio}/model.pt",
        metrics="results/{protocol}/pruned/{student}_p{ratio}/metrics.json",
    output:
        model="results/{protocol}/recovered/{student}_p{ratio}/model.pt",
        metrics="results/{protocol}/recovered/{student}_p{ratio}/metrics.json",
        history="results/{protocol}/recovered/{student}_p{ratio}/train_log.csv",
    params:
        epochs=config["pruning"]["recovery_epochs"],
        seed=config["seed"],
        training=config["training"],
        distill=STUDENT_TRAINING,
    log:
        "results/{protocol}/recovered/{student}_p{ratio}/train.log",
    benchmark:
        "results/{protocol}/recovered/{student}_p{ratio}/benchmark.tsv"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=30,
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/recover.py"
