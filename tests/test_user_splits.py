"""How a user's per-cycle series becomes windows and splits: gaps in the cycles, the split's
sources and fractions, cell ids that do not match, signals in another unit, and the summary's
words for a configured split."""

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from dlnet import protocols, summary
from dlnet.data.sources import Source, load_source
from dlnet.errors import InputError
from dlnet.run import prepare_data as data_rule
from dlnet.windows import window_starts

N_IN, N_OUT = 10, 10


def cells_protocol(**split):
    return {"kind": "cells", "input_len": N_IN, "output_len": N_OUT, "train_step": 5,
            "eval_step": 5, "split": {"source": "config", "val_fraction": 0.5, "seed": 1, **split},
            "scaling": "anchored", "anchor_len": 3, "exclude_cells": [],
            "smoothing": {"method": "none"}}


def paper_protocol(**extra):
    return {"kind": "paper", "input_len": N_IN, "output_len": N_OUT, "step": 3,
            "split": {"test_fraction": 0.2, "val_fraction": 0.2, "seed": 1}, "scaling": "minmax",
            "anchor_len": 3, "exclude_cells": [], "smoothing": {"method": "none"}, **extra}


def source(cycles_of, max_gap=10, **columns):
    """A Source of cells {id: their cycles}, SOH fading with the cycle, and extra per-cycle
    columns given as a value for every row."""
    rows = [{"cell_id": c, "cycle": k, "soh": 1.0 - 1e-4 * k, **columns}
            for c, cycles in cycles_of.items() for k in cycles]
    return Source(pd.DataFrame(rows), "mine.csv", max_cycle_gap=max_gap)


def plain(n_cells=4, n=60):
    return {f"c{i}": list(range(1, n + 1)) for i in range(n_cells)}


def error(pcfg, src):
    with pytest.raises(InputError) as e:
        protocols.build("mine", pcfg, src)
    assert "Fix:" in str(e.value)
    return str(e.value)


def test_a_gap_over_the_limit_leaves_out_exactly_the_windows_across_it():
    cells = plain()
    cells["c0"] = list(range(1, 41)) + list(range(52, 92))   # values 39 and 40: 11 cycles missing
    pcfg = cells_protocol(test_cells=["c0"])
    src = source(cells, max_gap=10)
    cleaned = src.dropped.copy()
    left_out = []
    splits, _, _ = protocols.build("mine", pcfg, src, left_out=left_out)
    assert src.dropped.equals(cleaned)              # the source is not changed: it may build again
    starts = window_starts(80, N_IN + N_OUT, 5)
    across = [s for s in starts if s <= 39 < s + N_IN + N_OUT - 1]
    assert across == [25, 30, 35]
    assert splits["test"].start.tolist() == [s for s in starts if s not in across]
    assert [(w.split, w.why) for w in left_out] == [("test", "gap")] * 3
    listed = pd.DataFrame([w.row for w in left_out])
    assert listed["cell_id"].tolist() == ["c0"] * 3
    assert listed["reason"].tolist() == [
        f"protocol mine: the test window starting at value {s} spans a gap of 11 cycles "
        "(cycles 41-51), over cleaning.max_cycle_gap 10" for s in across]


def test_a_gap_at_the_limit_is_bridged():
    cells = plain()
    cells["c0"] = list(range(1, 41)) + list(range(51, 91))   # 10 cycles missing
    at_limit, _, _ = protocols.build("mine", cells_protocol(test_cells=["c0"]), source(cells, 10))
    unlimited, _, _ = protocols.build("mine", cells_protocol(test_cells=["c0"]),
                                      source(cells, None))
    assert {s: len(w) for s, w in at_limit.items()} == {s: len(w) for s, w in unlimited.items()}
    assert len(at_limit["test"]) == len(window_starts(80, N_IN + N_OUT, 5))


def test_a_cell_whose_every_window_spans_a_gap_is_named_with_the_limit_that_keeps_one():
    cells = plain()
    cells["c3"] = [1 + 30 * k for k in range(25)]
    msg = error(cells_protocol(), source(cells, 10))
    assert "file mine.csv, cell c3: 1 of 4 cells have every window spanning a gap" in msg
    assert ("raise cleaning.max_cycle_gap to 29, or add ['c3'] to "
            "protocols.mine.exclude_cells") in msg


def test_data_logged_every_k_cycles_is_told_the_limit_that_forecasts_in_logged_values():
    cells = {c: [1 + 50 * k for k in range(60)] for c in plain()}
    msg = error(cells_protocol(test_cells=["c3"]), source(cells, 10))
    assert ("4 of 4 cells have every window spanning a gap of more than "
            "cleaning.max_cycle_gap") in msg
    assert ("cells log every 50 cycles: set cleaning.max_cycle_gap to at least 49 to forecast in "
            "logged values") in msg
    splits, _, _ = protocols.build("mine", cells_protocol(test_cells=["c3"]), source(cells, 49))
    assert len(splits["test"]) == len(window_starts(60, N_IN + N_OUT, 5))


