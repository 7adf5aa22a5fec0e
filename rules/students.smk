rule student:
    input:
        dataset="results/{protocol}/data/dataset.npz",
        info="results/{protocol}/data/dataset.json",
        teacher="results/{protocol}/teacher/model.pt",
    output:
        model="results/{protocol}/students/{student}/model.pt",
        metrics="results/{protocol}/students/{student}/metrics.json",
        history="results/{protocol}/students/{student}/train_log.csv",
    params:
        name=lambda w: w.student,
        arch=student_arch,
        seed=config["seed"],
        training=training_config,
        distill=STUDENT_TRAINING,
    log:
        "results/{protocol}/students/{student}/train.log",
    benchmark:
        "results/{protocol}/students/{student}/benchmark.tsv"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=30,
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/student.py"


checkpoint front1:
    input:
        metrics=lambda w: student_files(w, "metrics.json"),
        models=lambda w: student_files(w, "model.pt"),
    output:
        front="results/{protocol}/students/front1.csv",
    params:
        objectives=config["pareto"]["objectives"],
        front1_ranks=config["pareto"]["front1_ranks"],
    log:
        "results/{protocol}/logs/front1.log",
    benchmark:
        "results/{protocol}/logs/front1_benchmark.tsv"
    conda:
        "../envs/core.yaml"
    script:
        "../scripts/front1.py"
