# Input functions and names shared by every rule file.

import json
import os

import pandas as pd

from dlnet.candidates import check_limits as check_candidate_limits
from dlnet.config import student_settings
from dlnet.data import adapters
from dlnet.data.sources import check_files as check_dataset_files
from dlnet.data.sources import input_files
from dlnet.errors import InputError, config_source
from dlnet.names import protocol_students, student_architectures
from dlnet.seeds import lineage, run_seeds
from dlnet.signals import check_datasets as check_signal_datasets
from dlnet.signals import groups as ablation_groups

PROTOCOLS = [name for name, p in config["protocols"].items() if p["enabled"]]
RATIOS = [f"{r:g}" for r in config["pruning"]["ratios"]]
# The finalists' extra training runs: every seed but the configured one, which the main tree has.
EXTRA_SEEDS = run_seeds(config["seed"], config["pareto"]["seeds"])[1:]
PEERS = config["peers"]
# How the native core's int8 model is quantized (the select rule scores finalists with it; the
# TFLite export reads calibration_windows alone).
QUANTIZATION = {k: v for k, v in config["deploy"].items() if k not in ("verify", "int8_tolerance")}


STUDENTS = student_architectures(config["students"]["families"])
if config["ablation"]["model"] not in STUDENTS:
    raise InputError(
        config_source(),
        f"ablation.model '{config['ablation']['model']}' is not a student architecture",
        f"use one of {sorted(STUDENTS)}",
        column="ablation.model",
    )
check_dataset_files(config)
check_signal_datasets(config)
check_candidate_limits(config)
# The signals ablation's groups (dlnet/signals.py): none, each signal alone, all of them.
ABLATION_GROUPS = ablation_groups(config["ablation"]["signals"])
# What shapes every student and what distils it; the families are in neither, so that editing one
# family's sizes reruns only that family's students.
STUDENT_SHAPE, STUDENT_DISTILLATION = student_settings(config["students"])


wildcard_constraints:
    protocol="|".join(PROTOCOLS),
    student="|".join(STUDENTS),
    ratio=r"0\.\d+",
    seed=r"\d+",
    peer="|".join(PEERS) or "no_peers",
    group="|".join(ABLATION_GROUPS),


def protocol_config(wildcards):
    return config["protocols"][wildcards.protocol]


def data_config(wildcards):
    """prepare_data's view of the protocol, all but `ablation` (it adds report jobs) and the
    latency limit (the front's and the choice's alone): changing either must not rerun the
    protocol from its data on. Keys sorted: Snakemake compares params in order, and a config
    file that overrides a key reorders the merged protocol."""
    pcfg = {k: v for k, v in protocol_config(wildcards).items() if k != "ablation"}
    pcfg["candidates"] = without_latency(pcfg["candidates"])
    return sorted_keys(pcfg)


def sorted_keys(value):
    if isinstance(value, dict):
        return {k: sorted_keys(v) for k, v in sorted(value.items())}
    return value


def without_latency(candidates):
    return {k: v for k, v in candidates.items() if k != "max_latency_ms"}


def max_int8_bytes(wildcards):
    """The protocol's limit on a deployed model's int8 bytes, or None."""
    return protocol_config(wildcards).get("candidates", {}).get("max_int8_bytes")


def max_latency_ms(wildcards):
    """The protocol's latency limit on the Cortex-M4 (None: no limit)."""
    return protocol_config(wildcards).get("candidates", {}).get("max_latency_ms")


def latency_protocol(wildcards):
    """Rule latency's view of the protocol: the window lengths and what may compete but the
    latency limit itself (changing it reruns the front, not the timings)."""
    pcfg = protocol_config(wildcards)
    return {
        "input_len": pcfg["input_len"],
        "output_len": pcfg["output_len"],
        "candidates": without_latency(pcfg["candidates"]),
    }


def front_latency(wildcards):
    """Rule latency's table for the pareto checkpoint, when the protocol limits latency."""
    if max_latency_ms(wildcards) is None:
        return {}
    return {"latency": f"results/{wildcards.protocol}/pareto/latency.csv"}


