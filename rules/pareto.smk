checkpoint pareto:
    input:
        baselines="results/{protocol}/baselines/metrics.json",
        front1="results/{protocol}/students/front1.csv",
        teacher_model="results/{protocol}/teacher/model.pt",
        teacher_metrics="results/{protocol}/teacher/metrics.json",
        student_models=lambda w: student_files(w, "model.pt"),
        student_metrics=lambda w: student_files(w, "metrics.json"),
        recovered_models=lambda w: recovered_files(w, "model.pt"),
        recovered_metrics=lambda w: recovered_files(w, "metrics.json"),
    output:
        candidates="results/{protocol}/pareto/candidates.csv",
        pareto="results/{protocol}/pareto/pareto.csv",
        selected="results/{protocol}/pareto/selected.json",
        plot=report(
            "results/{protocol}/pareto/pareto.png",
            caption="../report/pareto.rst",
            category="Pareto",
            subcategory="{protocol}",
            labels={"protocol": "{protocol}", "figure": "Pareto fronts"},
        ),
    params:
        protocol=lambda w: w.protocol,
        objectives=config["pareto"]["objectives"],
        select=config["pareto"]["select"],
    log:
        "results/{protocol}/logs/pareto.log",
    conda:
        "../envs/core.yaml"
    script:
        "../scripts/pareto.py"
