# One job per student prunes it at every ratio and distills each pruned model again from the
# teacher (stage 2): pruning takes milliseconds and each recovery about two seconds, where a job's
# start-up (Python, PyTorch, the data, the teacher) takes four.
rule prune_recover:
    input:
        dataset="results/{protocol}/data/dataset.npz",
        info="results/{protocol}/data/dataset.json",
        teacher="results/{protocol}/teacher/model.pt",
        students=["results/{protocol}/students/{student}/model.pt"],
        student_metrics=["results/{protocol}/students/{student}/metrics.json"],
    output:
        pruned=expand("results/{{protocol}}/pruned/{{student}}_p{ratio}/model.pt", ratio=RATIOS),
        pruned_metrics=expand(
            "results/{{protocol}}/pruned/{{student}}_p{ratio}/metrics.json", ratio=RATIOS
        ),
        models=expand("results/{{protocol}}/recovered/{{student}}_p{ratio}/model.pt", ratio=RATIOS),
        metrics=expand(
            "results/{{protocol}}/recovered/{{student}}_p{ratio}/metrics.json", ratio=RATIOS
        ),
        histories=expand(
            "results/{{protocol}}/recovered/{{student}}_p{ratio}/train_log.csv", ratio=RATIOS
        ),
    log:
        "results/{protocol}/logs/prune_recover_{student}.log",
    benchmark:
        "results/{protocol}/logs/prune_recover_{student}_benchmark.tsv"
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=30,
    params:
        student=lambda w: w.student,
        ratios=[float(r) for r in RATIOS],
        keep_first_last=config["pruning"]["keep_first_last"],
        epochs=config["pruning"]["recovery_epochs"],
        seeds=[config["seed"]],
        training=training_config,
        distill=STUDENT_DISTILLATION,
    script:
        "../scripts/prune_recover.py"
