"""The DLNet paper's own (already smoothed) SOH series and its 16 evaluation segments."""

import json

import pandas as pd

from dlnet.data.adapters import Adapter, Loaded
from dlnet.data.table import check_cycles, numeric_column, read_csv, require_columns
from dlnet.errors import InputError


def load_series(path):
    """Columns cell_id (Bat001...), cycle (= paper index + 1), soh."""
    frame = read_csv(path, "DLNet SOH series")
    require_columns(frame, path, ["battery", "index", "soh"])
    table = pd.DataFrame({
        "cell_id": frame["battery"].astype(str),
        "cycle": numeric_column(frame, path, "index", "battery").astype(int) + 1,
        "soh": numeric_column(frame, path, "soh", "battery"),
    })
    return check_cycles(table, path)


def load_segments(path):
    """The paper's fixed segments: list of dicts cell_id, start, end (0-based series index), band."""
    try:
        with open(path) as f:
            raw = json.load(f)
    except FileNotFoundError:
        raise InputError(path, "the segments file does not exist",
                         "check protocols.paper.segments in config.yaml") from None
    except json.JSONDecodeError as e:
        raise InputError(path, f"is not valid JSON ({e})", "restore the shipped file") from None
    segments = []
    for i, seg in enumerate(raw):
        for key in ("battery", "start", "end"):
            if key not in seg:
                raise InputError(path, f"segment {i} has no '{key}'",
                                 "every segment needs battery, start and end", column=key)
        segments.append({
            "cell_id": str(seg["battery"]).removesuffix("_SOH"),
            "start": int(seg["start"]),
            "end": int(seg["end"]),
            "band": seg.get("soh_range", ""),
        })
    return segments


ADAPTER = Adapter("dlnet_soh", files=lambda d: [d["series"]],
                  load=lambda d: Loaded(load_series(d["series"]), d["series"], None),
                  path_keys=("series",), measured=False, columns=frozenset())