def choice_latency(wildcards):
    """Both latency tables for select (the finalists' other seeds too), when the protocol
    limits latency."""
    if max_latency_ms(wildcards) is None:
        return {}
    return {
        **front_latency(wildcards),
        "latency_seeds": f"results/{wildcards.protocol}/pareto/latency_seeds.csv",
    }


def training_config(wildcards):
    """The training section with the protocol's own changes (early stopping) applied."""
    return {**config["training"], **protocol_config(wildcards)["training"]}


def dataset_config(wildcards):
    return config["datasets"][protocol_config(wildcards)["dataset"]]


def cleaning_config(wildcards):
    """The cleaning rules reach only datasets of measured capacity, so that editing them does
    not rerun a protocol on a series that is SOH already (the DLNet paper's, smoothed)."""
    return config["cleaning"] if adapters.get(dataset_config(wildcards)).measured else {}


def trend_fit_lengths(wildcards):
    """The parabola lengths a `trend_len: validation` protocol chooses from; only those
    protocols rerun when baselines.fit_lengths changes."""
    if protocol_config(wildcards).get("trend_len") == "validation":
        return config["baselines"]["fit_lengths"]
    return []


def dataset_files(wildcards):
    files = input_files(dataset_config(wildcards))
    segments = protocol_config(wildcards).get("segments")
    return files + ([segments] if segments else [])


def student_arch(wildcards):
    return STUDENTS[wildcards.student]


def student_files(wildcards, what):
    """A file of every student the protocol trains (its `families`)."""
    students = protocol_students(
        STUDENTS, protocol_config(wildcards).get("families"), wildcards.protocol
    )
    return expand(
        "results/{protocol}/students/{student}/{what}",
        protocol=wildcards.protocol,
        student=list(students),
        what=what,
    )


def pruned_students(protocol):
    """Students on the first fronts, read from the front1 checkpoint's table."""
    table = checkpoints.front1.get(protocol=protocol).output.front
    front = pd.read_csv(table)
    return front.loc[front["prune"], "name"].tolist()


def recovered_files(wildcards, what):
    return expand(
        "results/{protocol}/recovered/{student}_p{ratio}/{what}",
        protocol=wildcards.protocol,
        student=pruned_students(wildcards.protocol),
        ratio=RATIOS,
        what=what,
    )


def finalist_seed_files(wildcards, what):
    """`what` of every finalist of the pareto checkpoint, for every extra seed."""
    table = pd.read_csv(checkpoints.pareto.get(protocol=wildcards.protocol).output.candidates)
    finalists = table[table["finalist"]]
    return [
        os.path.join(
            f"results/{wildcards.protocol}/seeds/s{seed}", *model_folder(stage, name), what
        )
        for name, stage in zip(finalists["name"], finalists["stage"])
        for seed in EXTRA_SEEDS
    ]


def seed_benchmarks(wildcards):
    """The benchmark.tsv of every job that trained the finalists' lineages with the extra seeds:
    one per student (all seeds stacked), per recovered finalist, per seed of the teacher."""
    table = pd.read_csv(checkpoints.pareto.get(protocol=wildcards.protocol).output.candidates)
    finalists = table[table["finalist"]]
    logs = f"results/{wildcards.protocol}/seeds/logs"
    files = []
    for name, stage in zip(finalists["name"], finalists["stage"]):
        if stage == "teacher":
            files += [
                f"results/{wildcards.protocol}/seeds/s{seed}/teacher/benchmark.tsv"
                for seed in EXTRA_SEEDS
            ]
            continue
        files.append(f"{logs}/student_{lineage(name)}_benchmark.tsv")
        if stage == "recovered":
            files.append(f"{logs}/prune_recover_{name}_benchmark.tsv")
    return files


def finalist_models(wildcards):
    """The finalists' checkpoints of the main tree (the configured seed)."""
    table = pd.read_csv(checkpoints.pareto.get(protocol=wildcards.protocol).output.candidates)
    return table.loc[table["finalist"], "model"].tolist()


def model_folder(stage, name):
    """Where a model of `stage` lives, under a protocol's (or a seed's) results folder."""
    return {
        "teacher": ["teacher"],
        "student": ["students", name],
        "recovered": ["recovered", name],
    }[stage]


