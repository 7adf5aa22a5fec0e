"""Each bad input stops with an error naming the file, the cell or column, and the fix,
and leaves no half-written output behind."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from dlnet.config import load as load_config
from dlnet.data import user_csv
from dlnet.errors import InputError
from dlnet.run import prepare_data as data_rule

# what config.schema.yaml fills in for a csv dataset that names no columns
CSV_COLUMNS = {"cell_column": "cell_id", "cycle_column": "cycle", "capacity_column": "capacity_ah"}
CLEANING = load_config()["cleaning"]


def cells_protocol(**split):
    return {"kind": "cells", "input_len": 10, "output_len": 10, "train_step": 5, "eval_step": 5,
            "split": {"source": "config", "val_fraction": 0.5, "seed": 1, **split},
            "scaling": "anchored", "anchor_len": 3, "exclude_cells": [], "smoothing": {"method": "none"}}


def write_capacity(path, n_cells=4, n_cycles=40):
    rows = [{"cell_id": f"c{i}", "cycle": k, "capacity_ah": 1.1 - 0.001 * k}
            for i in range(n_cells) for k in range(1, n_cycles + 1)]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def run_prepare(tmp_path, csv_path, protocol, reference=1.1):
    out = SimpleNamespace(dataset=tmp_path / "out/dataset.npz", info=tmp_path / "out/dataset.json",
                          series=tmp_path / "out/series.csv.gz", dropped=tmp_path / "out/dropped.csv")
    params = SimpleNamespace(name="mine", protocol=protocol, cleaning=CLEANING, fit_lengths=[],
                             dataset={"adapter": "csv", "file": str(csv_path), "soh_reference_ah": reference,
                                      **CSV_COLUMNS})
    try:
        data_rule.run(None, out, params, tmp_path / "out/prepare.log")
    finally:
        written = [p for p in vars(out).values() if p.exists()]
    return written


def expect_error(tmp_path, csv_path, protocol, *fragments, reference=1.1):
    with pytest.raises(InputError) as e:
        run_prepare(tmp_path, csv_path, protocol, reference)
    for fragment in fragments:
        assert fragment in str(e.value), str(e.value)
    assert "Fix:" in str(e.value)
    assert not any(p.exists() for p in (tmp_path / "out").glob("*") if p.suffix != ".log")
    return str(e.value)


def test_good_csv_runs(tmp_path):
    path = write_capacity(tmp_path / "ok.csv")
    written = run_prepare(tmp_path, path, cells_protocol(test_cells=["c3"]))
    assert len(written) == 4


def test_missing_file(tmp_path):
    expect_error(tmp_path, tmp_path / "nope.csv", cells_protocol(), "nope.csv", "does not exist")


def test_missing_column(tmp_path):
    path = tmp_path / "m.csv"
    pd.DataFrame({"cell_id": ["a"], "cycle": [1]}).to_csv(path, index=False)
    expect_error(tmp_path, path, cells_protocol(), "m.csv", "capacity_ah", "missing column")


def test_non_numeric_value(tmp_path):
    path = write_capacity(tmp_path / "t.csv")
    frame = pd.read_csv(path)
    frame["capacity_ah"] = frame["capacity_ah"].astype(object)
    frame.loc[45, "capacity_ah"] = "1,05"
    frame.to_csv(path, index=False)
    expect_error(tmp_path, path, cells_protocol(), "t.csv", "cell c1", "column 'capacity_ah'",
                 "not a number ('1,05')", "line 47")


def test_nan_value(tmp_path):
    path = write_capacity(tmp_path / "n.csv")
    frame = pd.read_csv(path)
    frame.loc[3, "capacity_ah"] = np.nan
    frame.to_csv(path, index=False)
    expect_error(tmp_path, path, cells_protocol(), "n.csv", "cell c0", "empty (NaN)")


def test_duplicate_cycles(tmp_path):
    path = write_capacity(tmp_path / "d.csv")
    frame = pd.read_csv(path)
    frame.loc[5, "cycle"] = 5   # row 5 is cycle 6 of c0: now cycle 5 twice
    frame.to_csv(path, index=False)
    expect_error(tmp_path, path, cells_protocol(), "d.csv", "cell c0", "cycle 5 appears 2 times")


def test_cell_too_short_for_one_window(tmp_path):
    path = write_capacity(tmp_path / "s.csv")
    frame = pd.read_csv(path)
    frame = frame[(frame["cell_id"] != "c2") | (frame["cycle"] <= 12)]
    frame.to_csv(path, index=False)
    msg = expect_error(tmp_path, path, cells_protocol(), "s.csv", "cell c2", "1 of 4 cells",
                       "c2 (12)", "exclude_cells")
    assert "20 = input_len + output_len" in msg


def test_windows_longer_than_every_cell_name_the_window_as_the_fix(tmp_path):
    path = write_capacity(tmp_path / "l.csv")
    longest = pd.read_csv(path).groupby("cell_id").size().max()
    protocol = {**cells_protocol(), "input_len": int(longest)}
    msg = expect_error(tmp_path, path, protocol, "l.csv", "4 of 4 cells", "shorten protocols.")
    assert f"the longest cell has {longest} values" in msg and "exclude_cells" not in msg


def test_capacity_in_mah_or_no_rows_is_named_not_blamed_on_the_split(tmp_path):
    path = write_capacity(tmp_path / "mah.csv")
    frame = pd.read_csv(path)
    frame["capacity_ah"] *= 1000.0                          # a column in mAh
    frame.to_csv(path, index=False)
    expect_error(tmp_path, path, cells_protocol(test_cells=["c3"]), "mah.csv",
                 "cleaning dropped every row of every cell: 160 above_max",
                 "set the dataset's soh_reference_ah (1.1) to the cells' rated capacity in the "
                 "capacity column's unit (e.g. 1100")
    empty = tmp_path / "empty.csv"
    empty.write_text("cell_id,cycle,capacity_ah\n")
    expect_error(tmp_path, empty, cells_protocol(), "empty.csv", "has no rows")


def test_unknown_cell_in_a_split(tmp_path):
    path = write_capacity(tmp_path / "u.csv")
    expect_error(tmp_path, path, cells_protocol(test_cells=["c9"]), "config.yaml", "c9",
                 "test_cells")


def test_cell_in_two_splits(tmp_path):
    path = write_capacity(tmp_path / "w.csv")
    expect_error(tmp_path, path, cells_protocol(test_cells=["c1"], test2_cells=["c1"]),
                 "c1 is listed in two splits")


def test_whole_series_smoothing_refused_for_cells(tmp_path):
    path = write_capacity(tmp_path / "x.csv")
    protocol = {**cells_protocol(test_cells=["c3"]),
                "smoothing": {"method": "savgol", "window": 5, "order": 2}}
    expect_error(tmp_path, path, protocol, "inputs see their targets", "smoothing")


def test_fractional_cycle(tmp_path):
    path = write_capacity(tmp_path / "f.csv")
    frame = pd.read_csv(path)
    frame["cycle"] = frame["cycle"].astype(float)
    frame.loc[2, "cycle"] = 2.5
    frame.to_csv(path, index=False)
    with pytest.raises(InputError, match="not a whole number"):
        user_csv.load_user_csv(path, *CSV_COLUMNS.values())


def test_anchor_longer_than_the_input_window(tmp_path):
    path = write_capacity(tmp_path / "a.csv")
    expect_error(tmp_path, path, {**cells_protocol(test_cells=["c3"]), "anchor_len": 11},
                 "anchor_len 11", "anchor_len")
    expect_error(tmp_path, path, {**cells_protocol(test_cells=["c3"]), "scaling": "quadratic",
                                  "trend_len": 12}, "trend_len 12")


def test_a_csv_with_its_own_column_names_is_told_about_them(tmp_path):
    from dlnet.data.user_csv import load_user_csv

    rows = pd.DataFrame({"cell": ["a", "a", "b"], "cycle_no": [1, 1, 1], "cap_Ah": [1.0] * 3})
    path = tmp_path / "own.csv"
    rows.to_csv(path, index=False)
    with pytest.raises(InputError, match="column 'cycle_no': cycle 1 appears 2 times"):
        load_user_csv(path, "cell", "cycle_no", "cap_Ah")
    with pytest.raises(InputError, match="missing column.*'capacity'.*Fix: add the column, or set "
                       "capacity_column of the dataset"):
        load_user_csv(path, "cell", "cycle_no", "capacity")
    rows.to_csv(path, index=False, sep=";")
    with pytest.raises(InputError, match="with commas between the columns"):
        load_user_csv(path, "cell", "cycle_no", "cap_Ah")


def test_a_dataset_path_that_does_not_exist_fails_before_any_job(root):
    """Snakemake would keep the results made from the old path: the check runs when the
    workflow is planned. A download's target may be missing; the files beside it may not."""
    import copy

    from dlnet.config import load
    from dlnet.data.sources import check_files

    config = load()
    check_files(config, root)
    typo = copy.deepcopy(config)
    typo["datasets"]["severson2019"]["summary"] = "data/severson2019/severson_summary.csv"
    with pytest.raises(InputError, match="column 'datasets.severson2019': protocol cells reads "
                       "data/severson2019/severson_summary.csv, which does not exist"):
        check_files(typo, root)
    raw = copy.deepcopy(config)
    raw["protocols"]["cells"]["dataset"] = "matr_raw"       # batch files not downloaded yet
    check_files(raw, root)
    raw["datasets"]["matr_raw"]["cells"] = "data/nope.csv"
    with pytest.raises(InputError, match="data/nope.csv"):
        check_files(raw, root)
    raw["protocols"]["cells"]["dataset"] = "severson"
    with pytest.raises(InputError, match="column 'protocols.cells.dataset': protocol cells reads "
                       "dataset 'severson'.*Fix: use one of .*'severson2019'"):
        check_files(raw, root)


