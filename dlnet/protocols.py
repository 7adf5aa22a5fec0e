"""The two evaluation protocols: which windows train, select and test a model.

paper: the DLNet protocol as published. Whole series smoothed (Savitzky-Golay), windows cut with
       a fixed step, a random 20% of each cell's windows held out as `test`, plus the paper's 16
       fixed `segments`. Test windows overlap training windows of the same cells, so this measures
       interpolation inside known cells. Unlike the paper, checkpoints are chosen on `val`
       windows carved from the training windows, never on the held-out ones.
cells: a split of whole cells, the study's own (`source: study`: `Train` cells train, a seeded
       subset of them validates, `Prim. Test` cells are `test`, `Sec. test` cells are `test2`) or
       the one config.yaml lists (`source: config`); no cell is in two splits, the series are not
       smoothed, and every window of a test cell is scored.

Windows are cut by position in a cell's series, so a window is left out (and listed in
dropped.csv) where two of its consecutive values lie more than cleaning.max_cycle_gap missing
cycles apart: it would pass for consecutive cycles.
"""

import os
from typing import NamedTuple

import numpy as np

from dlnet import signals as sig
from dlnet.data.dlnet_soh import load_segments
from dlnet.data.smoothing import savgol_series
from dlnet.errors import InputError, config_source, few
from dlnet.scaling import Scaler
from dlnet.windows import WindowSet, cut, largest_steps, window_starts, windows_of_cell

SPLITS = ("train", "val", "test", "test2", "segments")
PAPER_SEGMENTS = "data/dlnet_soh/selected_segments.json"   # the paper's 16 fixed windows


def describe(pcfg, splits=None, trend_len=None):
    """One paragraph for the report: what the protocol measures and what may be deployed.
    `splits` (dataset.json's): the windows each split kept, where the data decides; `trend_len`
    (its scaler's): the parabola's length a `trend_len: validation` protocol chose."""
    splits = splits or {}
    if pcfg["kind"] == "paper":
        smoothing = pcfg["smoothing"]
        smoothed = (f"whole series smoothed (Savitzky-Golay, window {smoothing['window']}, order "
                    f"{smoothing['order']})" if smoothing["method"] == "savgol"
                    else "series not smoothed")
        share = pcfg["split"]["test_fraction"]
        held = (f"{100 * share:g}% of each cell's windows held out at random" if share
                else "no windows held out at random")
        path = pcfg.get("segments")
        n_seg = splits.get("segments", {}).get("windows")
        count = f"{n_seg} " if n_seg is not None else ""
        fixed = ("" if not path else
                 f", plus the paper's {count}segments" if os.path.normpath(path) == PAPER_SEGMENTS
                 else f", plus {count}fixed segments ({path})")
        text = f"The DLNet protocol: {smoothed}, {held}{fixed}."
        if not splits or {"test", "segments"} & set(splits):
            text += (" Test windows overlap training windows of the same cells, so this "
                     "measures interpolation within known cells.")
        else:
            text += " Nothing is held out, so only validation scores the models."
        if pcfg["scaling"] == "minmax":
            text += " As published: min-max scaling."
    else:
        config_split = pcfg["split"]["source"] == "config"
        named = {"test": "the Prim. Test (test) cells", "test2": "the Sec. test (test2) cells"}
        if config_split:
            named = {s: f"the {s} cells ({few(map(str, pcfg['split'][f'{s}_cells']))})"
                     for s in ("test", "test2") if pcfg["split"].get(f"{s}_cells")}
        # a split whose every cell lost its windows (dataset.json) is not scored
        scored = [named[s] for s in named if not splits or s in splits]
        text = ("A cell split set in the configuration" if config_split
                else "The study's own cell split") + ": models never see a test cell; "
        text += (f"every window of {' and '.join(scored)} is scored on raw, unsmoothed SOH."
                 if scored else "no test cell is scored, so only validation scores the models.")
    if pcfg["scaling"] == "quadratic":
        trend = pcfg.get("trend_len", pcfg["input_len"])        # Scaler.fit's default
        chosen = f" ({trend_len} inputs)" if trend_len is not None else ""
        text += (" The models learn the correction to the quadratic extrapolation of the last "
                 "inputs (scaling: quadratic), " + (f"the parabola's length chosen on "
                                                    f"validation{chosen}." if trend == "validation"
                                                    else f"a parabola through the last {trend} "
                                                    "inputs."))
    elif not (pcfg["kind"] == "paper" and pcfg["scaling"] == "minmax"):
        text += f" Inputs scaled {pcfg['scaling']} (dlnet/scaling.py)."
    if pcfg.get("signals"):
        text += (f" Beside the SOH window the models read {', '.join(pcfg['signals'])} "
                 "(dlnet/signals.py).")
    c = pcfg["candidates"]
    text += (" The polynomial baselines and ridge regression compete with the liquid networks "
             "for deployment" if c["baselines"] else
             " Only liquid networks may be deployed (the baselines are shown beside them)")
    if not c.get("teacher", True):
        text += "; the teacher is the students' reference, not a candidate"
    limit, ms = c.get("max_int8_bytes"), c.get("max_latency_ms")
    bounds = [f"{limit:,} bytes of int8 model"] if limit else []
    bounds += [f"{ms:g} ms per inference on a Cortex-M4 at 64 MHz"] if ms else []
    return text + (f", within {' and '.join(bounds)}." if bounds else ".")