def test_a_paper_segment_across_a_gap_is_refused_naming_the_segments_file(tmp_path):
    cells = plain(n=80)
    cells["c1"] = list(range(1, 41)) + list(range(100, 140))
    path = tmp_path / "segments.json"
    path.write_text(json.dumps([{"battery": "c0", "start": 0, "end": 20},
                                {"battery": "c1", "start": 30, "end": 50}]))
    msg = error(paper_protocol(segments=str(path)), source(cells, 10))
    assert f"file {path}, cell c1: segment 30:50 spans a gap of 59 cycles (cycles 41-99)" in msg
    path.write_text(json.dumps([{"battery": "c1", "start": 50, "end": 70}]))
    splits, _, _ = protocols.build("mine", paper_protocol(segments=str(path)), source(cells, 10))
    assert len(splits["segments"]) == 1
    assert not any(s <= 39 < s + 19 for w in splits.values() for c, s in zip(w.cell, w.start)
                   if c == "c1")


def test_a_segment_of_another_length_than_the_window_is_told_so(tmp_path):
    path = tmp_path / "segments.json"
    path.write_text(json.dumps([{"battery": "c0", "start": 0, "end": 40}]))
    msg = error(paper_protocol(segments=str(path)), source(plain(n=80)))
    assert f"segment 0:40 holds 40 values, not the {N_IN + N_OUT} of an input_len + output_len" in msg
    path.write_text(json.dumps([{"battery": "c0", "start": 70, "end": 90}]))
    assert "segment 70:90 ends past the 80-value series" in error(
        paper_protocol(segments=str(path)), source(plain(n=80)))


def test_no_window_of_the_shipped_data_is_left_out_for_a_gap(root):
    """The study's cells skip at most the one cycle cleaning drops; the paper's series (SOH, not
    measured capacity, so no gap limit applies) step by one cycle everywhere."""
    from conftest import shipped_splits
    from dlnet.config import load as load_config
    from dlnet.data import adapters
    from dlnet.standalone import PROTOCOL_PATH_KEYS, _rooted

    config = load_config(root / "config.yaml")
    sources = {}
    for protocol in ("cells", "paper"):
        pcfg = _rooted(config["protocols"][protocol], root, PROTOCOL_PATH_KEYS)
        dataset = config["datasets"][pcfg["dataset"]]
        sources[protocol] = load_source(_rooted(dataset, root, adapters.get(dataset).path_keys),
                                        config["cleaning"])
    assert sources["cells"].max_cycle_gap == config["cleaning"]["max_cycle_gap"]
    assert sources["paper"].max_cycle_gap is None
    steps = sources["paper"].series.groupby("cell_id")["cycle"].diff().dropna()
    assert (steps == 1).all()
    src = sources["cells"]
    src.max_cycle_gap = None
    pcfg = _rooted(config["protocols"]["cells"], root, PROTOCOL_PATH_KEYS)
    unlimited, _, _ = protocols.build("cells", pcfg, src, config["baselines"]["fit_lengths"])
    shipped, _ = shipped_splits("cells")
    assert {s: len(w) for s, w in shipped.items()} == {s: len(w) for s, w in unlimited.items()}


def test_a_study_split_with_listed_test_cells_is_refused():
    src = source(plain())
    src.study_split = {"c0": "train", "c1": "train", "c2": "test", "c3": "test2"}
    msg = error(cells_protocol(source="study", test_cells=["c1"]), src)
    assert "column 'protocols.mine.split'" in msg
    assert "remove test_cells, or set protocols.mine.split.source to config" in msg


def test_a_val_fraction_that_holds_out_no_cell_is_refused():
    msg = error(cells_protocol(test_cells=["c3"], val_fraction=0), source(plain()))
    assert "val_fraction 0 of 3 training cells holds out no validation cell" in msg
    assert "raise val_fraction to at least 0.33, or list validation cells" in msg
    splits, _, _ = protocols.build("mine", cells_protocol(test_cells=["c3"], val_cells=["c0"]),
                                   source(plain()))
    assert set(splits["val"].cell) == {"c0"}
    msg = error(paper_protocol(split={"test_fraction": 0.2, "val_fraction": 0, "seed": 1}),
                source(plain()))
    assert "has no val windows" in msg and "validation needs at least one window" in msg


def test_an_unknown_cell_is_shown_beside_ids_that_exist():
    msg = error(cells_protocol(test_cells=["c1 "]), source(plain()))
    assert "protocols.mine.split.test_cells names 1 cell(s) not in the dataset" in msg
    assert "'c1 '" in msg and "e.g. 'c0', 'c1', 'c2', 'c3'" in msg
    msg = error({**cells_protocol(), "exclude_cells": ["01"]}, source(plain()))
    assert "protocols.mine.exclude_cells names 1 cell(s) not in the dataset: '01'" in msg