def test_the_rated_capacity_sets_the_units_and_the_cleaning_limits(tmp_path):
    """The cleaning limits are fractions of soh_reference_ah: a column in mAh with the rating in
    mAh gives the SOH of the same column in Ah, and cells larger than the study's keep their
    first cycles (limits in Ah dropped every reading of a 2.5 Ah cell above 1.2 Ah)."""
    ah = write_capacity(tmp_path / "ah.csv")
    run_prepare(tmp_path, ah, cells_protocol(test_cells=["c3"]))
    soh_ah = pd.read_csv(tmp_path / "out/series.csv.gz")["soh"]
    frame = pd.read_csv(ah)
    for name, factor in (("mah", 1000.0), ("big", 2.5 / 1.1)):
        path = tmp_path / f"{name}.csv"
        frame.assign(capacity_ah=frame["capacity_ah"] * factor).to_csv(path, index=False)
        run_prepare(tmp_path, path, cells_protocol(test_cells=["c3"]), reference=1.1 * factor)
        out = pd.read_csv(tmp_path / "out/series.csv.gz")
        assert np.allclose(out["soh"], soh_ah, rtol=1e-12) and len(out) == 160
        assert len(pd.read_csv(tmp_path / "out/dropped.csv")) == 0


def test_a_rated_capacity_in_another_unit_than_the_column_is_refused(tmp_path):
    """soh_reference_ah 1000 x too large cleans nothing away and trains on SOH ~0.001, whose
    errors read 1000 x too small: the cells' start says which unit is wrong."""
    path = write_capacity(tmp_path / "ratio.csv")
    msg = expect_error(tmp_path, path, cells_protocol(test_cells=["c3"]), "ratio.csv",
                       "the cells start at SOH 0.000995 (capacity / soh_reference_ah 1100",
                       "their readings start near 1.09", reference=1100)
    assert "outside 0.5-1.5" in msg
    # too small a rating: every reading is above max_soh times it
    expect_error(tmp_path, path, cells_protocol(test_cells=["c3"]), "ratio.csv",
                 "160 above_max", "soh_reference_ah (0.0011)", reference=0.0011)