def per_cell(series):
    """cell_id -> (cycles, soh) in series order."""
    return {c: (g["cycle"].to_numpy(), g["soh"].to_numpy())
            for c, g in series.groupby("cell_id", sort=True)}


def select_cells(series, include, exclude, field):
    """Keep `include` (all cells when empty) minus `exclude`; unknown ids are an error."""
    known = set(series["cell_id"])
    for key, ids in (("include_cells", include or []), ("exclude_cells", exclude)):
        check_known(ids, known, f"{field}.{key}", "the dataset")
    keep = series["cell_id"].isin(include) if include else True
    return series[keep & ~series["cell_id"].isin(exclude)]


def check_known(ids, known, field, where):
    """InputError when `ids` (config `field`) names cells not in `known`: the ids are shown as
    written (repr), beside some that exist, so that '01' against '1' or a trailing space shows."""
    unknown = sorted(set(ids) - set(known), key=str)
    if unknown:
        shown = few(map(repr, unknown), 8)
        existing = ", ".join(map(repr, sorted(known, key=str)[:8]))
        raise InputError(config_source(), f"{field} names {len(unknown)} cell(s) not in "
                         f"{where}: {shown}", f"write the ids as the dataset does; it has "
                         f"{len(known)} cells, e.g. {existing}", column=field)


def check_lengths(cells, need, source_path, field):
    """Every cell holds one window (`need` values); InputError naming all that do not, and, if
    none does, the window length as the fix (`field`: the protocol's exclude_cells key)."""
    lengths = {cell: len(soh) for cell, (_, soh) in cells.items()}
    short = [cell for cell, n in lengths.items() if n < need]
    if not short:
        return
    listed = few(f"{c} ({lengths[c]})" for c in short)
    protocol = field.rsplit(".", 1)[0]
    if len(short) == len(lengths):
        fix = (f"shorten {protocol}.input_len or output_len: the longest cell has "
               f"{max(lengths.values())} values")
    else:
        fix = (f"add {short} to {field} in config.yaml, or shorten {protocol}.input_len or "
               "output_len")
    raise InputError(source_path, f"has {len(short)} of {len(lengths)} cells with fewer usable "
                     f"values than one window ({need} = input_len + output_len): {listed}", fix,
                     cell=short[0])


