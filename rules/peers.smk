# Peers: published int8 TFLite models (config `peers`) scored by this project's code on each
# protocol's windows, in TFLite Micro. A peer's file is an input only once it is on disk, so the
# default run stays offline; download_peer fetches it on request (its path as the target).


rule score_peer:
    input:
        unpack(peer_model),
        dataset="results/{protocol}/data/dataset.npz",
    output:
        metrics="results/{protocol}/peers/{peer}/metrics.json",
    log:
        "results/{protocol}/logs/score_peer_{peer}.log",
    conda:
        "../envs/tflite.yaml"
    threads: 1
    params:
        name=lambda w: w.peer,
        peer=lambda w: config["peers"][w.peer],
        path=lambda w: peer_path(w.peer),
    script:
        "../scripts/score_peer.py"


rule download_peer:
    output:
        "data/peers/{peer}.tflite",
    log:
        "data/peers/{peer}.download.log",
    conda:
        "../envs/core.yaml"
    resources:
        runtime=10,
    params:
        peer=lambda w: config["peers"][w.peer],
    script:
        "../scripts/download_peer.py"
