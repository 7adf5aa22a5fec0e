"""The main table of a protocol: baselines, learned references, teacher, students, the selected
model in float, int8 and TFLite, peers scored by this project's code, and the paper's published
numbers as marked reference rows."""

import math
import numbers

import numpy as np
import pandas as pd

from dlnet import paper
from dlnet.errors import few
from dlnet.io import read_json
from dlnet.seeds import FAILED_Z

SPLIT_COLUMNS = ("val_mae", "test_mae", "test2_mae", "segments_mae")
# The adapters of the paper's data and the study's it derives from: the published rows are
# figures on that data, no reference for a protocol on any other dataset.
PUBLISHED_DATA = ("dlnet_soh", "severson2019", "matr_raw")


def _split_maes(metrics):
    return {f"{s}_mae": metrics[s]["mae"] for s in ("val", "test", "test2", "segments") if s in metrics}


def main_table(candidates_csv, selected_json, deploy_metrics=None, size_json=None, m4_report=None,
               peers=(), adapter=None):
    """Baselines, learned references, teacher, students, the recovered models on the front,
    the deployed model in float and int8, peers scored here, and the paper's published rows
    unless the protocol's dataset `adapter` (dataset.json's `dataset`) is not in PUBLISHED_DATA."""
    cands = pd.read_csv(candidates_csv)
    selected = read_json(selected_json)
    keep = (cands["stage"].isin(["baseline", "learned", "teacher", "student"])
            | ((cands["stage"] == "recovered") & ((cands["front"] == 1) | cands["finalist"])))
    order = {"baseline": 0, "learned": 1, "teacher": 2, "student": 3, "recovered": 4}
    cands = cands[keep].sort_values("stage", key=lambda s: s.map(order), kind="stable")
    rows = []
    for _, r in cands.iterrows():
        row = r.to_dict()
        row["model"] = r["name"] + (" (selected)" if r["name"] == selected["name"] else "")
        rows.append(row)
    if deploy_metrics:
        d = read_json(deploy_metrics)
        size = read_json(size_json) if size_json else {}
        m4 = read_json(m4_report) if m4_report else {}
        name = selected["name"] + (f", seed {selected['seed']}" if selected.get("seed") is not None
                                   else "")
        for kind, label in (("float", "float"), ("int8", "int8, native C core"),
                            ("tflite", "int8, TFLite Micro")):
            if kind not in d:
                continue
            # the deployed seed's own shape: pruning may leave it another than the candidate's
            row = {"model": f"{name} ({label})", "stage": "deployed",
                   "params": size.get("params", selected.get("params")),
                   "macs": size.get("macs", selected.get("macs")),
                   **_split_maes(d[kind])}
            if kind == "int8":
                row["int8_bytes"] = size.get("native_model_bytes")
                row["flash_bytes"] = m4.get("flash_bytes")
                lat = m4.get("latency_ms") or m4.get("latency_ms_estimate") or {}
                if lat:
                    row["latency_ms"] = f"{lat['low']:.3f}-{lat['high']:.3f} (est.)"
            elif kind == "tflite":
                row["int8_bytes"] = size.get("tflite_flatbuffer_bytes")
            rows.append(row)
    for peer in peers:
        rows += peer_rows(peer)
    if adapter is None or adapter in PUBLISHED_DATA:
        rows.append({"model": paper.TEACHER["name"] + " [published]", "stage": "paper",
                     "params": paper.TEACHER["params"],
                     "segments_mae": paper.TEACHER["segments_mae"]})
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


def peer_rows(peer_json):
    """A peer model scored by this project's code, one row per input scaling; a peer whose file
    is absent gets one row that says how to fetch it."""
    p = read_json(peer_json)
    if p["status"] != "scored":
        return [{"model": f"{p['label']} [peer: {p['status']}, {p['how']}]", "stage": "peer"}]
    return [{"model": f"{p['label']} [peer, {scaling} scaling]", "stage": "peer",
             "int8_bytes": p["flatbuffer_bytes"], "macs": p.get("macs"), **_split_maes(m)}
            for scaling, m in p["scalings"].items()]