class LeftOut(NamedTuple):
    """A window left out of its split: `why` is gap (it spans more missing cycles than
    cleaning.max_cycle_gap) or signal (a signal has no valid value in it); `row` is its
    dropped.csv row (dlnet.data.sources.DROPPED_COLUMNS)."""
    split: str
    why: str
    row: dict


def build(name, pcfg, source, fit_lengths=(), left_out=None):
    """Return (splits: name -> WindowSet, scaler, processed series frame with split column).

    `fit_lengths`: the candidate parabola lengths of `trend_len: validation`
    (baselines.fit_lengths).
    `left_out`: a fresh list that receives a LeftOut for each window the protocol leaves out
    (one list per build: its counts name no protocol); the source is not changed, so that one
    source can build several protocols."""
    left_out = [] if left_out is None else left_out
    series = select_cells(source.series, pcfg.get("include_cells"), pcfg["exclude_cells"],
                          f"protocols.{name}")
    kind = pcfg["kind"]
    _check_lengths_fit(name, pcfg)
    smoothing = pcfg["smoothing"]
    if smoothing["method"] == "savgol":
        if kind != "paper":
            raise InputError(config_source(),
                             "whole-series smoothing lets inputs see their targets",
                             f"set protocols.{name}.smoothing.method to none (only the paper "
                             "protocol smooths, for comparison)", column=f"protocols.{name}.smoothing")
        if smoothing["order"] >= smoothing["window"]:
            raise InputError(config_source(), f"protocols.{name}.smoothing.order "
                             f"({smoothing['order']}) is not below its window "
                             f"({smoothing['window']}): no polynomial of that order smooths",
                             "lower the order or widen the window (the paper's: window 5, "
                             "order 2)", column=f"protocols.{name}.smoothing")
        series = series.copy()
        series["soh"] = series.groupby("cell_id", sort=False)["soh"].transform(
            lambda s: savgol_series(s.to_numpy(), smoothing["window"], smoothing["order"]))
    cells = per_cell(series)
    n_in, n_out = pcfg["input_len"], pcfg["output_len"]
    check_lengths(cells, n_in + n_out, source.path, f"protocols.{name}.exclude_cells")
    gaps = []
    if kind == "paper":
        splits, cell_split = _paper_splits(name, pcfg, cells, n_in, n_out, source.max_cycle_gap,
                                           gaps)
    elif kind == "cells":
        splits, cell_split = _cell_splits(name, pcfg, cells, source, n_in, n_out, gaps)
    else:
        raise InputError(config_source(), f"unknown protocol kind '{kind}'", "use paper or cells",
                         column=f"protocols.{name}.kind")
    left_out += [LeftOut(g["split"], "gap", _gap_row(name, g, source.max_cycle_gap))
                 for g in gaps]
    _check_gap_losses(name, cells, splits, gaps, source)
    names = _check_signals(name, pcfg, series, source.path)
    if names:
        splits = _with_signals(name, splits, sig.cell_columns(series, names), names, n_in,
                               left_out)
    for s in ("train", "val"):
        if not len(splits.get(s, ())):
            _no_windows(name, pcfg, s, names, series, source, left_out)
    # a held-out split left without windows (its cells lack a signal's value, or its share is 0)
    # is no split: nothing scores it; prepare_data logs it (and names a cells protocol's cells)
    splits = {s: w for s, w in splits.items() if len(w)}
    train = splits["train"]
    scaler = Scaler.fit(pcfg["scaling"], train.x, train.y, pcfg["anchor_len"],
                        trend_length(name, pcfg, splits["val"], fit_lengths),
                        sig.fit(names, train.s))
    series = series.assign(split=series["cell_id"].map(cell_split).fillna("excluded"),
                           index=series.groupby("cell_id").cumcount())
    return splits, scaler, series[["cell_id", "split", "index", "cycle", "soh",
                                   *[c for c in sig.COLUMNS if c in series.columns]]]


