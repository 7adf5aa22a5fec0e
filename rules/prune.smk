# One job prunes one student at every ratio: pruning takes milliseconds, a job's start-up seconds.
rule prune:
    input:
        dataset="results/{protocol}/data/dataset.npz",
        info="results/{protocol}/data/dataset.json",
        model="results/{protocol}/students/{student}/model.pt",
        metrics="results/{protocol}/students/{student}/metrics.json",
    output:
        models=expand("results/{{protocol}}/pruned/{{student}}_p{ratio}/model.pt", ratio=RATIOS),
        metrics=expand("results/{{protocol}}/pruned/{{student}}_p{ratio}/metrics.json", ratio=RATIOS),
    params:
        student=lambda w: w.student,
        ratios=[float(r) for r in RATIOS],
        keep_first_last=config["pruning"]["keep_first_last"],
        seed=config["seed"],
    log:
        "results/{protocol}/logs/prune_{student}.log",
    threads: 1
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/prune.py"
