rule student:
    input:
        dataset="results/{protocol}/data/dataset.npz",
        info="results/{protocol}/data/dataset.json",
        teacher="results/{protocol}/teacher/model.pt",
    output:
        models=["results/{protocol}/students/{student}/model.pt"],
        metrics=["results/{protocol}/students/{student}/metrics.json"],
        histories=["results/{protocol}/students/{student}/train_log.csv"],
    log:
        "results/{protocol}/students/{student}/train.log",
    benchmark:
        "results/{protocol}/students/{student}/benchmark.tsv"
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=30,
    params:
        name=lambda w: w.student,
        arch=student_arch,
        seeds=[config["seed"]],
        training=training_config,
        shape=STUDENT_SHAPE,
        distill=STUDENT_DISTILLATION,
    script:
        "../scripts/student.py"


checkpoint front1:
    input:
        metrics=lambda w: student_files(w, "metrics.json"),
        models=lambda w: student_files(w, "model.pt"),
    output:
        front="results/{protocol}/students/front1.csv",
    log:
        "results/{protocol}/logs/front1.log",
    benchmark:
        "results/{protocol}/logs/front1_benchmark.tsv"
    conda:
        "../envs/core.yaml"
    params:
        objectives=config["pareto"]["objectives"],
        front1_ranks=config["pareto"]["front1_ranks"],
    script:
        "../scripts/front1.py"
