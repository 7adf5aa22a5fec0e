rule prepare_data:
    input:
        dataset_files,
    output:
        dataset="results/{protocol}/data/dataset.npz",
        info="results/{protocol}/data/dataset.json",
        series="results/{protocol}/data/series.csv.gz",
        dropped="results/{protocol}/data/dropped.csv",
    params:
        name=lambda w: w.protocol,
        protocol=protocol_config,
        dataset=dataset_config,
        cleaning=cleaning_config,
        fit_lengths=trend_fit_lengths,
    log:
        "results/{protocol}/logs/prepare_data.log",
    benchmark:
        "results/{protocol}/logs/prepare_data_benchmark.tsv"
    threads: 1
    conda:
        "../envs/core.yaml"
    script:
        "../scripts/prepare_data.py"


rule download_matr:
    output:
        "data/raw/matr/{filename}.mat",
    params:
        batch=lambda w: matr_batch(w.filename),
    log:
        "data/raw/matr/{filename}.download.log",
    resources:
        runtime=240,
    conda:
        "../envs/core.yaml"
    script:
        "../scripts/download_matr.py"
