import numpy as np
import pandas as pd

from dlnet.data.cleaning import clean_capacity


def constructed_cell():
    """A slowly fading cell with one glitch of every kind, at known cycles."""
    cycles = np.arange(1, 61)
    cap = 1.08 - 0.0005 * cycles + 0.001 * np.sin(cycles)  # small noise, far below the jump limit
    cap[0] = 0.0          # all-zero first row
    cap[20] = 2.88        # impossible value
    cap[35] = cap[35] - 0.12   # one-cycle dip
    cap[50] = cap[50] + 0.09   # one-cycle spike
    return pd.DataFrame({"cell_id": "c1", "cycle": cycles, "capacity_ah": cap})


def test_cleaning_drops_exactly_the_glitches():
    table = constructed_cell()
    kept, dropped = clean_capacity(table, rated_ah=1.1, max_soh=1.09, median_window=10,
                                   max_jump_soh=0.045)
    assert dropped["cycle"].tolist() == [1, 21, 36, 51]
    assert dropped["reason"].tolist() == ["zero", "above_max", "jump", "jump"]
    assert len(kept) == len(table) - 4
    assert set(kept["cycle"]).isdisjoint({1, 21, 36, 51})


def test_a_persistent_level_shift_is_kept_after_the_median_catches_up():
    cycles = np.arange(1, 41)
    cap = np.where(cycles <= 20, 1.05, 0.98)  # a real step of 0.07 Ah, e.g. after a long rest
    kept, dropped = clean_capacity(pd.DataFrame({"cell_id": "c", "cycle": cycles, "capacity_ah": cap}))
    # the first few cycles after the step look like glitches, the rest of the cell is kept
    assert 0 < len(dropped) <= 6
    assert kept["cycle"].max() == 40


def test_cleaning_is_per_cell():
    a = constructed_cell()
    b = a.assign(cell_id="c2")
    kept, dropped = clean_capacity(pd.concat([a, b], ignore_index=True))
    assert (dropped.groupby("cell_id").size() == 4).all()


def test_cleaning_looks_backwards_only():
    """A drop of 0.08 Ah that persists: judged by the cycles before it, its first cycle is a
    jump. A median centred on it would see the lower cycles that follow and keep it."""
    cycles = np.arange(1, 41)
    cap = np.where(cycles < 20, 1.05, 0.97)
    kept, dropped = clean_capacity(pd.DataFrame({"cell_id": "c", "cycle": cycles, "capacity_ah": cap}))
    assert 20 in dropped["cycle"].tolist()
    # and no later value changes an earlier decision
    later = cap.copy()
    later[30:] = 0.5
    _, d2 = clean_capacity(pd.DataFrame({"cell_id": "c", "cycle": cycles, "capacity_ah": later}))
    assert d2.loc[d2["cycle"] <= 30, "cycle"].tolist() == dropped.loc[dropped["cycle"] <= 30, "cycle"].tolist()


def test_shipped_severson_data_cleaning_log(root):
    from dlnet.data.severson import load_summary

    table = load_summary(root / "data/severson2019/severson_summary.csv.gz")
    kept, dropped = clean_capacity(table)
    counts = dropped["reason"].value_counts().to_dict()
    assert counts["zero"] == 41          # the batch-1 cells' empty first row
    assert counts["above_max"] == 4      # the README's four QD > 1.2 Ah rows
    assert ((dropped["cell_id"] == "b1c18") & (dropped["cycle"] == 40)).any()
    assert len(kept) + len(dropped) == len(table) == 100501
