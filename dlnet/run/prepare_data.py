"""Rule prepare_data: dataset -> cleaned series -> windows of one protocol, and the scaler."""

import json

import pandas as pd

from dlnet import protocols
from dlnet.data.sources import DROPPED_COLUMNS, load_source
from dlnet.io import versions, write_csv, write_json
from dlnet.logs import Log


def run(input, output, params, log, threads=1):
    log = Log(log)
    pcfg, dataset = params.protocol, params.dataset
    log(f"protocol {params.name} ({pcfg['kind']}), dataset adapter {dataset['adapter']}")
    source = load_source(dataset, params.cleaning)
    for reason, n in source.dropped["reason"].value_counts().items():
        log(f"cleaning dropped {n} row(s): {reason}")
    if source.study_split is not None and pcfg["split"].get("source") == "config":
        log(f"split.source is config: the split of the dataset's cells file "
            f"({dataset.get('cells')}) is not used")
    left_out = []
    splits, scaler, series = protocols.build(params.name, pcfg, source, params.fit_lengths,
                                             left_out)
    for why, text in (("gap", f"a gap over cleaning.max_cycle_gap "
                              f"({source.max_cycle_gap}) missing cycles"),
                      ("signal", "no valid value of a signal")):
        n = sum(1 for w in left_out if w.why == why)
        if n:
            log(f"{n} window(s) left out: {text} (dropped.csv)")
    dropped = source.dropped
    if left_out:
        dropped = pd.concat([dropped, pd.DataFrame([w.row for w in left_out],
                                                   columns=DROPPED_COLUMNS)], ignore_index=True)
    info = {"protocol": params.name, "kind": pcfg["kind"], "dataset": dataset["adapter"],
            "scaler": scaler.to_dict(), "splits": protocols.summary(splits),
            "dropped_rows": int(len(dropped)), "config": pcfg, "versions": versions()}
    for s, d in info["splits"].items():
        log(f"split {s}: {d['windows']} windows from {len(d['cells'])} cells")
    if pcfg["kind"] == "paper" and "test" not in splits:
        log(f"split test: no windows (split.test_fraction {pcfg['split']['test_fraction']:g}), "
            "so it is not scored")
    info["cells_left_out"] = cells_left_out(pcfg["kind"], series, splits)
    for s, cells in info["cells_left_out"].items():
        if s in splits:
            log(f"split {s}: {len(cells)} of its cells kept no window (no valid value of a "
                f"signal), so its scores leave them out: {cells}")
        else:
            log(f"split {s}: none of its {len(cells)} cells kept a window (no valid value of a "
                f"signal), so it is not scored: {cells}")
    if "segments" in splits:
        info["segment_overlaps"] = protocols.segment_overlaps(splits)
        for o in info["segment_overlaps"]:
            if o["same_window_as"]:
                log(f"segment {o['cell_id']}@{o['start']} is also a {o['same_window_as']} window")
        log("every segment overlaps training windows of its cell: "
            f"{min(o['overlapping_train_windows'] for o in info['segment_overlaps'])} to "
            f"{max(o['overlapping_train_windows'] for o in info['segment_overlaps'])} each")
    if pcfg.get("trend_len") == "validation":
        log(f"trend_len {scaler.trend_len}: the quadratic baseline's best fit length on validation")
    log(f"scaler {json.dumps(scaler.to_dict())}")
    write_csv(output.dropped, dropped)
    write_csv(output.series, series)
    protocols.save(output.dataset, splits)
    write_json(output.info, info)


def cells_left_out(kind, series, splits):
    """{split: cells} of a cells protocol whose cells of that split kept no window (a signal
    without a valid value in any of them): the split's scores then speak for fewer cells than it
    names. A paper protocol splits windows, not cells."""
    if kind != "cells":
        return {}
    out = {}
    for s in series["split"].unique():
        if s == "excluded":
            continue
        named = set(series.loc[series["split"] == s, "cell_id"])
        kept = set(splits[s].cell.tolist()) if s in splits else set()
        lost = sorted(named - kept)
        if lost:
            out[s] = lost
    return out