def _with_signals(name, splits, columns, names, n_in, left_out):
    """The splits with their windows' signals; a window without a value of one (no valid
    per-cycle value in its cycles, dlnet/signals.py) is left out and appended to `left_out`, so
    that dropped.csv says which and why."""
    out = {}
    for s, w in splits.items():
        values = sig.window_values(names, columns, w.cell, w.start, n_in)
        missing = ~np.isfinite(values)
        keep = ~missing.any(axis=1)
        out[s] = WindowSet(w.x[keep], w.y[keep], w.cell[keep], w.start[keep], values[keep])
        for i in np.flatnonzero(~keep):
            lacking = [n for n, m in zip(names, missing[i]) if m]
            left_out.append(LeftOut(s, "signal", _window_row(
                name, s, w.cell[i], w.start[i], f"has no valid {' or '.join(lacking)}")))
    return out


def _no_windows(name, pcfg, split, names, series, source, left_out):
    """The InputError of a protocol whose `split` has no windows, naming what left them out: a
    signal column out of its plausible range (a unit other than dlnet/signals.py reads), a
    signal's missing values, or gaps in the cycles."""
    lacking = sum(1 for w in left_out if w.split == split and w.why == "signal")
    if lacking:
        for signal, column, outside, recorded in sig.out_of_range(series, names):
            low, high = sig.VALID[column]
            unit = sig.UNITS[column]
            raise InputError(source.path, f"protocol {name} has no {split} windows: {outside} of "
                             f"{recorded} values of column '{column}' (signal {signal}) lie "
                             f"outside its plausible range ({low:g}, {high:g}] {unit}",
                             f"convert the column to {unit} (signal_columns names it), or remove "
                             f"'{signal}' from protocols.{name}.signals", column=column)
    spanning = sum(1 for w in left_out if w.split == split and w.why == "gap")
    why = [f"{lacking} left out for lack of a signal's value"] if lacking else []
    why += [f"{spanning} left out for a gap over cleaning.max_cycle_gap"] if spanning else []
    if split == "val":
        more = ("list other validation cells (val_cells)" if "val_cells" in pcfg["split"]
                else f"a larger protocols.{name}.split.val_fraction")
        fix = ("validation needs at least one window (it chooses the model and stops training): "
               f"give it more cells or {more}")
    else:
        fix = (f"give it more cells, or hold out fewer (protocols.{name}.split: a smaller "
               "val_fraction or test_fraction, fewer listed cells)")
    raise InputError(config_source(), f"protocol {name} has no {split} windows"
                     + (f" ({'; '.join(why)})" if why else ""),
                     fix + (", or only signals its cells record" if names else "")
                     + (", or raise cleaning.max_cycle_gap" if spanning else ""),
                     column=f"protocols.{name}.split")


def _gap_free(split, cell, cycles, starts, length, max_gap, gaps):
    """The starts of the windows (`length` values) that span no gap of more than `max_gap`
    missing cycles (None: any); each other window is appended to `gaps`."""
    if max_gap is None:
        return starts
    steps, at = largest_steps(cycles, starts, length)
    over = steps > max_gap + 1
    gaps += [{"split": split, "cell_id": cell, "start": int(start), "missing": int(step) - 1,
              "after": int(cycles[i]), "before": int(cycles[i + 1])}
             for start, step, i in zip(starts[over], steps[over], at[over])]
    return starts[~over]


def _window_row(name, split, cell, start, why):
    """dropped.csv's row of a window left out: no one cycle or capacity reading is at fault."""
    return {"cell_id": str(cell), "cycle": np.nan, "capacity": np.nan, "soh": np.nan,
            "reason": f"protocol {name}: the {split} window starting at value {int(start)} {why}"}


def _gap_row(name, gap, max_gap):
    return _window_row(name, gap["split"], gap["cell_id"], gap["start"],
                       f"spans {_gap_text(gap)}, over cleaning.max_cycle_gap {max_gap}")


