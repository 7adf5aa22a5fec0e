"""Where a protocol's run spent its time: the rules' benchmark.tsv files summed per stage.

A benchmark file names its rule by where it lies (rules/*.smk): a training run's in its model's
folder, every other rule's in the protocol's logs/ as `<rule>[_<student>]_benchmark.tsv`, the
jobs that train a finalist's extra seeds under seeds/ (seeds/logs/, or a teacher seed's folder).
Job seconds are what the jobs took one after another; with n cores the wall time is about their
sum over n, plus Snakemake's own start-up.
"""

import re

import pandas as pd

# (stage, pattern of the file's path), first match wins; in the workflow's order
STAGES = (
    ("seed reruns", r"/seeds/"),
    ("data", r"/logs/prepare_data_"),
    ("baselines", r"/logs/(learned_)?baselines_"),
    ("teacher", r"/teacher/"),
    ("students", r"/students/"),
    ("pruning and recovery", r"/logs/prune_recover_"),
    ("selection", r"/logs/(front1|pareto|latency|select)_"),
    ("deploy", r"/logs/(quantize|verify_native|export_onnx|check_tflite|against_baseline)_"
               r"|/deploy/export_tflite_"),
    ("firmware", r"/logs/firmware_"),
    ("signals ablation", r"/ablation/"),
)


def stage_of(path):
    for stage, pattern in STAGES:
        if re.search(pattern, str(path)):
            return stage
    raise ValueError(f"{path}: no stage of dlnet/stage_times.py matches this benchmark file; "
                     "add its rule to STAGES")


def stage_table(paths):
    """One row per stage: jobs, job seconds, the largest resident memory of one job (MB)."""
    rows = []
    for path in paths:
        bench = pd.read_csv(path, sep="\t")
        rows.append({"stage": stage_of(path), "seconds": float(bench["s"].iloc[-1]),
                     "max_rss_mb": pd.to_numeric(bench["max_rss"], errors="coerce").iloc[-1]})
    frame = pd.DataFrame(rows, columns=["stage", "seconds", "max_rss_mb"])
    table = frame.groupby("stage", sort=False).agg(
        jobs=("seconds", "size"), job_seconds=("seconds", "sum"),
        max_rss_mb=("max_rss_mb", "max")).reset_index()
    order = {stage: i for i, (stage, _) in enumerate(STAGES)}
    table = table.sort_values("stage", key=lambda s: s.map(order)).reset_index(drop=True)
    table["share"] = table["job_seconds"] / table["job_seconds"].sum()
    return table.round({"job_seconds": 1, "max_rss_mb": 0, "share": 3})