def _cell(v):
    if v is None or v is pd.NA or (isinstance(v, numbers.Real) and math.isnan(v)):
        return ""
    if isinstance(v, numbers.Integral):
        return f"{int(v):,}"
    if isinstance(v, numbers.Real):
        # counts come as floats from a column with gaps; an error or a latency between 1 and
        # 1000 keeps four significant digits
        if not math.isfinite(v) or abs(v) < 1:
            return f"{v:.5f}"
        if v == round(v) or abs(float(f"{v:.4g}")) >= 1000:
            return f"{v:,.0f}"
        return f"{v:.4g}"
    return str(v)


def to_markdown(frame):
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(_cell(v) for v in row) + " |"
            for row in frame.astype(object).itertuples(index=False)]
    return "\n".join([header, rule, *body])


def against_baseline_table(against_json):
    """The deployed int8 model against the quadratic baseline, one row per held-out split, each
    MAE and the ratio with its interval over the split's cells (rule against_baseline)."""
    d = read_json(against_json)
    rows = []
    for split, r in d["splits"].items():
        rows.append({"split": split, "cells": r["cells"], "windows": r["windows"],
                     "int8_mae": r["mae"], "int8_interval": _interval(r["mae_interval"], 5),
                     "quadratic_mae": r["baseline_mae"],
                     "quadratic_interval": _interval(r["baseline_mae_interval"], 5),
                     "ratio": f"{r['ratio']:.3f}",
                     "ratio_interval": _interval(r["ratio_interval"], 3),
                     "below_baseline": f"{r['beats_share']:.1%}"})
    return pd.DataFrame(rows, columns=["split", "cells", "windows", "int8_mae", "int8_interval",
                                       "quadratic_mae", "quadratic_interval", "ratio",
                                       "ratio_interval", "below_baseline"])


def against_baseline_note(against_json):
    d = read_json(against_json)
    b = d["baseline"]
    return (f"The deployed model as the int8 core computes it, against the quadratic baseline in "
            f"float (fit length {b['fit_len']}, chosen on validation). Intervals: the central "
            f"{d['confidence']:.0%} of {d['draws']:,} draws of each split's cells with "
            "replacement, every window of a drawn cell with it (seed "
            f"{d['seed']}; dlnet/intervals.py): how far the number could move with other cells "
            "of the same population, not with another training run. below_baseline: the share "
            "of draws in which the model's MAE is the lower. Validation chose the model; the "
            "other splits are shown, never used." + _single_cell_note(d["splits"]))


def _single_cell_note(splits):
    alone = [s for s, r in splits.items() if r["cells"] == 1]
    if not alone:
        return ""
    return (f" {' and '.join(alone)} {'holds' if len(alone) == 1 else 'hold'} one cell, so "
            f"{'its interval is' if len(alone) == 1 else 'their intervals are'} that cell's "
            "number: it says nothing of other cells.")


def _interval(bounds, digits):
    return f"{bounds[0]:.{digits}f}-{bounds[1]:.{digits}f}"


def latency_note(selected, m4_report):
    """What the latency limit held the deployed model to, beside what firmware_m4 measured on
    held-out windows (empty without a limit)."""
    limit, gated = selected.get("max_latency_ms"), selected.get("latency_ms")
    if limit is None or not gated:
        return ""
    report = read_json(m4_report)
    lat = report.get("latency_ms")
    text = (f" The selection held the deployed model to {limit:g} ms per inference "
            f"(`candidates.max_latency_ms`): rule latency measured {gated['high']:.3f} ms on "
            "validation windows")
    if lat is None:
        return text + "."
    traced = "validation" if report.get("splits") == ["val"] else "held-out"
    text += f", the traced {traced} windows above {lat['high']:.3f} ms"
    return text + (": over the limit, since the two runs read other windows; lower the limit "
                   "to keep a margin." if lat["high"] > limit else ".")


