rule summary:
    input:
        candidates="results/{protocol}/pareto/candidates.csv",
        selected="results/{protocol}/pareto/selected.json",
        seeds="results/{protocol}/pareto/seeds.csv",
        pareto="results/{protocol}/pareto/pareto.csv",
        deploy_metrics="results/{protocol}/deploy/metrics.json",
        against_baseline="results/{protocol}/report/against_baseline.json",
        sizes="results/{protocol}/deploy/size.json",
        m4_report="results/{protocol}/firmware/m4_report.json",
        info="results/{protocol}/data/dataset.json",
        peers=peer_metrics,
        ablation=ablation_results,
        benchmarks=stage_benchmarks,
    output:
        markdown="results/{protocol}/summary.md",
        table=report(
            "results/{protocol}/report/main_table.csv",
            caption="../report/main_table.rst",
            category="Metrics",
            subcategory="{protocol}",
            labels={"protocol": "{protocol}", "figure": "main table"},
        ),
        finalists=report(
            "results/{protocol}/report/finalists.csv",
            caption="../report/finalists.rst",
            category="Metrics",
            subcategory="{protocol}",
            labels={"protocol": "{protocol}", "figure": "selection"},
        ),
        firmware=report(
            "results/{protocol}/report/firmware.csv",
            caption="../report/firmware.rst",
            category="Firmware",
            subcategory="{protocol}",
            labels={"protocol": "{protocol}", "figure": "firmware figures"},
        ),
        ablation=report(
            "results/{protocol}/report/signals_ablation.csv",
            caption="../report/signals_ablation.rst",
            category="Signals ablation",
            subcategory="{protocol}",
            labels={"protocol": "{protocol}", "figure": "signals ablation"},
        ),
        against_baseline=report(
            "results/{protocol}/report/against_baseline.csv",
            caption="../report/against_baseline.rst",
            category="Metrics",
            subcategory="{protocol}",
            labels={"protocol": "{protocol}", "figure": "against the quadratic baseline"},
        ),
        times=report(
            "results/{protocol}/report/time_per_stage.csv",
            caption="../report/time_per_stage.rst",
            category="Time per stage",
            subcategory="{protocol}",
            labels={"protocol": "{protocol}", "figure": "time per stage"},
        ),
    log:
        "results/{protocol}/logs/summary.log",
    conda:
        "../envs/core.yaml"
    params:
        protocol=lambda w: w.protocol,
        kind=lambda w: protocol_config(w)["kind"],
        protocol_config=protocol_config,
        signals=lambda w: protocol_config(w)["signals"],
        min_gain=config["ablation"]["min_gain"],
        max_int8_bytes=max_int8_bytes,
    script:
        "../scripts/summary.py"


rule against_baseline:
    input:
        dataset="results/{protocol}/data/dataset.npz",
        header="results/{protocol}/deploy/dlnet_model.h",
        baselines="results/{protocol}/baselines/metrics.json",
    output:
        json="results/{protocol}/report/against_baseline.json",
    log:
        "results/{protocol}/logs/against_baseline.log",
    benchmark:
        "results/{protocol}/logs/against_baseline_benchmark.tsv"
    conda:
        "../envs/core.yaml"
    threads: 1
    params:
        seed=config["seed"],
        intervals=config["report"]["intervals"],
    script:
        "../scripts/against_baseline.py"


rule report_figures:
    input:
        dataset="results/{protocol}/data/dataset.npz",
        series="results/{protocol}/data/series.csv.gz",
        baselines="results/{protocol}/baselines/metrics.json",
        selected="results/{protocol}/pareto/selected.json",
        model=selected_model,
        teacher="results/{protocol}/teacher/model.pt",
        teacher_history="results/{protocol}/teacher/train_log.csv",
        selected_histories=selected_histories,
    output:
        predictions=report(
            "results/{protocol}/report/predictions.png",
            caption="../report/predictions.rst",
            category="Predictions",
            subcategory="{protocol}",
            labels={"protocol": "{protocol}", "figure": "predicted vs true SOH"},
        ),
        training=report(
            "results/{protocol}/report/training.png",
            caption="../report/training.rst",
            category="Training",
            subcategory="{protocol}",
            labels={"protocol": "{protocol}", "figure": "training curves"},
        ),
    log:
        "results/{protocol}/logs/report_figures.log",
    conda:
        "../envs/core.yaml"
    params:
        protocol=lambda w: w.protocol,
        cells_per_split=config["report"]["cells_per_split"],
        every=config["report"]["every"],
    script:
        "../scripts/report_figures.py"
