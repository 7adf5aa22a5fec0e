"""Severson et al. 2019 per-cycle summary (the shipped CSV) and the study's own cell split."""

import pandas as pd

from dlnet.data.adapters import Adapter, Loaded
from dlnet.data.table import cell_ids, check_cycles, numeric_column, read_csv, require_columns
from dlnet.signals import COLUMNS as SIGNAL_COLUMNS

# The study's split names, as written in cells.csv, and the names the workflow uses.
STUDY_SPLITS = {"Train": "train", "Prim. Test": "test", "Sec. test": "test2"}


def load_summary(path):
    """Per-cycle discharge capacity of every cell: columns cell_id, cycle, capacity_ah, and the
    signals' per-cycle columns (IR, Tavg, chargetime) where the file has them, empty or text
    values as NaN (dlnet/signals.py treats them as missing)."""
    frame = read_csv(path, "Severson per-cycle summary")
    require_columns(frame, path, ["cell_id", "cycle", "QD"])
    table = pd.DataFrame({
        "cell_id": frame["cell_id"].astype(str),
        "cycle": numeric_column(frame, path, "cycle").astype(int),
        "capacity_ah": numeric_column(frame, path, "QD"),
    })
    for column in SIGNAL_COLUMNS:
        if column in frame.columns:
            table[column] = pd.to_numeric(frame[column], errors="coerce")
    return check_cycles(table, path)


def load_study_split(path):
    """Map cell_id -> 'train' | 'test' | 'test2' from the study's cells.csv."""
    frame = read_csv(path, "cell list")
    require_columns(frame, path, ["cell_id", "split"])
    unknown = sorted(set(frame["split"]) - set(STUDY_SPLITS))
    if unknown:
        from dlnet.errors import InputError

        raise InputError(path, f"unknown split value(s) {unknown}",
                         f"use one of {sorted(STUDY_SPLITS)}", column="split")
    return {c: STUDY_SPLITS[s] for c, s in zip(cell_ids(path, "cell_id"), frame["split"])}


def load(dataset):
    return Loaded(load_summary(dataset["summary"]), dataset["summary"],
                  load_study_split(dataset["cells"]))


ADAPTER = Adapter("severson2019", files=lambda d: [d["summary"], d["cells"]], load=load,
                  path_keys=("summary", "cells"), measured=True)
