"""The summary's words and numbers: what it says follows what ran."""

import numpy as np
import pytest

from dlnet import protocols, summary
from dlnet.errors import InputError
from dlnet.firmware import held_out_windows
from dlnet.windows import WindowSet


def test_numbers_keep_the_digits_they_need():
    cells = [summary._cell(v) for v in (0.001234, 1.0059, 14.58, 5992.0, 12345.6, 3,
                                        float("inf"), float("nan"), None)]
    assert cells == ["0.00123", "1.006", "14.58", "5,992", "12,346", "3", "inf", "", ""]


def test_the_selection_note_names_the_rule_that_chose():
    within = summary.finalists_note("within_noise")
    knee = summary.finalists_note("knee")
    assert "Of the candidates within noise and beaten by none, the cheapest is selected." in within
    assert "the cheapest is selected" not in knee
    assert "The rule here is `knee`" in knee and "log(1 + cost)" in knee


def test_a_split_that_kept_no_window_is_said_to_be_unscored():
    splits = {"train": {"windows": 9, "cells": ["a"], "reach": 50},
              "val": {"windows": 3, "cells": ["b"], "reach": 40},
              "test": {"windows": 5, "cells": ["c"], "reach": 60}}
    note = summary.validation_note(splits, {"test": ["d"], "test2": ["e", "f"]})
    assert "1 test cell(s) kept no window" in note and "left out of its scores: d." in note
    assert "No test2 cell kept a window, for lack of a valid value of a signal, so test2 is not " \
           "scored (2 cell(s): e, f)." in note


def windows(n, start=0):
    x = np.full((n, 4), 0.9)
    return WindowSet(x, x[:, :2], ["c"] * n, np.arange(start, start + n))


def test_the_firmware_runs_validation_windows_where_nothing_is_held_out(tmp_path):
    path = tmp_path / "dataset.npz"
    protocols.save(path, {"train": windows(6), "val": windows(3, 100)})
    picked = held_out_windows.pick(path, 2, 4)
    assert picked.split.tolist() == ["val", "val"] and picked.start.tolist() == [100, 102]
    protocols.save(path, {"train": windows(6), "val": windows(3, 100), "test": windows(2, 50)})
    assert held_out_windows.pick(path, 5, 4).split.tolist() == ["test", "test"]
    protocols.save(path, {"train": windows(6)})
    with pytest.raises(InputError, match="has no test/test2/segments windows"):
        held_out_windows.pick(path, 2, 4)
