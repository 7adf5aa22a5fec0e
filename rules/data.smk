rule prepare_data:
    input:
        dataset_files,
    output:
        dataset="results/{protocol}/data/dataset.npz",
        info="results/{protocol}/data/dataset.json",
        series="results/{protocol}/data/series.csv.gz",
        dropped="results/{protocol}/data/dropped.csv",
    log:
        "results/{protocol}/logs/prepare_data.log",
    benchmark:
        "results/{protocol}/logs/prepare_data_benchmark.tsv"
    conda:
        "../envs/core.yaml"
    threads: 1
    params:
        name=lambda w: w.protocol,
        protocol=data_config,
        dataset=dataset_config,
        cleaning=cleaning_config,
        fit_lengths=trend_fit_lengths,
    script:
        "../scripts/prepare_data.py"


rule download_matr:
    output:
        "data/raw/matr/{filename}.mat",
    log:
        "data/raw/matr/{filename}.download.log",
    conda:
        "../envs/core.yaml"
    resources:
        runtime=240,
    params:
        batch=lambda w: matr_batch(w.filename),
    script:
        "../scripts/download_matr.py"
