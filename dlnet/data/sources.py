"""Dispatch a dataset entry of config.yaml to its adapter; return SOH series and the study split."""

from dataclasses import dataclass, field

import pandas as pd

from dlnet.data import dlnet_soh, matr, severson, user_csv
from dlnet.data.cleaning import clean_capacity
from dlnet.errors import InputError

ADAPTERS = ("severson2019", "dlnet_soh", "matr_raw", "csv")


@dataclass
class Source:
    series: pd.DataFrame                 # cell_id, cycle, soh (sorted by cell, cycle)
    path: str                            # the file errors about cells should name
    study_split: dict | None = None      # cell_id -> train | test | test2, where the source has one
    dropped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["cell_id", "cycle", "capacity_ah", "reason"]))


def input_files(dataset):
    """Every file the adapter reads, for Snakemake's input: section."""
    adapter = dataset["adapter"]
    if adapter == "severson2019":
        return [dataset["summary"], dataset["cells"]]
    if adapter == "dlnet_soh":
        return [dataset["series"]]
    if adapter == "matr_raw":
        return [b["file"] for b in dataset["batches"].values()] + [dataset["cells"]]
    if adapter == "csv":
        return [dataset["file"]] + ([dataset["cells"]] if dataset.get("cells") else [])
    raise InputError("config.yaml", f"unknown dataset adapter '{adapter}'",
                     f"use one of {ADAPTERS}", column="adapter")


def load_source(dataset, cleaning):
    adapter = dataset["adapter"]
    if adapter == "dlnet_soh":
        return Source(dlnet_soh.load_series(dataset["series"]), dataset["series"])
    if adapter == "severson2019":
        table, path = severson.load_summary(dataset["summary"]), dataset["summary"]
        split = severson.load_study_split(dataset["cells"])
    elif adapter == "matr_raw":
        table = matr.load_batches({int(b): e["file"] for b, e in dataset["batches"].items()})
        path = ", ".join(str(e["file"]) for e in dataset["batches"].values())
        split = severson.load_study_split(dataset["cells"])
    elif adapter == "csv":
        path = dataset["file"]
        table = user_csv.load_user_csv(path, dataset.get("cell_column", "cell_id"),
                                       dataset.get("cycle_column", "cycle"),
                                       dataset.get("capacity_column", "capacity_ah"))
        split = severson.load_study_split(dataset["cells"]) if dataset.get("cells") else None
    else:
        input_files(dataset)  # raises the unknown-adapter error
    kept, dropped = clean_capacity(table, **cleaning)
    series = pd.DataFrame({"cell_id": kept["cell_id"], "cycle": kept["cycle"],
                           "soh": kept["capacity_ah"] / float(dataset["soh_reference_ah"])})
    return Source(series, path, split, dropped)