def firmware_table(m4_report, size_json):
    """The deployed model on a Cortex-M4 beside the paper's board figures."""
    m4, size = read_json(m4_report), read_json(size_json)
    est, lat = m4["latency_ms_estimate"], m4.get("latency_ms")
    rows = [{"model": f"{m4['model']} (native int8 core, QEMU Cortex-M4)",
             "instructions": m4["instructions_per_inference"]["max"],
             "cycles": (m4.get("cycles_per_inference") or {}).get("max"),
             "latency_ms": (f"{lat['low']:.3f}-{lat['high']:.3f} (cycles, 0-1 flash wait state)"
                            if lat else f"{est['low']:.3f}-{est['high']:.3f} (estimate)"),
             "flash_bytes": m4["flash_bytes"], "model_bytes": size["native_model_bytes"],
             "ram_bytes": m4["ram_bytes"], "stack_bytes": m4["stack_bytes"],
             "bit_exact": f"{m4['windows_compared']} windows, all: {m4['all_bit_exact']}"}]
    if "tflite_flatbuffer_bytes" in size:
        rows.append({"model": f"{m4['model']} (int8 TFLite, TFLite Micro interpreter on the host)",
                     "model_bytes": size["tflite_flatbuffer_bytes"],
                     "ram_bytes": size["tflite_arena_bytes"]})
    rows.append({"model": paper.DEPLOYED["name"] + " [published]",
                 "latency_ms": f"{paper.DEPLOYED['latency_ms']:.0f} (board)",
                 "model_bytes": paper.DEPLOYED["flatbuffer_bytes"],
                 "ram_bytes": paper.DEPLOYED["arena_bytes"]})
    frame = pd.DataFrame(rows)
    for c in ("instructions", "cycles", "flash_bytes", "model_bytes", "ram_bytes", "stack_bytes"):
        frame[c] = pd.to_numeric(frame[c]).astype("Int64")
    return frame


def signals_table(records, configured):
    """The signals ablation (dlnet/ablation.py), one row per group: its validation windows, the
    mean and spread of validation MAE over seeds and its change against the SOH window alone,
    the test splits' means (shown, not used), and whether the protocol's models read it."""
    rows = []
    for r in records:
        runs = pd.DataFrame(r["runs"])
        row = {"group": r["group"], "signals": " + ".join(r["signals"]) or "(SOH window only)",
               "model": r["model"], "seeds": len(runs),
               "val_windows": int(r["runs"][0]["windows"]["val"]), "val_mae": runs["val_mae"].mean(),
               "val_mae_std": runs["val_mae"].std(ddof=1) if len(runs) > 1 else np.nan}
        row.update({c: runs[c].mean() for c in runs.columns
                    if c.endswith("_mae") and c != "val_mae"})
        row["configured"] = "yes" if sorted(r["signals"]) == sorted(configured) else ""
        rows.append(row)
    frame = pd.DataFrame(rows)
    alone = frame.loc[frame["group"] == "soh", "val_mae"]
    if len(alone):
        frame.insert(frame.columns.get_loc("val_mae_std") + 1, "val_change",
                     frame["val_mae"] / alone.iloc[0] - 1.0)
    return frame


def _within_noise(row, best, confidence=0.95):
    """Whether a group's mean validation MAE is not significantly worse than the best group's:
    the difference of the means within the one-sided t quantile (95%, as the select rule's
    default) of its standard error, each group's own spread over its seeds, with n + m - 2
    degrees of freedom. With one seed there is no noise estimate: only the best serves."""
    from scipy import stats

    n, m = int(row["seeds"]), int(best["seeds"])
    if n < 2 or m < 2:
        return row["group"] == best["group"]
    se = math.sqrt(row["val_mae_std"] ** 2 / n + best["val_mae_std"] ** 2 / m)
    return row["val_mae"] - best["val_mae"] <= stats.t.ppf(confidence, n + m - 2) * se


