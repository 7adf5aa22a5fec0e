"""The study's original MATLAB v7.3 batch files (HDF5), read with h5py.

A batch file holds a struct array `batch` whose fields are (n_cells, 1) arrays of HDF5 object
references; `batch/summary[i]` points to a group of per-cycle vectors (`QDischarge`, `cycle`,
`IR`, ...), each stored as a (1, n_cycles) matrix. The cell selection follows the study's own
loading code: five batch-1 cells that stopped early are dropped, five batch-2 cells that
continued batch-1 cells are appended to them, and six batch-3 cells with faulty channels are
dropped. Cell ids are `b{batch}c{index}` with the original index, as in `cells.csv`.
"""

import numpy as np
import pandas as pd

from dlnet.data.adapters import Adapter, Loaded
from dlnet.data.severson import load_study_split
from dlnet.errors import InputError

DROPPED = {1: {8, 10, 12, 13, 22}, 3: {2, 23, 32, 37, 42, 43}}
# batch-2 index -> batch-1 cell it continues
CONTINUES = {7: "b1c0", 8: "b1c1", 9: "b1c2", 15: "b1c3", 16: "b1c4"}
EXTRA_FIELDS = {"QCharge": "QC", "IR": "IR", "Tavg": "Tavg", "Tmin": "Tmin", "Tmax": "Tmax",
                "chargetime": "chargetime"}


def read_batch(path, batch):
    """One batch file -> per-cycle table (cell_id, batch, cycle, capacity_ah, extras), unfiltered."""
    import h5py

    try:
        f = h5py.File(path, "r")
    except FileNotFoundError:
        raise InputError(path, "the batch file does not exist",
                         "run the download rule (snakemake download_matr) or fix the path") from None
    except OSError as e:
        raise InputError(path, f"is not a MATLAB v7.3 (HDF5) file ({e})",
                         "delete it and download it again; check its SHA-256") from None
    with f:
        if "batch" not in f or "summary" not in f["batch"]:
            raise InputError(path, "has no 'batch/summary' struct field",
                             "use the study's *_batchdata_updated_struct_errorcorrect.mat files")
        refs = f["batch"]["summary"]
        frames = []
        for i in range(refs.shape[0]):
            summary = f[refs[i, 0]]
            if "QDischarge" not in summary:
                raise InputError(path, f"cell {i} summary has no QDischarge",
                                 "use the study's error-corrected struct files",
                                 cell=f"b{batch}c{i}", column="QDischarge")
            qd = np.asarray(summary["QDischarge"], dtype=np.float64).ravel()
            frame = {"cell_id": f"b{batch}c{i}", "batch": batch,
                     "cycle": np.arange(1, len(qd) + 1), "capacity_ah": qd}
            for field, column in EXTRA_FIELDS.items():
                if field in summary:
                    values = np.asarray(summary[field], dtype=np.float64).ravel()
                    if len(values) == len(qd):
                        frame[column] = values
            frames.append(pd.DataFrame(frame))
    return pd.concat(frames, ignore_index=True)


def load_batches(paths_by_batch):
    """Read batches {batch number: path}, apply the study's selection and continuation rules."""
    tables = {b: read_batch(p, b) for b, p in sorted(paths_by_batch.items())}
    for b, dropped in DROPPED.items():
        if b in tables:
            keep = ~tables[b]["cell_id"].isin({f"b{b}c{i}" for i in dropped})
            tables[b] = tables[b][keep]
    if 2 in tables:
        b2 = tables[2]
        for index, target in CONTINUES.items():
            part = b2[b2["cell_id"] == f"b2c{index}"].copy()
            b2 = b2[b2["cell_id"] != f"b2c{index}"]
            if 1 not in tables or part.empty:
                continue
            b1 = tables[1]
            offset = int(b1.loc[b1["cell_id"] == target, "cycle"].max())
            part["cell_id"], part["batch"] = target, 1
            part["cycle"] += offset
            tables[1] = pd.concat([b1, part], ignore_index=True)
        tables[2] = b2
    table = pd.concat(tables.values(), ignore_index=True)
    return table.sort_values(["cell_id", "cycle"], kind="stable").reset_index(drop=True)


def load(dataset):
    batches = dataset["batches"]
    return Loaded(load_batches({int(b): e["file"] for b, e in batches.items()}),
                  ", ".join(str(e["file"]) for e in batches.values()),
                  load_study_split(dataset["cells"]))


ADAPTER = Adapter("matr_raw",
                  files=lambda d: [b["file"] for b in d["batches"].values()] + [d["cells"]],
                  load=load, path_keys=("file", "cells"), measured=True,
                  fetched=lambda d: [b["file"] for b in d["batches"].values()])
