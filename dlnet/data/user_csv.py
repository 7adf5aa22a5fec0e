"""A user's own per-cycle capacity CSV: one row per (cell, cycle), extra columns carried along.

Its per-cycle signal columns (dlnet/signals.py reads IR in Ohm, Tavg in deg C, chargetime in
minutes) may have the user's own names: `signal_columns` maps the study's name to the file's.
"""

import pandas as pd

from dlnet.data.adapters import Adapter, Loaded
from dlnet.data.severson import load_study_split
from dlnet.data.table import cell_ids, check_cycles, numeric_column, read_csv, require_columns
from dlnet.errors import InputError


def load_user_csv(path, cell_column, cycle_column, capacity_column, signal_columns=None):
    frame = read_csv(path, "per-cycle capacity")
    require_columns(frame, path, [cell_column, cycle_column, capacity_column],
                    {cell_column: "cell_column", cycle_column: "cycle_column",
                     capacity_column: "capacity_column"})
    signal_columns = signal_columns or {}
    for study_name, column in signal_columns.items():
        if column not in frame.columns:
            raise InputError(path, f"has no column '{column}' (signal_columns: {study_name})",
                             f"name the file's {study_name} column in signal_columns, or remove "
                             f"{study_name} from it", column=column)
    renamed = {column: study_name for study_name, column in signal_columns.items()}
    frame = frame.drop(columns=[c for c in signal_columns if c in frame.columns and c not in renamed])
    frame = frame.rename(columns=renamed)
    frame[cell_column] = cell_ids(path, cell_column)
    table = pd.DataFrame({
        "cell_id": frame[cell_column],
        "cycle": numeric_column(frame, path, cycle_column, cell_column),
        "capacity_ah": numeric_column(frame, path, capacity_column, cell_column),
    })
    if (table["cycle"] % 1 != 0).any():
        row = table[table["cycle"] % 1 != 0].iloc[0]
        raise InputError(path, f"cycle {row['cycle']} is not a whole number",
                         "number cycles 1, 2, 3, ...", cell=row["cell_id"], column=cycle_column)
    table["cycle"] = table["cycle"].astype(int)
    # another column of the file that bears an internal name (a charge capacity called
    # capacity_ah) must not overwrite the one the dataset names
    extras = [c for c in frame.columns if c not in (cell_column, cycle_column, capacity_column)
              and c not in table.columns]
    for c in extras:
        table[c] = frame[c].to_numpy()
    return check_cycles(table, path, label=cycle_column)


def load(dataset):
    table = load_user_csv(dataset["file"], dataset["cell_column"], dataset["cycle_column"],
                          dataset["capacity_column"], dataset.get("signal_columns"))
    split = load_study_split(dataset["cells"]) if "cells" in dataset else None
    return Loaded(table, dataset["file"], split)


ADAPTER = Adapter("csv", files=lambda d: [d["file"]] + ([d["cells"]] if "cells" in d else []),
                  load=load, path_keys=("file", "cells"), measured=True)