def signals_text(configured, ablation, min_gain):
    """What the models read beside the SOH window, the ablation's table if it ran, and the
    verdict of its rule: a group is worth turning on when its mean validation MAE is at least
    `min_gain` (config.yaml `ablation.min_gain`) below the SOH window's alone; of those, the best
    and any within the seeds' noise of it serve."""
    used = (f"The models read the SOH window and {', '.join(configured)} (dlnet/signals.py)."
            if configured else "The models read the SOH window alone.")
    if not len(ablation):
        return used + " The signals ablation is off for this protocol (`ablation: false`)."
    reads = [sorted(s.split(" + ")) if g != "soh" else [] for g, s in
             zip(ablation["group"], ablation["signals"])]
    gains = ablation[(ablation["group"] != "soh") & (ablation["val_change"] <= -min_gain)]
    if len(gains):
        best = gains.loc[gains["val_mae"].idxmin()]
        serve = {r["group"] for _, r in gains.iterrows() if _within_noise(r, best)}
        verdict = (f"Validation prefers {best['signals']}: {best['val_change']:+.1%} against the "
                   "SOH window alone")
    else:
        best = ablation[ablation["group"] == "soh"].iloc[0]
        serve = {"soh"}
        verdict = (f"No group lowers validation MAE by {min_gain:.0%} or more against the SOH "
                   "window alone, so validation prefers the SOH window alone")
    mine = [g for g, r in zip(ablation["group"], reads) if r == sorted(configured)]
    named = ", ".join(configured) or "no signal"
    if not mine:
        agree = f"; the ablation has no group of exactly the protocol's signals ({named})."
    elif mine[0] == best["group"]:
        agree = "; the protocol's models read just that."
    elif mine[0] in serve:
        change = ablation.loc[ablation["group"] == mine[0], "val_change"].iloc[0]
        agree = (f"; the protocol's models read {named} ({change:+.1%}), within the seeds' noise "
                 "of it (one-sided 95%): either serves.")
    else:
        agree = (f"; the protocol's models read {named}: change its `signals` to follow the "
                 "ablation.")
    shown = ablation.assign(val_change=ablation["val_change"].map("{:+.1%}".format))
    return "\n\n".join([
        used + " The ablation trains one architecture with each group of signals, without "
        "distillation, once per seed; validation decides, the test columns are shown only.",
        to_markdown(shown),
        f"{verdict}, where a group counts when it gains at least {min_gain:.0%} "
        f"(`ablation.min_gain`){agree}"])


def finalists_table(pareto_csv):
    """What select chose among (its pareto.csv), most accurate first: each candidate's
    validation MAE as the int8 core computes it, mean and range over its seeds (a baseline or
    ridge: exact, one value), its margin to the noise band of the best, in standard errors,
    and the share of the simulated reruns that choose it."""
    pool = pd.read_csv(pareto_csv).sort_values("val_mae_mean", kind="stable")
    seeded = np.isfinite(pool["runs"])
    return pd.DataFrame({
        "model": pool["name"] + np.where(pool["selected"], " (selected)", ""),
        "kind": pool["kind"],
        "int8_bytes": pool["int8_bytes"].astype("Int64"),
        # its runs' Cortex-M4 latency (high estimate), where the protocol limits it
        **({"latency_ms": [f"{lo:.3f}" if lo == hi else f"{lo:.3f}-{hi:.3f}" for lo, hi in
                           zip(pool["latency_ms_min"], pool["latency_ms_max"])]}
           if "latency_ms_min" in pool else {}),
        "seeds": np.where(seeded, pool["runs"].where(seeded, 0).astype(int).astype(str), "exact"),
        "val_mae_int8": pool["val_mae_mean"],
        "val_mae_min": pool["val_mae_min"].where(seeded),
        "val_mae_max": pool["val_mae_max"].where(seeded),
        "margin_se": pool["margin_se"].map("{:+.2f}".format),
        # absent from a pareto.csv written before select recorded them
        "paired": np.where(pool.get("paired", False) & seeded, "yes", ""),
        "within_noise": np.where(pool["margin_se"] >= 0, "yes", ""),
        "beaten_by": pool.get("dominated_by", pd.Series("", index=pool.index)).fillna(""),
        "reruns": pool["chosen_share"].map("{:.0%}".format),
    })


RULES = {
    "within_noise": "Of the candidates within noise and beaten by none, the cheapest is selected.",
    "knee": ("The rule here is `knee`: of the front by mean validation MAE and log(1 + cost), the "
             "candidate furthest below the line joining its cheapest and most accurate ends is "
             "selected; margin_se and within_noise are shown, not used."),
}


def finalists_note(rule):
    """The selection table's note, with the sentence of the rule that chose (selected.json)."""
    return FINALISTS_NOTE.format(rule=RULES[rule])


FINALISTS_NOTE = (
    "Validation only. val_mae_int8: the mean over the seeds of the validation MAE as the int8 "
    "core computes it (min and max beside); the baselines and ridge are exact. latency_ms (where "
    "the protocol sets `candidates.max_latency_ms`): its runs on the Cortex-M4 at 64 MHz, high "
    "estimate (rule latency, on validation windows; a seed over the limit is not deployed). "
    "margin_se: how far "
    "inside (+) or outside (-) the best one's noise band a candidate lies, in standard errors "
    "(the one-sided confidence of `pareto.select.confidence` holds for each comparison on its "
    "own: with several candidates as good as the best, one of them falls outside more often). "
    "paired: compared with the best "
    "seed by seed (the same student's lineage), which cancels what a seed shares across the "
    "lineage, so a small difference can be significant there and not between two students. "
    "beaten_by: a candidate at most as costly and at most as wrong on mean validation MAE, which "
    "rules this one out whatever its margin. {rule} reruns: the share of simulated reruns "
    "(every finalist retrained elsewhere) that choose it. The finalists are the first front's liquid network with the "
    "lowest validation MAE of one run, in float, and the cheapest within "
    "`pareto.finalist_band` of it (`pareto.finalists` in all), less any the rule may not choose "
    "(named above).")


