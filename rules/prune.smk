rule prune:
    input:
        dataset="results/{protocol}/data/dataset.npz",
        info="results/{protocol}/data/dataset.json",
        model="results/{protocol}/students/{student}/model.pt",
        metrics="results/{protocol}/students/{student}/metrics.json",
    output:
        model="results/{protocol}/pruned/{student}_p{ratio}/model.pt",
        metrics="results/{protocol}/pruned/{student}_p{ratio}/metrics.json",
    params:
        student=lambda w: w.student,
        ratio=lambda w: float(w.ratio),
        keep_first_last=config["pruning"]["keep_first_last"],
        seed=config["seed"],
    log:
        "results/{protocol}/pruned/{student}_p{ratio}/prune.log",
    threads: 1
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/prune.py"
