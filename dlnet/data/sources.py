"""A dataset entry of config.yaml, loaded by its adapter (dlnet.data.adapters): the SOH series
and the study split."""

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from dlnet.data import adapters
from dlnet.data.cleaning import clean_capacity
from dlnet.errors import InputError, config_source
from dlnet.signals import COLUMNS as SIGNAL_COLUMNS


# dropped.csv: capacity in the unit of the adapter's table (the csv adapter's: the file's, Ah,
# mAh, ...), and as SOH
DROPPED_COLUMNS = ["cell_id", "cycle", "capacity", "soh", "reason"]


@dataclass
class Source:
    series: pd.DataFrame                 # cell_id, cycle, soh (sorted by cell, cycle), and the
                                         # signals' per-cycle columns the source has
    path: str                            # the file errors about cells should name
    study_split: dict | None = None      # cell_id -> train | test | test2, where the source has one
    dropped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=DROPPED_COLUMNS))
    max_cycle_gap: int | None = None     # missing cycles a window may span (None: any)


def input_files(dataset):
    """Every file the adapter reads, for Snakemake's input: section."""
    return adapters.get(dataset).files(dataset)


def check_files(config, root="."):
    """Fail before any job runs when an enabled protocol reads a dataset config.yaml does not
    define, or a file that does not exist and that no rule makes: otherwise Snakemake keeps the
    results made from the old path."""
    for name, p in config["protocols"].items():
        if not p["enabled"]:
            continue
        if p["dataset"] not in config["datasets"]:
            raise InputError(config_source(), f"protocol {name} reads dataset {p['dataset']!r}, "
                             "which the datasets section does not define",
                             f"use one of {sorted(config['datasets'])}, or add it under datasets",
                             column=f"protocols.{name}.dataset")
        dataset = config["datasets"][p["dataset"]]
        adapter = adapters.get(dataset)
        needed = [(f, f"datasets.{p['dataset']}") for f in adapter.files(dataset)
                  if f not in adapter.fetched(dataset)]
        if p.get("segments"):
            needed.append((p["segments"], f"protocols.{name}.segments"))
        for path, key in needed:
            if not (Path(root) / path).exists():
                raise InputError(config_source(), f"protocol {name} reads {path}, which does not "
                                 "exist", f"correct the path in {key} (relative to the project "
                                 "folder)", column=key)


# A cell starts near its rated capacity (a second-life cell lower): the median over cells of
# their first SOH values outside this band means soh_reference_ah is not the rated capacity in
# the capacity column's unit, not that the cells are unusual.
START_SOH = (0.5, 1.5)
START_VALUES = 10


def load_source(dataset, cleaning):
    adapter = adapters.get(dataset)
    loaded = adapter.load(dataset)
    if not adapter.measured:
        return Source(loaded.table, loaded.path, loaded.study_split)
    if not len(loaded.table):
        raise InputError(loaded.path, "has no rows of capacity", "give it one row per cell and "
                         "cycle (see the dataset's adapter in README.md)")
    rated = float(dataset["soh_reference_ah"])
    kept, dropped = clean_capacity(loaded.table, rated, cleaning["max_soh"],
                                   cleaning["median_window"], cleaning["max_jump_soh"])
    if not len(kept):
        # every cell emptied: the column's unit or the limits, not the cells (one emptied cell is
        # left out quietly and listed in dropped.csv, as any cleaned row)
        reasons = dropped["reason"].value_counts()
        fix = "check the capacity column's values and the cleaning section of the config"
        if reasons.index[0] == "above_max":
            fix = (f"set the dataset's soh_reference_ah ({rated:g}) to the cells' rated capacity "
                   "in the capacity column's unit (e.g. 1100 for 1.1 Ah cells in mAh); readings "
                   f"above cleaning.max_soh ({cleaning['max_soh']:g}) times it are dropped")
        raise InputError(loaded.path, "cleaning dropped every row of every cell: "
                         + ", ".join(f"{n} {r}" for r, n in reasons.items()), fix)
    check_start(kept, rated, loaded.path)
    series = pd.DataFrame({"cell_id": kept["cell_id"], "cycle": kept["cycle"],
                           "soh": kept["capacity_ah"] / rated})
    for column in SIGNAL_COLUMNS:
        if column in kept.columns:
            series[column] = pd.to_numeric(kept[column], errors="coerce")
    dropped = pd.DataFrame({"cell_id": dropped["cell_id"], "cycle": dropped["cycle"],
                            "capacity": dropped["capacity_ah"],
                            "soh": dropped["capacity_ah"] / rated, "reason": dropped["reason"]},
                           columns=DROPPED_COLUMNS)
    return Source(series, loaded.path, loaded.study_split, dropped, cleaning["max_cycle_gap"])


def check_start(kept, rated, path):
    """Fail when the cells do not start near SOH 1: soh_reference_ah in another unit than the
    capacity (a rating off by less than the band, 1.5 x, passes). Such a series still trains, on
    numbers that mean nothing (a 1000 x error makes every MAE look 1000 x better)."""
    first = kept.groupby("cell_id", sort=False)["capacity_ah"].apply(
        lambda c: c.iloc[:START_VALUES].median())
    start = float(first.median()) / rated
    low, high = START_SOH
    if not low <= start <= high:
        raise InputError(path, f"the cells start at SOH {start:.3g} (capacity / soh_reference_ah "
                         f"{rated:g}, the median over {len(first)} cells of their first "
                         f"{START_VALUES} values), outside {low:g}-{high:g}",
                         "set the dataset's soh_reference_ah to the cells' rated capacity in the "
                         f"capacity column's unit (their readings start near {first.median():.4g})")