def _gap_text(gap):
    first, last = gap["after"] + 1, gap["before"] - 1
    if first == last:
        return f"a gap of 1 cycle (cycle {first})"
    return f"a gap of {gap['missing']} cycles (cycles {first}-{last})"


def _check_gap_losses(name, cells, splits, gaps, source):
    """InputError naming the cells whose every window spans a gap over cleaning.max_cycle_gap
    (each held one before, check_lengths), with the smallest limit that keeps one window of
    each; when every cell lost its windows, the logging step the data shows."""
    kept = {c for s, w in splits.items() if s != "segments" for c in w.cell.tolist()}
    lost = [c for c in cells if c not in kept]
    if not lost:
        return
    least = {c: min(g["missing"] for g in gaps if g["cell_id"] == c) for c in lost}
    listed = few(f"{c} ({least[c]})" for c in lost)
    steps = np.concatenate([np.diff(cycles) for cycles, _ in cells.values()])
    logged = int(np.median(steps))
    needed = max(least.values())
    if len(lost) == len(cells) and logged > source.max_cycle_gap + 1:
        fix = (f"cells log every {logged} cycles: set cleaning.max_cycle_gap to at least "
               f"{logged - 1} to forecast in logged values (input_len and output_len then count "
               "logged values, not cycles)")
    elif len(lost) == len(cells):
        fix = f"raise cleaning.max_cycle_gap to {needed} to keep a window of each cell"
    else:
        fix = (f"raise cleaning.max_cycle_gap to {needed}, or add {lost} to "
               f"protocols.{name}.exclude_cells")
    raise InputError(source.path, f"{len(lost)} of {len(cells)} cells have every window "
                     f"spanning a gap of more than cleaning.max_cycle_gap ({source.max_cycle_gap}) "
                     "missing cycles (in parentheses, the gap that keeps one of its windows): "
                     + listed,
                     fix, cell=lost[0])


def _check_signals(name, pcfg, series, path):
    """The protocol's signals (config.yaml `signals`), each a known one whose column the
    dataset's series has."""
    names = list(pcfg.get("signals", []))
    for s in names:
        field = f"protocols.{name}.signals"
        if s not in sig.SIGNALS:
            raise InputError(config_source(), f"{field} names an unknown signal '{s}'",
                             f"use some of {sorted(sig.SIGNALS)}", column=field)
        if sig.SIGNALS[s].column not in series.columns:
            raise InputError(path, f"has no column '{sig.SIGNALS[s].column}', which signal '{s}' "
                             f"of {field} reads", f"remove '{s}' from {field}, or use a dataset "
                             "that records it", column=sig.SIGNALS[s].column)
    if len(set(names)) != len(names):
        raise InputError(config_source(), f"protocols.{name}.signals lists a signal twice",
                         "list each signal once", column=f"protocols.{name}.signals")
    return names


def _check_lengths_fit(name, pcfg):
    """The scaling's anchors read the end of the input window: they must fit inside it."""
    n_in = pcfg["input_len"]
    if pcfg["scaling"] != "minmax" and not 1 <= pcfg["anchor_len"] <= n_in:
        raise InputError(config_source(), f"anchor_len {pcfg['anchor_len']} does not fit the "
                         f"{n_in}-value input window", f"use 1..{n_in}",
                         column=f"protocols.{name}.anchor_len")
    trend_len = pcfg.get("trend_len", n_in)
    if pcfg["scaling"] == "quadratic" and trend_len != "validation" and not 3 <= trend_len <= n_in:
        raise InputError(config_source(), f"trend_len {pcfg.get('trend_len')} does not fit the "
                         f"{n_in}-value input window", f"use 3..{n_in}",
                         column=f"protocols.{name}.trend_len")