def selected(wildcards):
    """selected.json of the protocol's select checkpoint (read after it ran)."""
    with open(checkpoints.select.get(protocol=wildcards.protocol).output.selected) as f:
        return json.load(f)


def selected_model(wildcards):
    """The selected model's file: a checkpoint, ridge's coefficients, or (a polynomial
    baseline) the baselines' metrics."""
    return selected(wildcards)["model"]


def network_exports(wildcards):
    """The TFLite and ONNX checks, which exist for a selected liquid network only."""
    if selected(wildcards)["kind"] != "liquid":
        return {}
    deploy = f"results/{wildcards.protocol}/deploy"
    return {
        "tflite_metrics": f"{deploy}/tflite_metrics.json",
        "tflite_header": f"{deploy}/model_tflite.h",
        "onnx_check": f"{deploy}/onnx_check.json",
    }


def selected_histories(wildcards):
    """Training logs of the selected model's lineage: stage 1, then stage 2 if it was pruned."""
    s = selected(wildcards)
    if s["kind"] != "liquid" or s["stage"] == "teacher":
        return []
    folder = os.path.dirname(s["model"])
    logs = [os.path.join(folder, "train_log.csv")]
    if s["stage"] == "recovered":
        tree = os.path.dirname(os.path.dirname(folder))  # the protocol's or the seed's
        logs.insert(
            0, os.path.join(tree, *model_folder("student", lineage(s["name"])), "train_log.csv")
        )
    return logs


def stage_benchmarks(wildcards):
    """The benchmark.tsv of every job behind the protocol's deployed model and its checks, for
    the summary's time per stage."""
    p = f"results/{wildcards.protocol}"
    rules = [
        "prepare_data",
        "baselines",
        "learned_baselines",
        "front1",
        "pareto",
        "select",
        "quantize",
        "verify_native",
        "against_baseline",
        "firmware_m4",
    ]
    if max_latency_ms(wildcards) is not None:
        rules += ["latency", "latency_seeds"]
    if selected(wildcards)["kind"] == "liquid":
        rules += ["export_onnx", "check_tflite"]
    if config["firmware"]["arduino"]:
        rules.append("firmware_arduino")
    files = [f"{p}/logs/{rule}_benchmark.tsv" for rule in rules]
    if selected(wildcards)["kind"] == "liquid":
        files.append(f"{p}/deploy/export_tflite_benchmark.tsv")
    files.append(f"{p}/teacher/benchmark.tsv")
    files += student_files(wildcards, "benchmark.tsv")
    files += [
        f"{p}/logs/prune_recover_{student}_benchmark.tsv"
        for student in pruned_students(wildcards.protocol)
    ]
    files += seed_benchmarks(wildcards)
    files += [f.removesuffix(".json") + "_benchmark.tsv" for f in ablation_results(wildcards)]
    return sorted(set(files))


def peer_path(name):
    """A peer's file: its configured `file`, or where download_peer puts it."""
    return PEERS[name].get("file", f"data/peers/{name}.tflite")


def peer_model(wildcards):
    """The peer's file as an input only when it is on disk (the default run stays offline)."""
    path = peer_path(wildcards.peer)
    return {"model": path} if os.path.exists(path) else {}


def peer_metrics(wildcards):
    return [
        f"results/{wildcards.protocol}/peers/{name}/metrics.json"
        for name, peer in PEERS.items()
        if wildcards.protocol in peer["protocols"]
    ]


def ablation_signals(wildcards):
    return ABLATION_GROUPS[wildcards.group]


def ablation_results(wildcards):
    """The signals ablation's groups, for the protocols that run it (`ablation: true`)."""
    if not protocol_config(wildcards)["ablation"]:
        return []
    return [f"results/{wildcards.protocol}/ablation/{group}.json" for group in ABLATION_GROUPS]


def all_targets():
    arduino = (
        ["results/{protocol}/firmware/arduino_size.json"] if config["firmware"]["arduino"] else []
    )
    return expand(
        arduino
        + [
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
