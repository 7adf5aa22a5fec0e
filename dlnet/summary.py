"""The main table of a protocol: baselines, teacher, students, the selected model in float, int8
and TFLite, and the paper's published numbers as a marked reference row."""

import math
import numbers

import pandas as pd

from dlnet import paper
from dlnet.io import read_json

SPLIT_COLUMNS = ("val_mae", "test_mae", "test2_mae", "segments_mae")


def _split_maes(metrics):
    return {f"{s}_mae": metrics[s]["mae"] for s in ("val", "test", "test2", "segments") if s in metrics}


def main_table(candidates_csv, selected_json, deploy_metrics=None, size_json=None, m4_report=None):
    cands = pd.read_csv(candidates_csv)
    selected = read_json(selected_json)
    keep = (cands["stage"].isin(["baseline", "teacher", "student"])
            | ((cands["stage"] == "recovered") & (cands["front"] == 1)))
    order = {"baseline": 0, "teacher": 1, "student": 2, "recovered": 3}
    cands = cands[keep].sort_values("stage", key=lambda s: s.map(order), kind="stable")
    rows = []
    for _, r in cands.iterrows():
        row = r.to_dict()
        row["model"] = r["name"] + (" (selected, float)" if r["name"] == selected["name"] else "")
        rows.append(row)
    if deploy_metrics:
        d = read_json(deploy_metrics)
        size = read_json(size_json) if size_json else {}
        m4 = read_json(m4_report) if m4_report else {}
        for kind, label in (("int8", "int8, native C core"), ("tflite", "int8, TFLite Micro")):
            if kind not in d:
                continue
            row = {"model": f"{selected['name']} ({label})", "stage": "deployed",
                   "params": selected.get("params"), "macs": selected.get("macs"),
                   **_split_maes(d[kind])}
            if kind == "int8":
                row["int8_bytes"] = size.get("native_model_bytes")
                row["flash_bytes"] = m4.get("flash_bytes")
                est = m4.get("latency_ms_estimate") or {}
                if est:
                    row["latency_ms"] = f"{est['low']:.3f}-{est['high']:.3f} (est.)"
            else:
                row["int8_bytes"] = size.get("tflite_flatbuffer_bytes")
            rows.append(row)
    rows.append({"model": paper.TEACHER["name"] + " [published]", "stage": "paper",
                 "params": paper.TEACHER["params"], "segments_mae": paper.TEACHER["segments_mae"]})
    rows.append({"model": paper.DEPLOYED["name"] + " [published]", "stage": "paper",
                 "params": paper.DEPLOYED["params"], "macs": paper.DEPLOYED["macs"],
                 "int8_bytes": paper.DEPLOYED["flatbuffer_bytes"],
                 "flash_bytes": paper.DEPLOYED["flatbuffer_bytes"],
                 "latency_ms": f"{paper.DEPLOYED['latency_ms']:.0f} (board)",
                 "segments_mae": paper.DEPLOYED["segments_mae"]})
    frame = pd.DataFrame(rows)
    for c in ("params", "int8_bytes", "macs", "flash_bytes"):
        if c in frame.columns:
            frame[c] = pd.to_numeric(frame[c]).astype("Int64")
    columns = ["model", "stage", "params", "int8_bytes", "macs",
               *[c for c in SPLIT_COLUMNS if c in frame.columns and frame[c].notna().any()],
               *[c for c in ("flash_bytes", "latency_ms") if c in frame.columns]]
    return frame[columns]


def _cell(v):
    if v is None or v is pd.NA or (isinstance(v, numbers.Real) and math.isnan(v)):
        return ""
    if isinstance(v, numbers.Integral):
        return f"{int(v):,}"
    if isinstance(v, numbers.Real):
        return f"{v:.5f}" if abs(v) < 1 else f"{v:,.0f}"
    return str(v)


def to_markdown(frame):
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(_cell(v) for v in row) + " |"
            for row in frame.astype(object).itertuples(index=False)]
    return "\n".join([header, rule, *body])


def firmware_table(m4_report, size_json):
    """The deployed model on a Cortex-M4 beside the paper's board figures."""
    m4, size = read_json(m4_report), read_json(size_json)
    est = m4["latency_ms_estimate"]
    ours = {"model": f"{m4['model']} (native int8 core, QEMU Cortex-M4)",
            "instructions": m4["instructions_per_inference"]["max"],
            "latency_ms": f"{est['low']:.3f}-{est['high']:.3f} (estimate)",
            "flash_bytes": m4["flash_bytes"], "model_bytes": size["native_model_bytes"],
            "ram_bytes": m4["ram_bytes"], "stack_bytes": m4["stack_bytes"],
            "bit_exact": f"{m4['windows_compared']} windows, all: {m4['all_bit_exact']}"}
    tflite = {"model": f"{m4['model']} (int8 TFLite, TFLite Micro interpreter on the host)",
              "model_bytes": size["tflite_flatbuffer_bytes"], "ram_bytes": size["tflite_arena_bytes"]}
    theirs = {"model": paper.DEPLOYED["name"] + " [published]",
              "latency_ms": f"{paper.DEPLOYED['latency_ms']:.0f} (board)",
              "model_bytes": paper.DEPLOYED["flatbuffer_bytes"],
              "ram_bytes": paper.DEPLOYED["arena_bytes"]}
    frame = pd.DataFrame([ours, tflite, theirs])
    for c in ("instructions", "flash_bytes", "model_bytes", "ram_bytes", "stack_bytes"):
        frame[c] = pd.to_numeric(frame[c]).astype("Int64")
    return frame
