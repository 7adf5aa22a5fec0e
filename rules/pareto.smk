# Front 2 and the choice of the model to deploy. The pareto checkpoint tables every candidate
# (models, polynomial baselines, learned references) and names the finalists; rules/seeds.smk
# trains each finalist again with the other seeds; the select checkpoint quantizes every run and
# picks the model from their mean int8 validation MAE and the seed noise (dlnet/run/select.py).
# Where the protocol limits latency, rules/latency.smk times the candidates on the Cortex-M4
# for both.


checkpoint pareto:
    input:
        unpack(front_latency),
        baselines="results/{protocol}/baselines/metrics.json",
        learned="results/{protocol}/baselines/learned.json",
        ridge="results/{protocol}/baselines/ridge.npz",
        front1="results/{protocol}/students/front1.csv",
        teacher_model="results/{protocol}/teacher/model.pt",
        teacher_metrics="results/{protocol}/teacher/metrics.json",
        student_models=lambda w: student_files(w, "model.pt"),
        student_metrics=lambda w: student_files(w, "metrics.json"),
        recovered_models=lambda w: recovered_files(w, "model.pt"),
        recovered_metrics=lambda w: recovered_files(w, "metrics.json"),
    output:
        candidates="results/{protocol}/pareto/candidates.csv",
    log:
        "results/{protocol}/logs/pareto.log",
    benchmark:
        "results/{protocol}/logs/pareto_benchmark.tsv"
    conda:
        "../envs/core.yaml"
    params:
        name=lambda w: w.protocol,
        protocol=lambda w: {
            k: protocol_config(w)[k] for k in ("input_len", "output_len", "candidates")
        },
        objectives=config["pareto"]["objectives"],
        finalists=config["pareto"]["finalists"],
        finalist_band=config["pareto"]["finalist_band"],
        cost=config["pareto"]["select"]["cost"],
    script:
        "../scripts/pareto.py"


checkpoint select:
    input:
        unpack(choice_latency),
        candidates="results/{protocol}/pareto/candidates.csv",
        dataset="results/{protocol}/data/dataset.npz",
        info="results/{protocol}/data/dataset.json",
        ridge="results/{protocol}/baselines/ridge.npz",
        finalists=finalist_models,
        seed_metrics=lambda w: finalist_seed_files(w, "metrics.json"),
        seed_models=lambda w: finalist_seed_files(w, "model.pt"),
    output:
        selected="results/{protocol}/pareto/selected.json",
        pareto="results/{protocol}/pareto/pareto.csv",
        seeds="results/{protocol}/pareto/seeds.csv",
        plot=report(
            "results/{protocol}/pareto/pareto.png",
            caption="../report/pareto.rst",
            category="Pareto",
            subcategory="{protocol}",
            labels={"protocol": "{protocol}", "figure": "Pareto fronts"},
        ),
    log:
        "results/{protocol}/logs/select.log",
    benchmark:
        "results/{protocol}/logs/select_benchmark.tsv"
    conda:
        "../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        name=lambda w: w.protocol,
        select=config["pareto"]["select"],
        objectives=config["pareto"]["objectives"],
        runs=config["pareto"]["seeds"],
        seed=config["seed"],
        stability_draws=config["pareto"]["stability_draws"],
        quantization=QUANTIZATION,
        max_int8_bytes=max_int8_bytes,
        max_latency_ms=max_latency_ms,
        int8_tolerance=config["deploy"]["int8_tolerance"],
    script:
        "../scripts/select.py"
