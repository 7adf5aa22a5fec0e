# Input functions and names shared by every rule file.

import pandas as pd

from dlnet.data.sources import input_files

PROTOCOLS = [name for name, p in config["protocols"].items() if p["enabled"]]
RATIOS = [f"{r:g}" for r in config["pruning"]["ratios"]]


def _students():
    """Student name -> architecture. The paper-sized family is h{width}; others h{width}-{family}."""
    specs = {}
    for family, f in config["students"]["families"].items():
        for width in f["widths"]:
            name = f"h{width}" if family == "paper" else f"h{width}-{family}"
            specs[name] = {"family": family, "width": width, "enc_hidden": f["enc_hidden"],
                           "dec_hidden": f["dec_hidden"], "dec_mid": f["dec_mid"]}
    return specs


STUDENTS = _students()


wildcard_constraints:
    protocol="|".join(PROTOCOLS),
    student="|".join(STUDENTS),
    ratio=r"0\.\d+",


def protocol_config(wildcards):
    return config["protocols"][wildcards.protocol]


def dataset_config(wildcards):
    return config["datasets"][protocol_config(wildcards)["dataset"]]


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


def all_targets():
    return expand("results/{protocol}/pareto/selected.json", protocol=PROTOCOLS) + \
        expand("results/{protocol}/baselines/metrics.json", protocol=PROTOCOLS)


def matr_batch(filename):
    """The matr_raw batch entry whose file is data/raw/matr/{filename}.mat."""
    for entry in config["datasets"].get("matr_raw", {}).get("batches", {}).values():
        if entry["file"] == f"data/raw/matr/{filename}.mat":
            return entry
    raise ValueError(f"no datasets.matr_raw.batches entry has file data/raw/matr/{filename}.mat")