def test_a_signal_in_another_unit_names_its_column_and_range():
    src = source(plain(), IR=18.0)                            # mOhm, not Ohm
    msg = error({**cells_protocol(test_cells=["c3"]), "signals": ["ir_level"]}, src)
    assert "file mine.csv, column 'IR': protocol mine has no train windows: 240 of 240" in msg
    assert "outside its plausible range (0, 1] Ohm" in msg
    assert "convert the column to Ohm (signal_columns names it), or remove 'ir_level'" in msg


def test_prepare_data_logs_the_gap_rule_and_an_unused_cells_file(tmp_path, root):
    from dlnet.config import load as load_config

    rows = [{"cell_id": f"c{i}", "cycle": k, "capacity_ah": 1.1 - 1e-4 * k}
            for i in range(4) for k in list(range(1, 41)) + list(range(60, 100))]
    pd.DataFrame(rows).to_csv(tmp_path / "cap.csv", index=False)
    (tmp_path / "cells.csv").write_text("cell_id,split\n" + "".join(
        f"c{i},Train\n" for i in range(4)))
    out = SimpleNamespace(**{k: tmp_path / f"out/{k}" for k in ("dataset", "info", "series",
                                                               "dropped")})
    params = SimpleNamespace(
        name="mine", protocol=cells_protocol(test_cells=["c3"]), fit_lengths=[],
        cleaning=load_config(root / "config.yaml")["cleaning"],
        dataset={"adapter": "csv", "file": str(tmp_path / "cap.csv"), "soh_reference_ah": 1.1,
                 "cells": str(tmp_path / "cells.csv"), "cell_column": "cell_id",
                 "cycle_column": "cycle", "capacity_column": "capacity_ah"})
    data_rule.run(None, out, params, tmp_path / "prepare.log")
    log = (tmp_path / "prepare.log").read_text()
    assert f"the split of the dataset's cells file ({tmp_path / 'cells.csv'}) is not used" in log
    assert "12 window(s) left out: a gap over cleaning.max_cycle_gap" in log
    dropped = pd.read_csv(out.dropped)
    assert dropped.columns.tolist() == ["cell_id", "cycle", "capacity", "soh", "reason"]
    assert dropped["reason"].str.contains("spans a gap").sum() == 12


def test_the_summary_describes_a_configured_split_not_the_studys():
    pcfg = {**cells_protocol(test_cells=["a1", "a2"], test2_cells=["b1"]),
            "candidates": {"baselines": True}}
    text = protocols.describe(pcfg)
    assert "the test cells (a1, a2) and the test2 cells (b1)" in text
    assert "study" not in text and "Prim. Test" not in text
    study = protocols.describe({**pcfg, "split": {"source": "study"}})
    assert "Prim. Test" in study


def test_the_published_rows_are_left_out_for_another_dataset(tmp_path):
    pd.DataFrame([{"name": "quadratic", "stage": "baseline", "front": 0, "finalist": False,
                   "params": 0, "int8_bytes": 10, "macs": 5, "val_mae": 0.01}]).to_csv(
        tmp_path / "c.csv", index=False)
    (tmp_path / "s.json").write_text(json.dumps({"name": "quadratic"}))
    shown = {a: summary.main_table(tmp_path / "c.csv", tmp_path / "s.json", adapter=a)
             for a in ("dlnet_soh", "severson2019", "csv")}
    assert shown["dlnet_soh"]["stage"].tolist() == ["baseline", "paper", "paper"]
    assert shown["severson2019"]["stage"].tolist() == ["baseline", "paper", "paper"]
    assert shown["csv"]["stage"].tolist() == ["baseline"]


def test_a_few_glitches_are_not_blamed_on_the_unit():
    """Training cells that record no IR (0: the study's 'nothing recorded') and one glitch in a
    test cell: the split lacks the signal, the column's unit is fine."""
    src = source(plain(), IR=0.0)
    src.series.loc[(src.series["cell_id"] == "c3") & (src.series["cycle"] == 5), "IR"] = 5.0
    msg = error({**cells_protocol(test_cells=["c3"]), "signals": ["ir_level"]}, src)
    assert "has no train windows" in msg and "convert the column" not in msg
    assert "or only signals its cells record" in msg