def validation_note(splits, left_out=None):
    """What the validation windows cover beside the training ones: every choice is made on them;
    and the cells a split names but scores without (`left_out`, dataset.json's
    cells_left_out)."""
    val, train = splits.get("val"), splits.get("train")
    text = ""
    if val and "reach" in val:
        text = (f" Every choice reads the validation windows: {val['windows']:,} from "
                f"{len(val['cells'])} cells, reaching {val['reach']:,} values into a cell's "
                f"series (the training windows reach {train['reach']:,}).")
    for s, cells in (left_out or {}).items():
        if s in splits:
            text += (f" {len(cells)} {s} cell(s) kept no window, for lack of a valid value of a "
                     f"signal, and are left out of its scores: {few(cells, 5)}.")
        else:
            text += (f" No {s} cell kept a window, for lack of a valid value of a signal, so "
                     f"{s} is not scored ({len(cells)} cell(s): {few(cells, 5)}).")
    return text


def tflite_note(sizes, limit):
    """A sentence when the TFLite export is larger than the protocol may deploy: the native
    blob is what the firmware carries."""
    tflite = sizes.get("tflite_flatbuffer_bytes")
    if limit is None or tflite is None or tflite <= limit:
        return ""
    return (f" The TFLite export ({tflite:,} B of flatbuffer, {sizes['tflite_arena_bytes']:,} B of "
            f"arena) is over the protocol's {limit:,}-byte limit, which binds the native blob "
            f"({sizes['native_model_bytes']:,} B) that the firmware deploys; the export is there "
            "for TFLite Micro users and as a second int8 implementation to check against.")


def best_outside_baseline(candidates_csv):
    """The deployable baseline (polynomial or ridge, as the int8 core computes it) with the
    lowest validation MAE, when the baselines do not compete (none are eligible): None else."""
    frame = pd.read_csv(candidates_csv)
    own = frame[frame["kind"].isin(["polynomial", "linear"])]
    competing = own["eligible"].astype(str).str.strip().str.lower().eq("true")
    own = own[np.isfinite(pd.to_numeric(own["val_mae"], errors="coerce"))]
    if own.empty or competing.any():
        return None
    return own.loc[own["val_mae"].astype(float).idxmin()]


def learned_ahead(candidates_csv, selected):
    """The learned references in float that score better on validation than the selected model's
    mean, in words, with what keeps each from deployment; '' when none does."""
    frame = pd.read_csv(candidates_csv)
    learned = frame[frame["stage"].eq("learned")]
    ahead = learned[learned["kind"].isin(["reference", "knn"])
                    & (learned["val_mae"].astype(float) < selected["val_mae_mean"])]
    if ahead.empty:
        return ""
    int8 = learned[learned["kind"].eq("linear")]
    parts = []
    for _, row in ahead.sort_values("val_mae").iterrows():
        text = (f"{row['name']} scores {row['val_mae']:.5f} on validation, "
                f"{row['val_mae'] / selected['val_mae_mean']:.2f} x the selected model's mean")
        if row["kind"] == "knn":
            text += (f", but it stores its training windows ({int(row['int8_bytes']):,} int8 "
                     "bytes) and is never deployed")
        elif not int8.empty:
            q = int8.iloc[0]
            text += (f", in float; as the int8 core computes it, the best setting, {q['name']}, "
                     f"scores {q['val_mae']:.5f} ({int(q['int8_bytes']):,} int8 bytes)")
        parts.append(text)
    return "Learned references ahead of the selected model: " + "; ".join(parts) + "."


