"""A user's own per-cycle CSV, in the user's columns and units, through the whole workflow."""

import gzip

import numpy as np
import pandas as pd
import yaml

from conftest import ROOT, copy_workflow, snakemake
from dlnet.io import read_csv_with_ids

CELLS = ["b2c0", "b2c41", "b2c2", "b2c3", "b3c28", "b2c5", "b2c6"]


def test_own_data_runs_from_the_csv_to_the_firmware(tmp_path):
    """Seven of the study's cells written as a lab would: its own column names, capacity in
    mAh with the rating in mAh, cell ids that pandas would read as numbers. The protocol splits
    them by the config; the run deploys a model, and every SOH value is the study's."""
    with gzip.open(ROOT / "data/severson2019/severson_summary.csv.gz", "rt") as f:
        study = pd.read_csv(f, usecols=["cell_id", "cycle", "QD"])
    study = study[study["cell_id"].isin(CELLS) & (study["QD"] > 0)]
    ids = {c: f"{i:02d}" for i, c in enumerate(CELLS)}          # "00", "01", ...
    own = pd.DataFrame({"Cell": study["cell_id"].map(ids), "Cycle": study["cycle"],
                        "Q_mAh": study["QD"] * 1000.0})
    workdir = copy_workflow(tmp_path / "wf")
    own.to_csv(workdir / "mine.csv", index=False)

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    mine = {**config["protocols"]["cells"], "dataset": "mine", "exclude_cells": [],
            "train_step": 20, "eval_step": 50,
            "split": {"source": "config", "test_cells": ["05"], "val_fraction": 0.3, "seed": 42}}
    own_config = {
        "datasets": {"mine": {"adapter": "csv", "file": "mine.csv", "cell_column": "Cell",
                              "cycle_column": "Cycle", "capacity_column": "Q_mAh",
                              "soh_reference_ah": 1100.0}},
        "protocols": {"paper": {"enabled": False}, "paper_residual": {"enabled": False},
                      "cells": {"enabled": False}, "mine": mine},
    }
    (workdir / "own.yaml").write_text(yaml.safe_dump(own_config, sort_keys=False))
    snakemake(workdir, "--cores", "2", "--configfile", "tests/config_tiny.yaml", "own.yaml")

    out = workdir / "results/mine"
    assert (out / "deploy/dlnet_model.h").stat().st_size > 0
    assert (out / "firmware/m4_report.json").exists()
    summary = (out / "summary.md").read_text()
    assert "Selected model: **" in summary
    # the split is the config's, and the paper's published figures are about other data
    assert "the test cells (05)" in summary and "Prim. Test" not in summary
    assert "[published]" not in summary.split("## On the microcontroller")[0]
    assert "Rows marked [peer]" not in summary                  # no peer scores this data
    assert "test holds one cell, so its interval is that cell's number" in summary
    series = read_csv_with_ids(out / "data/series.csv.gz")
    assert sorted(series["cell_id"].unique()) == sorted(ids.values())
    assert set(series.loc[series["split"] == "test", "cell_id"]) == {"05"}
    expected = study.assign(cell_id=study["cell_id"].map(ids)).merge(series, on=["cell_id", "cycle"])
    assert len(expected) == len(series)
    assert np.allclose(expected["soh"], expected["QD"] / 1.1, rtol=1e-12)
    # dropped.csv gives a cleaned reading in the file's unit (mAh here) and as SOH
    dropped = read_csv_with_ids(out / "data/dropped.csv")
    assert dropped.columns.tolist() == ["cell_id", "cycle", "capacity", "soh", "reason"]
    cleaned = dropped[dropped["reason"] == "jump"]
    assert len(cleaned) and set(cleaned["cell_id"]) <= set(ids.values())
    assert cleaned["capacity"].min() > 500.0
    assert np.allclose(cleaned["soh"], cleaned["capacity"] / 1100.0, rtol=1e-12)
