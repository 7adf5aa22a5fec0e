"""A dataset entry of config.yaml, loaded by its adapter (dlnet.data.adapters): the SOH series
and the study split."""

from dataclasses import dataclass, field

import pandas as pd

from dlnet.data import adapters
from dlnet.data.cleaning import clean_capacity
from dlnet.signals import COLUMNS as SIGNAL_COLUMNS


@dataclass
class Source:
    series: pd.DataFrame                 # cell_id, cycle, soh (sorted by cell, cycle), and the
                                         # signals' per-cycle columns the source has
    path: str                            # the file errors about cells should name
    study_split: dict | None = None      # cell_id -> train | test | test2, where the source has one
    dropped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["cell_id", "cycle", "capacity_ah", "reason"]))


def input_files(dataset):
    """Every file the adapter reads, for Snakemake's input: section."""
    return adapters.get(dataset).files(dataset)


def load_source(dataset, cleaning):
    adapter = adapters.get(dataset)
    loaded = adapter.load(dataset)
    if not adapter.measured:
        return Source(loaded.table, loaded.path, loaded.study_split)
    kept, dropped = clean_capacity(loaded.table, **cleaning)
    series = pd.DataFrame({"cell_id": kept["cell_id"], "cycle": kept["cycle"],
                           "soh": kept["capacity_ah"] / float(dataset["soh_reference_ah"])})
    for column in SIGNAL_COLUMNS:
        if column in kept.columns:
            series[column] = pd.to_numeric(kept[column], errors="coerce")
    return Source(series, loaded.path, loaded.study_split, dropped)
