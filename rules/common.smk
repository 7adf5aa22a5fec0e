# Input functions and names shared by every rule file.

import pandas as pd

from dlnet.data.sources import input_files
from dlnet.model import student_architectures

PROTOCOLS = [name for name, p in config["protocols"].items() if p["enabled"]]
RATIOS = [f"{r:g}" for r in config["pruning"]["ratios"]]


STUDENTS = student_architectures(config["students"]["families"])
# What every student trains with; the families are not in it, so that editing one family's sizes
# reruns only that family's students.
STUDENT_TRAINING = {k: v for k, v in config["students"].items() if k != "families"}


wildcard_constraints:
    protocol="|".join(PROTOCOLS),
    student="|".join(STUDENTS),
    ratio=r"0\.\d+",


def protocol_config(wildcards):
    return config["protocols"][wildcards.protocol]


def dataset_config(wildcards):
    return config["datasets"][protocol_config(wildcards)["dataset"]]


def cleaning_config(wildcards):
    """The cleaning rules reach only datasets of measured capacity, so that editing them does
    not rerun a protocol on the (already smoothed) DLNet series."""
    return {} if dataset_config(wildcards)["adapter"] == "dlnet_soh" else config["cleaning"]


def dataset_files(wildcards):
    files = input_files(dataset_config(wildcards))
    segments = protocol_config(wildcards).get("segments")
    return files + ([segments] if segments else [])


def student_arch(wildcards):
    return STUDENTS[wildcards.student]


def student_files(wildcards, what):
    return expand("results/{protocol}/students/{student}/{what}",
                  protocol=wildcards.protocol, student=list(STUDENTS), what=what)


def pruned_students(protocol):
    """Students on the first fronts, read from the front1 checkpoint's table."""
    table = checkpoints.front1.get(protocol=protocol).output.front
    front = pd.read_csv(table)
    return front.loc[front["prune"], "name"].tolist()


def recovered_files(wildcards, what):
    return expand("results/{protocol}/recovered/{student}_p{ratio}/{what}",
                  protocol=wildcards.protocol, student=pruned_students(wildcards.protocol),
                  ratio=RATIOS, what=what)


def selected(wildcards):
    """selected.json of the protocol's final Pareto front (a checkpoint: read after it ran)."""
    import json

    with open(checkpoints.pareto.get(protocol=wildcards.protocol).output.selected) as f:
        return json.load(f)


def selected_model(wildcards):
    return selected(wildcards)["model"]


def selected_histories(wildcards):
    """Training logs of the selected model's lineage: stage 1, then stage 2 if it was pruned."""
    s = selected(wildcards)
    if s["stage"] == "teacher":
        return []
    student = s["name"].split("_p")[0]
    logs = [f"results/{wildcards.protocol}/students/{student}/train_log.csv"]
    if s["stage"] == "recovered":
        logs.append(f"results/{wildcards.protocol}/recovered/{s['name']}/train_log.csv")
    return logs


def all_targets():
    arduino = ["results/{protocol}/firmware/arduino_size.json"] if config["firmware"]["arduino"] else []
    return expand(
        arduino + [
            "results/{protocol}/summary.md",
            "results/{protocol}/report/predictions.png",
            "results/{protocol}/pareto/pareto.png",
            "results/{protocol}/deploy/verify.json",
            "results/{protocol}/firmware/m4_report.json",
        ],
        protocol=PROTOCOLS,
    )


def matr_batch(filename):
    """The matr_raw batch entry whose file is data/raw/matr/{filename}.mat."""
    for entry in config["datasets"].get("matr_raw", {}).get("batches", {}).values():
        if entry["file"] == f"data/raw/matr/{filename}.mat":
            return entry
    raise ValueError(f"no datasets.matr_raw.batches entry has file data/raw/matr/{filename}.mat")


PROTOCOL_TEXT = {
    "paper": "The DLNet protocol as published: whole series smoothed, 20% of each cell's windows "
    "held out at random, plus the paper's 16 segments. Test windows overlap training windows of "
    "the same cells, so this measures interpolation within known cells.",
    "cells": "The study's own cell split: models never see a test cell; every window of the "
    "Prim. Test (test) and Sec. test (test2) cells is scored on raw, unsmoothed SOH.",
}
