import h5py
import numpy as np
import pandas as pd
import pytest

from dlnet.config import load as load_config
from dlnet.data import dlnet_soh, matr, severson, user_csv
from dlnet.data.sources import load_source
from dlnet.errors import InputError

CLEANING = load_config()["cleaning"]


def test_severson_summary_and_study_split(root):
    table = severson.load_summary(root / "data/severson2019/severson_summary.csv.gz")
    assert table["cell_id"].nunique() == 124
    split = severson.load_study_split(root / "data/severson2019/cells.csv")
    counts = pd.Series(split).value_counts().to_dict()
    assert counts == {"test": 43, "train": 41, "test2": 40}


def test_dlnet_soh_series_and_segments(root):
    series = dlnet_soh.load_series(root / "data/dlnet_soh/dlnet_soh.csv.gz")
    assert series["cell_id"].nunique() == 124
    segs = dlnet_soh.load_segments(root / "data/dlnet_soh/selected_segments.json")
    assert len(segs) == 16 and all(s["end"] - s["start"] == 200 for s in segs)
    assert segs[0]["cell_id"] == "Bat018"


def write_matr_batch(path, cells):
    """A tiny MATLAB v7.3 batch file with the study's struct layout: batch/summary refs."""
    with h5py.File(path, "w") as f:
        batch = f.create_group("batch")
        refs = batch.create_dataset("summary", (len(cells), 1), dtype=h5py.ref_dtype)
        for i, qd in enumerate(cells):
            g = f.create_group(f"#refs#/s{i}")
            n = len(qd)
            g["QDischarge"] = np.asarray(qd, dtype=np.float64).reshape(1, n)
            g["cycle"] = np.arange(1, n + 1, dtype=np.float64).reshape(1, n)
            g["IR"] = np.full((1, n), 0.017)
            refs[i, 0] = g.ref


def test_matr_batches_follow_the_study_loading_rules(tmp_path):
    b1, b2 = tmp_path / "b1.mat", tmp_path / "b2.mat"
    write_matr_batch(b1, [[0.0, 1.07, 1.06, 1.05]] + [[1.1, 1.09]] * 22)   # 23 cells: b1c0..b1c22
    b2_cells = [[1.0, 0.99]] * 17
    b2_cells[7] = [1.04, 1.03, 1.02]                                         # continues b1c0
    write_matr_batch(b2, b2_cells)
    table = matr.load_batches({1: b1, 2: b2})
    ids = set(table["cell_id"])
    assert not ids & {"b1c8", "b1c10", "b1c12", "b1c13", "b1c22"}           # stopped early
    assert not ids & {"b2c7", "b2c8", "b2c9", "b2c15", "b2c16"}             # merged into batch 1
    b1c0 = table[table["cell_id"] == "b1c0"]
    assert b1c0["capacity_ah"].tolist() == [0.0, 1.07, 1.06, 1.05, 1.04, 1.03, 1.02]
    assert b1c0["cycle"].tolist() == list(range(1, 8))
    assert "IR" in table.columns


def test_matr_source_is_cleaned_like_the_summary(tmp_path, root):
    path = tmp_path / "b3.mat"
    write_matr_batch(path, [[1.08, 1.079, 1.078, 1.077, 3.0, 1.075]] * 3)
    src = load_source({"adapter": "matr_raw", "batches": {3: {"file": str(path)}},
                       "cells": str(root / "data/severson2019/cells.csv"), "soh_reference_ah": 1.1},
                      CLEANING)
    assert (src.dropped["reason"] == "above_max").sum() == 2   # b3c2 is dropped by the study rule
    assert src.series["soh"].max() == pytest.approx(1.08 / 1.1)


def test_matr_not_hdf5_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.mat"
    bad.write_bytes(b"MATLAB 5.0 MAT-file, not v7.3")
    with pytest.raises(InputError, match="bad.mat.*not a MATLAB v7.3"):
        matr.read_batch(bad, 1)


def test_user_csv_with_extra_columns(tmp_path):
    path = tmp_path / "mine.csv"
    pd.DataFrame({"cell": ["a", "a", "b"], "n": [1, 2, 1], "cap": [2.0, 1.99, 2.1],
                  "temp": [25, 26, 25]}).to_csv(path, index=False)
    table = user_csv.load_user_csv(path, "cell", "n", "cap")
    assert table.columns.tolist() == ["cell_id", "cycle", "capacity_ah", "temp"]
    assert table["cycle"].dtype.kind == "i"