def trend_length(name, pcfg, val, fit_lengths):
    """The quadratic scaling's parabola length: as configured, or (`validation`) the fit length
    of the quadratic baseline with the lowest validation MAE as the int8 core computes it (from
    Q7.24 inputs), so that a deployed model whose output is zero is the best deployable parabola."""
    trend_len = pcfg.get("trend_len", pcfg["input_len"])
    if pcfg["scaling"] != "quadratic" or trend_len != "validation":
        return trend_len
    from dlnet.baselines import best_fit_length, int8_forecast

    usable = [k for k in fit_lengths if 3 <= k <= pcfg["input_len"]]
    if not usable:
        raise InputError(config_source(), f"protocols.{name}.trend_len is validation, but "
                         f"baselines.fit_lengths {list(fit_lengths)} has no length in "
                         f"3..{pcfg['input_len']}", "add fit lengths that fit the input window",
                         column=f"protocols.{name}.trend_len")
    return best_fit_length(val, usable, 2, pcfg["output_len"], int8_forecast)[0]


def _paper_splits(name, pcfg, cells, n_in, n_out, max_gap, gaps):
    split = pcfg["split"]
    rng = np.random.default_rng(split["seed"])
    parts = {"train": [], "val": [], "test": []}
    for cell, (cycles, soh) in cells.items():
        starts = window_starts(len(soh), n_in + n_out, pcfg["step"])
        order = rng.permutation(len(starts))
        n_test = int(round(split["test_fraction"] * len(starts)))
        rest = order[n_test:]
        n_val = int(round(split["val_fraction"] * len(rest)))
        chosen = {"test": order[:n_test], "val": rest[:n_val], "train": rest[n_val:]}
        for s, idx in chosen.items():
            kept = _gap_free(s, cell, cycles, np.sort(starts[idx]), n_in + n_out, max_gap, gaps)
            parts[s].append(windows_of_cell(cell, soh, n_in, n_out, 0, kept))
    splits = {s: WindowSet.concat(p, n_in, n_out) for s, p in parts.items()}
    if pcfg.get("segments"):
        splits["segments"] = _segments(pcfg["segments"], cells, n_in, n_out, max_gap)
    return splits, {c: "train" for c in cells}


def _segments(path, cells, n_in, n_out, max_gap):
    parts = []
    for seg in load_segments(path):
        if seg["cell_id"] not in cells:
            raise InputError(path, "segment names a cell that is not in the series (or is excluded)",
                             "restore the shipped segments file or do not exclude that cell",
                             cell=seg["cell_id"])
        cycles, soh = cells[seg["cell_id"]]
        length = seg["end"] - seg["start"]
        if length != n_in + n_out:
            raise InputError(path, f"segment {seg['start']}:{seg['end']} holds {length} values, "
                             f"not the {n_in + n_out} of an input_len + output_len "
                             f"({n_in}+{n_out}) window", "use segments of input_len + output_len "
                             "values (the paper's hold 100+100)", cell=seg["cell_id"])
        if seg["end"] > len(soh):
            raise InputError(path, f"segment {seg['start']}:{seg['end']} ends past the "
                             f"{len(soh)}-value series", "end it inside the series",
                             cell=seg["cell_id"])
        gap = []
        _gap_free("segments", seg["cell_id"], cycles, np.array([seg["start"]]), n_in + n_out,
                  max_gap, gap)
        if gap:
            raise InputError(path, f"segment {seg['start']}:{seg['end']} spans "
                             f"{_gap_text(gap[0])}, over cleaning.max_cycle_gap {max_gap}",
                             "move the segment to consecutive cycles, or raise "
                             f"cleaning.max_cycle_gap to {gap[0]['missing']}", cell=seg["cell_id"])
        x, y = cut(soh, np.array([seg["start"]]), n_in, n_out)
        parts.append(WindowSet(x, y, [seg["cell_id"]], [seg["start"]]))
    return WindowSet.concat(parts, n_in, n_out)