def test_cell_ids_are_the_file_s_text(tmp_path):
    """pandas alone reads '01' as 1, '2.10' as '2.1', 'NA' as missing (a cell that every split
    then leaves out without a word), and keeps a stray space that makes a second cell."""
    ids = ["NA", "01", "1", "2.10", "2.1", " c3 "]
    rows = [{"cell": c, "n": k, "ah": 1.1 - 0.001 * k, "capacity_ah": 0.5}
            for c in ids for k in range(1, 31)]
    rows.append({"cell": "c3", "n": 31, "ah": 1.07, "capacity_ah": 0.5})
    path = tmp_path / "ids.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    table = user_csv.load_user_csv(path, "cell", "n", "ah")
    assert table.groupby("cell_id").size().to_dict() == {
        "01": 30, "1": 30, "2.1": 30, "2.10": 30, "NA": 30, "c3": 31}
    # the file's own capacity_ah column (a charge capacity, say) does not replace `ah`
    assert table["capacity_ah"].max() == pytest.approx(1.099)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[40, "cell"] = "  "
    frame.to_csv(path, index=False)
    with pytest.raises(InputError, match="ids.csv, column 'cell': line 42 has no cell id; 1 such"):
        user_csv.load_user_csv(path, "cell", "n", "ah")


def test_a_decimal_comma_is_named(tmp_path):
    path = tmp_path / "comma.csv"
    path.write_text('cell,cycle,ah\nc1,1,"1,0680"\nc1,2,"1,0675"\n')
    with pytest.raises(InputError, match="line 2 is not a number \\('1,0680'\\); 2 such.*decimal "
                       "point"):
        user_csv.load_user_csv(path, "cell", "cycle", "ah")


def test_an_error_names_the_line_an_editor_shows(tmp_path):
    """pandas skips blank lines when it counts rows: the error counts the file's lines."""
    path = tmp_path / "blank.csv"
    path.write_text("\ncell,cycle,ah\n01,1,1.1\n\n01,2,1.09\n,3,1.08\n01,4,x\n")
    with pytest.raises(InputError, match="blank.csv, column 'cell': line 6 has no cell id"):
        user_csv.load_user_csv(path, "cell", "cycle", "ah")
    path.write_text(path.read_text().replace("\n,3,", "\n01,3,"))
    with pytest.raises(InputError, match="column 'ah': line 7 is not a number \\('x'\\)"):
        user_csv.load_user_csv(path, "cell", "cycle", "ah")