def selection_text(selected, seeds_csv=None, candidates_csv=None):
    """The choice in words: what was selected, why, the seed noise and how stable the choice
    is; with seeds.csv, the selected model's errors over its seeds; with the candidates table,
    the best baseline when the baselines do not compete and the learned references ahead."""
    noise, stab = selected["noise"], selected["stability"]
    baseline = best_outside_baseline(candidates_csv) if candidates_csv else None
    seed = f", seed {selected['seed']} deployed" if selected.get("seed") is not None else ""
    lines = [f"Selected model: **{selected['name']}** ({selected['kind']}{seed}): "
             f"{selected['reason']}."]
    if noise["dof"]:
        lines.append(f"Seed noise: one training run's validation MAE varies by "
                     f"{noise['relative_std']:.1%} (pooled over {len(noise['finalists'])} "
                     f"finalists x {noise['runs']} seeds; {noise['own']:.1%} each model's own, "
                     f"{noise['shared']:.1%} shared by the models of one student on one seed, so "
                     f"a comparison between students rests on {noise['dof_between']:.1f} degrees "
                     f"of freedom, one within a student's lineage on {noise['dof_own']}).")
    for f in noise.get("failed", []):
        lines.append(f"Left out of the noise as a failed training run (more than "
                     f"{FAILED_Z:g} standard deviations above the best of its model's other "
                     f"seeds): {f['name']} seed {f['seed']}, validation MAE {f['val_mae']:.5f} "
                     f"against {f['others_best']:.5f}; it stays in its model's mean.")
    for name, why in selected.get("undeployable", {}).items():
        lines.append(f"Left out of the choice: {name} ({why}).")
    cost = selected["rule"]["cost"]
    held = (f"The choice holds in {stab['held']:.0%} of {stab['draws']} simulated reruns (every "
            "finalist retrained elsewhere)")
    if stab.get("most_chosen", selected["name"]) != selected["name"]:
        share = stab["shares"][stab["most_chosen"]]
        held += f"; they choose {stab['most_chosen']} more often ({share:.0%})"
    if stab[f"{cost}_range"] is None:
        lines.append(held + "; no other model is chosen in as many as 1% of them.")
    else:
        low, high = stab[f"{cost}_range"]
        lines.append(held + f"; the other models chosen in at least 1% of them have a mean "
                     f"validation MAE within {stab['val_mae_spread']:.1%} of it and "
                     f"{low:,}-{high:,} {cost.replace('_', ' ')}.")
    cells = stab.get("cells")
    if cells and cells["cells"] < 2:
        lines.append("Validation is one cell, so there are no other validation cells to draw.")
    elif cells:
        others = {n: f for n, f in cells["shares"].items() if n != selected["name"] and f >= 0.01}
        lines.append(f"On other validation cells (the {cells['cells']} drawn with replacement "
                     f"{cells['draws']} times, each with all of its windows; the noise and the "
                     f"costs as they are) the choice holds in {cells['held']:.0%} of the draws"
                     + ("; they choose " + ", ".join(f"{n} in {f:.0%}" for n, f in sorted(
                         others.items(), key=lambda kv: -kv[1])) + "." if others else "."))
    if baseline is not None:
        lines.append(f"The baselines do not compete on this protocol (`candidates.baselines`): "
                     f"the best one as the int8 core computes it, {baseline['name']} "
                     f"({int(baseline['int8_bytes']):,} int8 bytes), scores "
                     f"{baseline['val_mae']:.5f} on validation; the selected model's mean, "
                     f"{selected['val_mae_mean']:.5f}, is "
                     f"{selected['val_mae_mean'] / baseline['val_mae']:.2f} x that."
                     if selected["val_mae_mean"] > baseline["val_mae"]
                     else f"The baselines do not compete on this protocol "
                     f"(`candidates.baselines`); the best one as the int8 core computes it, "
                     f"{baseline['name']}, scores {baseline['val_mae']:.5f} on validation, "
                     "behind the selected model's mean.")
    if candidates_csv:
        lines.append(learned_ahead(candidates_csv, selected))
    runs = pd.read_csv(seeds_csv) if seeds_csv else pd.DataFrame(columns=["name"])
    runs = runs[runs["name"] == selected["name"]]
    if len(runs) > 1:
        lines.append(f"Over its {len(runs)} seeds, the selected model's float MAE: " + ", ".join(
            f"{c.removesuffix('_mae')} {runs[c].mean():.5f} +- {runs[c].std(ddof=1):.5f}"
            for c in runs.columns if c.endswith("_mae")) + ".")
    return " ".join(line for line in lines if line)
