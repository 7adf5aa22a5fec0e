"""The candidates table: one row per model (and per baseline, as a zero-cost reference)."""

import pandas as pd

from dlnet.io import read_json

SCORE_SPLITS = ("val", "test", "test2", "segments")
COLUMNS = ["name", "stage", "family", "width", "ratio", "params", "macs", "int8_bytes",
           *(f"{s}_mae" for s in SCORE_SPLITS), "front", "model"]


def model_row(metrics_path, model_path):
    m = read_json(metrics_path)
    row = {k: m.get(k) for k in ("name", "stage", "family", "width", "ratio", "params", "macs",
                                 "int8_bytes")}
    row.update({f"{s}_mae": m[s]["mae"] if s in m else None for s in SCORE_SPLITS})
    row["model"] = str(model_path)
    return row


def baseline_rows(baselines_path):
    b = read_json(baselines_path)
    rows = []
    for name, r in b.items():
        if name == "versions":
            continue
        row = {"name": f"{name} (k={r['fit_len']})", "stage": "baseline", "params": 0, "macs": 0,
               "int8_bytes": 0, "model": ""}
        row.update({f"{s}_mae": r[s]["mae"] if s in r else None for s in SCORE_SPLITS})
        rows.append(row)
    return rows


def table(model_metrics, model_paths, baselines_path=None):
    rows = [model_row(m, p) for m, p in zip(model_metrics, model_paths)]
    if baselines_path:
        rows += baseline_rows(baselines_path)
    frame = pd.DataFrame(rows).reindex(columns=COLUMNS)
    for c in ("width", "params", "macs", "int8_bytes"):
        frame[c] = frame[c].astype("Int64")
    empty = [c for c in frame.columns if c.endswith("_mae") and frame[c].isna().all()]
    return frame.drop(columns=empty)