def test_one_missing_cycle_over_a_zero_limit_and_an_empty_training_split_read_right():
    cells = plain()
    cells["c0"] = list(range(1, 41)) + list(range(42, 82))
    src = source(cells, max_gap=0)
    left_out = []
    protocols.build("mine", cells_protocol(test_cells=["c0"]), src, left_out=left_out)
    assert any("spans a gap of 1 cycle (cycle 41), over" in w.row["reason"] for w in left_out)
    msg = error(paper_protocol(split={"test_fraction": 0.2, "val_fraction": 1.0, "seed": 1}),
                source(plain()))
    assert "has no train windows" in msg and "hold out fewer" in msg


def test_a_test_cell_without_a_signal_is_named_where_its_scores_are_read(tmp_path, root):
    """A cell that records no IR keeps no window of a protocol that reads it: the test scores
    then speak for fewer cells than the split names, and the summary says which."""
    from dlnet.config import load as load_config

    rows = [{"cell_id": f"c{i}", "cycle": k, "capacity_ah": 1.1 - 1e-4 * k,
             "IR": 0.018 if i != 4 else 0.0} for i in range(5) for k in range(1, 61)]
    pd.DataFrame(rows).to_csv(tmp_path / "cap.csv", index=False)
    out = SimpleNamespace(**{k: tmp_path / f"out/{k}" for k in ("dataset", "info", "series",
                                                               "dropped")})
    params = SimpleNamespace(
        name="mine", protocol={**cells_protocol(test_cells=["c3", "c4"]), "signals": ["ir_level"]},
        fit_lengths=[], cleaning=load_config(root / "config.yaml")["cleaning"],
        dataset={"adapter": "csv", "file": str(tmp_path / "cap.csv"), "soh_reference_ah": 1.1,
                 "cell_column": "cell_id", "cycle_column": "cycle",
                 "capacity_column": "capacity_ah"})
    data_rule.run(None, out, params, tmp_path / "prepare.log")
    info = json.loads(out.info.read_text())
    assert info["cells_left_out"] == {"test": ["c4"]}
    assert "split test: 1 of its cells kept no window" in (tmp_path / "prepare.log").read_text()
    note = summary.validation_note(info["splits"], info["cells_left_out"])
    assert "1 test cell(s) kept no window, for lack of a valid value of a signal, and are left " \
           "out of its scores: c4." in note


def test_a_smoothing_order_not_below_its_window_is_refused():
    msg = error(paper_protocol(smoothing={"method": "savgol", "window": 3, "order": 3}),
                source(plain()))
    assert "protocols.mine.smoothing.order (3) is not below its window (3)" in msg


def test_listed_validation_cells_need_no_fraction_and_an_empty_list_is_refused():
    listed = cells_protocol(test_cells=["c3"], val_cells=["c0"])
    listed["split"] = {k: v for k, v in listed["split"].items() if k not in ("val_fraction", "seed")}
    splits, _, _ = protocols.build("mine", listed, source(plain()))   # nothing left to draw
    assert set(splits["val"].cell) == {"c0"}
    msg = error({**listed, "split": {**listed["split"], "val_cells": []}}, source(plain()))
    assert "protocols.mine.split.val_cells lists no cell" in msg


def test_the_description_says_what_was_configured(root):
    """The summary's first paragraph follows the protocol as configured and as its data came out,
    not the shipped config.yaml."""
    import yaml

    shipped = yaml.safe_load((root / "config.yaml").read_text())["protocols"]
    paper, cells = shipped["paper"], shipped["cells"]
    text = protocols.describe(paper, {"train": {}, "test": {}, "segments": {"windows": 16}})
    assert "smoothed (Savitzky-Golay, window 5, order 2), 20% of each cell's windows held out " \
           "at random, plus the paper's 16 segments. Test windows overlap" in text
    bare = {**paper, "smoothing": {"method": "none"}, "segments": None,
            "split": {**paper["split"], "test_fraction": 0.0}}
    text = protocols.describe(bare, {"train": {}, "val": {}})
    assert "series not smoothed, no windows held out at random. Nothing is held out, so only " \
           "validation scores the models." in text and "overlap" not in text
    text = protocols.describe({**bare, "split": {**paper["split"], "test_fraction": 0.125},
                               "segments": "mine.json"}, {"test": {}, "segments": {"windows": 4}})
    assert "12.5% of each cell's windows held out at random, plus 4 fixed segments (mine.json)" in text
    # test2 kept no window: only test is scored
    text = protocols.describe(cells, {"train": {}, "val": {}, "test": {}}, trend_len=70)
    assert "every window of the Prim. Test (test) cells is scored" in text and "test2" not in text
    assert "the parabola's length chosen on validation (70 inputs)" in text
    assert "a parabola through the last 30 inputs" in protocols.describe({**cells, "trend_len": 30})
    fixed = {k: v for k, v in cells.items() if k != "trend_len"}
    assert "a parabola through the last 100 inputs" in protocols.describe(fixed)
    assert "Inputs scaled anchored" in protocols.describe({**cells, "scaling": "anchored"})