def validation_cells(lives, fraction, seed, stratify="life"):
    """The training cells held out for validation, `fraction` of them (rounded: none when it
    rounds to 0), drawn with `seed`.
    lives: cell -> its series length in cycles. `life`: the cells sorted by life are cut into as
    many consecutive groups as there are validation cells and one is drawn from each, so that
    validation spans the training cells' lives; a plain draw of 8 of 41 cells (`cells`, seed 42)
    took only short-lived ones, and every choice made on validation (the parabola's length, early
    stopping, the signals, the deployed model) then never saw a cell's late life. `none`: a plain
    draw."""
    rng = np.random.default_rng(seed)
    names = sorted(lives)
    n_val = int(round(fraction * len(names)))
    if not n_val:
        return []
    if stratify == "none":
        return [names[i] for i in sorted(rng.choice(len(names), n_val, replace=False))]
    by_life = sorted(names, key=lambda c: (lives[c], c))
    groups = np.array_split(np.arange(len(by_life)), n_val)
    return sorted(by_life[int(g[rng.integers(len(g))])] for g in groups)


def _cell_splits(name, pcfg, cells, source, n_in, n_out, gaps):
    field = f"protocols.{name}.split"
    assignment = _test_cells(name, pcfg["split"], cells, source)
    for c in _val_cells(field, pcfg["split"], cells, assignment):
        assignment[c] = "val"
    if not any(s == "train" for s in assignment.values()):
        raise InputError(config_source(), "no training cells are left", "use fewer test/val cells",
                         column=field)
    parts = {s: [] for s in ("train", "val", "test", "test2")}
    for cell, (cycles, soh) in cells.items():
        s = assignment[cell]
        step = pcfg["train_step"] if s in ("train", "val") else pcfg["eval_step"]
        starts = _gap_free(s, cell, cycles, window_starts(len(soh), n_in + n_out, step),
                           n_in + n_out, source.max_cycle_gap, gaps)
        parts[s].append(windows_of_cell(cell, soh, n_in, n_out, step, starts))
    splits = {s: WindowSet.concat(p, n_in, n_out) for s, p in parts.items() if p}
    return splits, assignment


def _test_cells(name, split, cells, source):
    """cell -> train | test | test2: the study's split (the dataset's cells file) or the cells
    config.yaml lists, never both."""
    field = f"protocols.{name}.split"
    listed = [f"{s}_cells" for s in ("test", "test2") if split.get(f"{s}_cells")]
    if split["source"] == "study":
        if listed:
            raise InputError(config_source(), f"{field}.source is study, which takes the test "
                             f"cells from the dataset's cells file, but the split also lists "
                             f"{' and '.join(listed)}", f"remove {' and '.join(listed)}, or set "
                             f"{field}.source to config to use them", column=field)
        if source.study_split is None:
            raise InputError(config_source(), "the dataset has no study split (no cells file)",
                             f"set {field}.source to config and list test_cells", column=field)
        assignment = {c: source.study_split.get(c) for c in cells}
        missing = sorted(c for c, s in assignment.items() if s is None)
        if missing:
            raise InputError(config_source(),
                             f"cells {missing[:5]} have no entry in the split file",
                             f"add them to the cells file or to {name}.exclude_cells", column=field)
        return assignment
    assignment = {c: "train" for c in cells}
    for s in ("test", "test2"):
        ids = split.get(f"{s}_cells", [])
        check_known(ids, cells, f"{field}.{s}_cells", "the dataset (or excluded)")
        for c in ids:
            if assignment[c] != "train":
                raise InputError(config_source(), f"cell {c} is listed in two splits",
                                 "list each cell in one split only", column=field)
            assignment[c] = s
    return assignment


def _val_cells(field, split, cells, assignment):
    """The training cells that validate: those listed, or val_fraction of them drawn; at least
    one, since every choice (early stopping, the parabola's length, the deployed model) reads
    validation."""
    train_cells = sorted(c for c, s in assignment.items() if s == "train")
    if not train_cells:
        raise InputError(config_source(), "no training cells are left", "use fewer test cells",
                         column=field)
    if "val_cells" in split:
        val = list(split["val_cells"])
        if not val:
            raise InputError(config_source(), f"{field}.val_cells lists no cell, and validation "
                             "needs at least one (it chooses the model and stops training)",
                             f"list validation cells, or remove val_cells to draw them with "
                             "val_fraction and seed", column=f"{field}.val_cells")
        check_known(val, cells, f"{field}.val_cells", "the dataset (or excluded)")
        taken = sorted(set(val) - set(train_cells))
        if taken:
            raise InputError(config_source(), f"{field}.val_cells names cell(s) {taken} that are "
                             "not training cells", "choose validation cells among the training cells",
                             column=f"{field}.val_cells")
        return val
    val = validation_cells({c: len(cells[c][1]) for c in train_cells}, split["val_fraction"],
                           split["seed"], split.get("stratify", "life"))
    if not val:
        raise InputError(config_source(), f"{field}.val_fraction {split['val_fraction']:g} of "
                         f"{len(train_cells)} training cells holds out no validation cell, and "
                         "validation needs at least one (it chooses the model and stops "
                         "training)", f"raise val_fraction to at least "
                         f"{1 / len(train_cells):.2g}, or list validation cells in "
                         f"{field}.val_cells", column=f"{field}.val_fraction")
    return val


def save(path_npz, splits):
    """Flatten splits into one npz: {split}_x, {split}_y, {split}_cell, {split}_start, {split}_s
    (the raw signals, (n, 0) without)."""
    from dlnet.io import save_npz

    arrays = {}
    for s, w in splits.items():
        arrays.update({f"{s}_x": w.x, f"{s}_y": w.y, f"{s}_cell": w.cell, f"{s}_start": w.start,
                       f"{s}_s": w.s})
    save_npz(path_npz, **arrays)


def load(path_npz):
    """The inverse of save: split name -> WindowSet, in SPLITS order."""
    with np.load(path_npz) as z:
        names = [s for s in SPLITS if f"{s}_x" in z.files]
        return {s: WindowSet(z[f"{s}_x"], z[f"{s}_y"], z[f"{s}_cell"], z[f"{s}_start"],
                             z[f"{s}_s"] if f"{s}_s" in z.files else None) for s in names}


def load_with_scaler(path_npz, info_json):
    """Splits and the protocol's scaler (fitted on training windows by prepare_data)."""
    from dlnet.io import read_json
    from dlnet.scaling import Scaler

    return load(path_npz), Scaler.from_dict(read_json(info_json)["scaler"])


def summary(splits):
    """Per split: its windows, its cells and how far into a cell's series its windows reach, in
    values (for a series of one value per cycle, the cycle count a window's end has seen)."""
    return {s: {"windows": len(w), "cells": sorted(set(w.cell.tolist())),
                "reach": int(w.start.max()) + w.x.shape[1] + w.y.shape[1] if len(w) else 0}
            for s, w in splits.items()}


def segment_overlaps(splits):
    """For each paper segment: the split of the window it coincides with, if any, and how many
    training windows of its cell share at least one value with it. The paper's segments are
    fixed positions in cells whose other windows train the model."""
    seg, train = splits["segments"], splits["train"]
    length = seg.x.shape[1] + seg.y.shape[1]
    out = []
    for cell, start in zip(seg.cell, seg.start):
        same = [s for s, w in splits.items() if s != "segments"
                and np.any((w.cell == cell) & (w.start == start))]
        near = (train.cell == cell) & (np.abs(train.start - start) < length)
        out.append({"cell_id": str(cell), "start": int(start), "same_window_as": same,
                    "overlapping_train_windows": int(near.sum())})
    return out
