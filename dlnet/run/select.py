"""Rule select (checkpoint): the model to deploy, chosen so that seed noise cannot flip it.

Every finalist has been trained with each seed; their spread is the noise (dlnet.seeds), split
into what a seed shares across a lineage and what each model adds. The selectable candidates are
the finalists, scored by their mean validation MAE over the seeds, and the eligible deterministic
ones (the polynomial baselines and ridge, when they compete). Every score is the deployed one: the
validation MAE of the int8 model (each finalist's run quantized here as rule quantize would; the
baselines and ridge as the core computes them), so a candidate does not gain or lose by its
arithmetic. The rule (dlnet.pareto) reads validation columns only, and selected.json holds only
what it read: validation errors and costs (seeds.csv has every run's float errors on every split,
for the report). Of the chosen finalist, the seed with the lowest validation MAE is deployed,
among its seeds within the protocol's int8 byte limit, its latency limit (the Cortex-M4 latency
that rule latency_seeds measured, when the protocol sets candidates.max_latency_ms; a candidate
whose configured seed is slower is no finalist, rule pareto leaves it out) and the int8 accuracy
gate of rule quantize (dlnet/quant/gate.py), so that the deployed seed is one quantize accepts.
A finalist with no such seed is not chosen. A pruned seed may have another shape, and so another
cost, than the first one (`int8_bytes`, `params` and `macs` are the candidate's, `deployed_*`
the deployed seed's).
How firm the choice is, in selected.json's `stability`: how often the same candidate is chosen
after simulated reruns elsewhere (dlnet.pareto.stability) and on other validation cells, the
cells drawn with replacement and every candidate scored on the same draw (`cells`,
dlnet.intervals.resampled_maes); neither changes the choice.
"""

import numpy as np
import pandas as pd

from dlnet import baselines, candidates, deployable, intervals, pareto, protocols
from dlnet import seeds as seed_noise
from dlnet.candidates import SCORE_SPLITS, scores
from dlnet.errors import InputError
from dlnet.io import read_json, save_figure, write_csv, write_json
from dlnet.logs import Log
from dlnet.metrics import errors
from dlnet.quant import calibrate, gate, reference
from dlnet.run import planned


def seed_table(frame, metrics_paths, model_paths, seed):
    """One row per finalist and seed, float errors: the configured seed's from the candidates
    table, the others from their metrics files."""
    rows = [{"name": r["name"], "seed": seed, "model": r["model"],
             **{f"{s}_mae": r.get(f"{s}_mae") for s in SCORE_SPLITS}}
            for _, r in frame[frame["finalist"]].iterrows()]
    for metrics_path, model_path in zip(metrics_paths, model_paths):
        m = read_json(metrics_path)
        rows.append({"name": m["name"], "seed": m["seed"], "model": str(model_path), **scores(m)})
    table = pd.DataFrame(rows, columns=["name", "seed", "model",
                                        *(f"{s}_mae" for s in SCORE_SPLITS)])
    table = table.sort_values(["name", "seed"], kind="stable").reset_index(drop=True)
    unscored = [c for c in table.columns if c.endswith("_mae") and c != "val_mae"
                and table[c].isna().all()]
    return table.drop(columns=unscored).astype({"seed": int})


def int8_validation(paths, splits, quantization):
    """One row per liquid checkpoint: its validation MAE as the int8 core computes it (quantized
    with the deploy settings on the same calibration windows as rule quantize), the int8
    accuracy gate's record (gate.measure: float on the core's Q7.24 inputs beside), and its
    costs (int8 bytes, parameters, multiply-accumulates); and, per checkpoint, each validation
    window's int8 MAE (the resampling of the validation cells reads them)."""
    x_cal = calibrate.sample(splits["train"].inputs, int(quantization["calibration_windows"]))
    val = splits["val"]
    rows, windows = [], []
    for path in paths:
        model = deployable.Liquid(path)
        qm = model.quantize(x_cal, quantization)
        int8 = reference.predict(qm, val.inputs)
        record = gate.measure(errors(val.y, model.predict(val.inputs))["mae"],
                              errors(val.y, model.predict(gate.core_inputs(val)))["mae"],
                              errors(val.y, int8)["mae"])
        costs = model.costs()
        rows.append({"val_mae_int8": record["int8_mae"], "int8_quantization": record["quantization"],
                     **{k: int(costs[k]) for k in ("int8_bytes", "params", "macs")}})
        windows.append(intervals.window_mae(val.y, int8))
    return pd.DataFrame(rows, columns=["val_mae_int8", "int8_quantization", "int8_bytes",
                                       "params", "macs"]), windows


def cell_sums(pool, runs, windows, val, ridge):
    """(sums (pool, cells), counts (cells)): each pool candidate's validation error per cell
    (intervals.per_cell) as the core computes it: a finalist's the mean over its runs (rows of
    `runs`, their window errors in `windows`), a baseline's from its int8 model, ridge's from
    the int8 model of `ridge` (ridge.npz). The MAE they give is the pool's val_mae_mean, which
    this checks."""
    horizon = val.y.shape[1]
    sums = []
    for _, r in pool.iterrows():
        if r["kind"] == "liquid":
            own = [intervals.per_cell(val.cell, windows[i])[0]
                   for i in np.flatnonzero(runs["name"].to_numpy() == r["name"])]
            sums.append(np.mean(own, axis=0))
            continue
        if r["kind"] == "polynomial":
            forecast = baselines.int8_forecast(val.x, int(r["fit_len"]), int(r["degree"]), horizon)
        else:
            forecast = reference.predict(deployable.Linear.load(ridge).quantize(), val.inputs)
        sums.append(intervals.per_cell(val.cell, intervals.window_mae(val.y, forecast))[0])
    sums, counts = np.array(sums), intervals.per_cell(val.cell, np.zeros(len(val)))[1]
    recomputed = sums.sum(axis=1) / counts.sum()
    if not np.allclose(recomputed, pool["val_mae_mean"].to_numpy(float), rtol=1e-9, atol=0):
        raise ValueError(f"per-cell validation errors {recomputed} do not add up to the pool's "
                         f"mean validation MAE {pool['val_mae_mean'].to_list()}")
    return sums, counts


def undeployable(runs, limit, tolerance, max_latency_ms=None):
    """name -> why the rule may not choose it: no run within `limit` int8 bytes (and, when
    `max_latency_ms` is set, within that latency: the runs' `latency_ms` column) whose
    quantization passes rule quantize's gate (so that the rule cannot pick a model that quantize
    would then refuse), or a run whose validation MAE is not finite (its training diverged, and
    the model's mean is unknown)."""
    out = {}
    for name, own in runs.groupby("name", sort=True):
        if not np.isfinite(own["val_mae"]).all():
            seeds = own.loc[~np.isfinite(own["val_mae"]), "seed"].tolist()
            out[name] = (f"seed {', '.join(map(str, seeds))} diverged (validation MAE not "
                         "finite): its mean is unknown")
            continue
        small = own if limit is None else own[own["int8_bytes"] <= limit]
        fits = small if max_latency_ms is None else small[small["latency_ms"] <= max_latency_ms]
        if small.empty:
            out[name] = f"no seed fits in {limit:,} int8 bytes"
        elif fits.empty:
            out[name] = (f"no seed runs within {max_latency_ms:g} ms per inference on the "
                         f"Cortex-M4 ({_ms_range(small['latency_ms'])} ms, high estimate)")
        elif tolerance is not None and not (fits["int8_quantization"] <= tolerance).any():
            losses = ", ".join(f"{q:+.1%}" for q in fits["int8_quantization"])
            out[name] = (f"every seed loses more validation accuracy to int8 ({losses}) than "
                         f"deploy.int8_tolerance allows ({tolerance:+.1%})")
    return out


def _ms_range(values):
    low, high = float(np.min(values)), float(np.max(values))
    return f"{low:.3f}" if low == high else f"{low:.3f}-{high:.3f}"


def deployed_run(runs, name, limit, tolerance, source, max_latency_ms=None):
    """Of `name`'s runs (val_mae as the int8 core computes it, int8_bytes, int8_quantization and,
    with `max_latency_ms`, latency_ms), the one deployed: the lowest validation MAE among those
    within `limit` int8 bytes (None: no limit) and `max_latency_ms` whose quantization passes
    rule quantize's gate, `tolerance` (None: no gate). Pruning may leave a seed in another shape
    than the first one, whose cost the candidate carries."""
    own = runs[runs["name"] == name]
    fits = own if limit is None else own[own["int8_bytes"] <= limit]
    if max_latency_ms is not None:
        fits = fits[fits["latency_ms"] <= max_latency_ms]
    if fits.empty:
        raise InputError(source, f"no run of {name} fits in {limit} int8 bytes"
                         + ("" if max_latency_ms is None else f" and {max_latency_ms:g} ms")
                         + f" ({sorted(own['int8_bytes'])})", "raise the protocol's "
                         "candidates.max_int8_bytes or max_latency_ms in config.yaml, or rerun "
                         "its training")
    passes = fits if tolerance is None else fits[fits["int8_quantization"] <= tolerance]
    if passes.empty:
        losses = ", ".join(f"{q:+.1%}" for q in fits["int8_quantization"])
        raise InputError(source, f"every run of {name} loses more validation accuracy to int8 "
                         f"({losses}) than deploy.int8_tolerance allows ({tolerance:+.1%})",
                         f"{gate.NATIVE_FIX}, or raise deploy.int8_tolerance if this loss is "
                         "acceptable")
    return passes.loc[passes["val_mae"].idxmin()]


def run(input, output, params, log, threads=1):
    log = Log(log)
    rule = params.select
    frame = pd.read_csv(input.candidates)
    seeds = seed_table(frame, planned(input.seed_metrics, "seed_metrics", "metrics.json",
                                      input.candidates),
                       planned(input.seed_models, "seed_models", "model.pt", input.candidates),
                       params.seed)
    splits, _ = protocols.load_with_scaler(input.dataset, input.info)
    int8, windows = int8_validation(seeds["model"], splits, params.quantization)
    seeds = pd.concat([seeds, int8.set_index(seeds.index)], axis=1)
    for _, r in seeds.iterrows():
        log(f"{r['name']} seed {r['seed']}: validation MAE float {r['val_mae']:.6f}, "
            f"int8 {r['val_mae_int8']:.6f} ({r['int8_quantization']:+.2%} from quantizing the "
            f"model), {r['int8_bytes']} int8 bytes")
    runs_int8 = seeds.assign(val_mae=seeds["val_mae_int8"])
    latency = (pd.concat([pd.read_csv(input.latency), pd.read_csv(input.latency_seeds)],
                         ignore_index=True) if getattr(input, "latency", None) else None)
    max_ms = params.max_latency_ms if latency is not None else None
    if latency is not None:
        runs_int8 = runs_int8.merge(run_latency(latency, input.latency_seeds), how="left",
                                    on=["name", "seed"], validate="one_to_one")
        if runs_int8["latency_ms"].isna().any():
            missing = runs_int8.loc[runs_int8["latency_ms"].isna(), ["name", "seed"]]
            raise InputError(input.latency, "has no latency for " + ", ".join(
                f"{n} seed {s}" for n, s in missing.itertuples(index=False)),
                "rerun rules latency and latency_seeds")
    by_name = runs_int8.groupby("name", sort=False)["val_mae"]
    excluded = undeployable(runs_int8, params.max_int8_bytes, params.int8_tolerance, max_ms)
    for name, why in excluded.items():
        log(f"{name} left out of the choice: {why}")
    # the noise from the finalists that compete: a left-out one's remaining seeds would give
    # the estimate unequal seed counts, which its split into own and shared parts does not take
    competing = runs_int8[~runs_int8["name"].isin(list(excluded))]
    if competing["name"].nunique():
        noise = seed_noise.estimate(competing)
        log(f"seed noise of validation MAE per run: {noise.total:.2%} of the MAE "
            f"({noise.dof_total} degrees of freedom, {by_name.ngroups} finalists x {params.runs} "
            f"seeds), of which {noise.own:.2%} each model's own and {noise.shared:.2%} shared by a "
            f"lineage on one seed ({noise.dof_own} degrees of freedom, {noise.dof_shared} for the "
            f"shared part: {noise.dof_between:.1f} between lineages)")
        for f in noise.failed:
            log(f"failed run left out of the noise: {f['name']} seed {f['seed']}, validation MAE "
                f"{f['val_mae']:.6f} against {f['others_best']:.6f}, the best of its other seeds "
                "(kept in its mean)")
    else:
        # no liquid network competes: none is on the eligible front (a deterministic candidate
        # dominates them all), or none of the finalists may be chosen
        noise = seed_noise.Noise(0.0, 0.0, 0.0, 0, 0)
        log("no finalist competes: no liquid network is on the eligible front, or none of the "
            "finalists may be chosen")

    # in name order: the simulated reruns draw per candidate in pool order, which must not
    # depend on the order in which the rule lists its inputs
    pool = frame[(frame["finalist"] | (frame["eligible"] & (frame["kind"] != "liquid")))
                 & ~frame["name"].isin(list(excluded))]
    pool = pool.sort_values("name", kind="stable").reset_index(drop=True)
    if pool.empty:
        raise InputError(input.candidates, "no candidate can be deployed: "
                         + "; ".join(f"{n}: {why}" for n, why in excluded.items()),
                         f"{gate.NATIVE_FIX}, raise deploy.int8_tolerance or the protocol's "
                         "candidates.max_int8_bytes or max_latency_ms, or let its baselines "
                         "compete (candidates.baselines)")
    pool["runs"] = np.where(pool["kind"] == "liquid", params.runs, np.inf)
    for stat in ("mean", "min", "max"):
        values = by_name.agg(stat)
        pool[f"val_mae_{stat}"] = [values.get(n, v) for n, v in zip(pool["name"], pool["val_mae"])]
    pool["lineage"] = pool["name"].map(seed_noise.lineage)
    if latency is not None:
        # over a finalist's runs (each seed's shape), as select gated them
        timed = pd.concat([runs_int8[["name", "latency_ms"]],
                           candidates.with_latency(pool[pool["kind"] != "liquid"],
                                                   latency)[["name", "latency_ms"]]])
        spread = timed.groupby("name")["latency_ms"]
        pool["latency_ms_min"] = pool["name"].map(spread.min())
        pool["latency_ms_max"] = pool["name"].map(spread.max())
    error, runs = pool["val_mae_mean"].to_numpy(float), pool["runs"].to_numpy(float)
    cost, lineages = pool[rule["cost"]].to_numpy(float), pool["lineage"].to_numpy()

    def choose(err):
        if rule["rule"] == "knee":
            front = np.flatnonzero(pareto.front_ranks(np.c_[err, cost]) == 1)
            return int(front[pareto.knee(err[front], cost[front])])
        return pareto.within_noise(err, runs, cost, lineages, noise, rule["confidence"])[0]

    pick = choose(error)
    _, best, margin = pareto.within_noise(error, runs, cost, lineages, noise,
                                          rule["confidence"])
    held, votes = pareto.stability(choose, error, runs, lineages, noise,
                                   params.stability_draws, params.seed)
    # validation is a sample of the cells a model will meet (8 on `cells`): how often would
    # other cells choose the same? The noise and the costs stay as they are
    sums, counts = cell_sums(pool, runs_int8, windows, splits["val"], input.ridge)
    picks = np.array([choose(e) for e in intervals.resampled_maes(
        sums, counts, params.stability_draws, params.seed)])
    cell_votes = {int(i): float(np.mean(picks == i)) for i in np.unique(picks)}
    pool["margin_se"], pool["chosen_share"] = margin, [votes.get(i, 0.0) for i in range(len(pool))]
    pool["dominated_by"] = [pool.iloc[j]["name"] if j >= 0 else ""
                            for j in pareto.dominated_by(error, cost)]
    pool["paired"] = pareto.paired(runs, lineages, best) & (np.arange(len(pool)) != best)
    chosen = pool.iloc[pick]
    reason = (f"cheapest by {rule['cost']} among the candidates whose mean validation MAE is not "
              f"significantly worse than the best, {pool.iloc[best]['name']} "
              f"({error[best]:.6f}): one-sided {rule['confidence']:.0%}, seed noise "
              f"{noise.total:.1%} per run" if rule["rule"] == "within_noise" else
              f"knee of the mean validation MAE vs log(1 + {rule['cost']}) front")
    if rule["rule"] == "within_noise" and chosen["kind"] != "liquid":
        reason += ("; no liquid network is significantly better than this baseline on validation"
                   if (frame["eligible"] & (frame["kind"] == "liquid")).any() else
                   "; no liquid network is within the protocol's limits")
    beaten = pool[(margin >= 0) & (pool[rule["cost"]] < chosen[rule["cost"]])
                  & (pool["dominated_by"] != "")]
    if rule["rule"] == "within_noise" and len(beaten):
        reason += "; " + ", ".join(f"{r['name']}, cheaper and within noise, is beaten by "
                                   f"{r['dominated_by']} at no more cost"
                                   for _, r in beaten.iterrows())
    for _, r in pool.sort_values("val_mae_mean").iterrows():
        log(f"{r['name']:>24s} val MAE {r['val_mae_mean']:.6f} over {r['runs']:g} runs, "
            f"{int(r[rule['cost']])} {rule['cost']}, margin {r['margin_se']:+.2f} SE"
            f"{'  <- selected' if r['name'] == chosen['name'] else ''}")
    log(f"selected {chosen['name']}: {reason}; the choice holds in {held:.0%} of "
        f"{params.stability_draws} simulated reruns and in {cell_votes.get(pick, 0.0):.0%} of "
        f"as many draws of the {len(counts)} validation cells")

    instance = {"seed": None, "model": chosen["model"], "val_mae": chosen["val_mae"],
                **{k: chosen[k] for k in ("int8_bytes", "params", "macs")}}
    if chosen["kind"] == "liquid":
        instance = deployed_run(runs_int8, chosen["name"], params.max_int8_bytes,
                                params.int8_tolerance, input.candidates, max_ms).to_dict()
    selected = {
        "name": chosen["name"], "stage": chosen["stage"], "kind": chosen["kind"],
        "model": instance["model"], "seed": _plain(instance["seed"]),
        "reason": reason, "rule": rule, "objectives": params.objectives,
        "noise": {**noise.to_dict(), "runs": params.runs,
                  "finalists": sorted(competing["name"].unique())},
        "undeployable": excluded,
        "max_latency_ms": max_ms,
        "latency_ms": _deployed_latency(latency, chosen, instance),
        "stability": {"held": held, "draws": params.stability_draws,
                      "shares": {pool.iloc[i]["name"]: f for i, f in votes.items()},
                      **_alternatives(pool, votes, pick, rule["cost"]),
                      "cells": {"held": cell_votes.get(pick, 0.0), "draws": params.stability_draws,
                                "cells": len(counts),
                                "shares": {pool.iloc[i]["name"]: f
                                           for i, f in cell_votes.items()}}},
        "val_mae": float(instance["val_mae"]),
        "val_mae_mean": float(chosen["val_mae_mean"]),
        **{f"deployed_{k}": int(instance[k]) for k in ("int8_bytes", "params", "macs")},
        **{k: _plain(chosen[k]) for k in ("family", "width", "ratio", "params", "macs",
                                          "int8_bytes", "degree", "fit_len") if k in chosen},
    }
    frame["selected"] = frame["name"] == chosen["name"]
    write_csv(output.seeds, seeds)
    write_csv(output.pareto, pool.assign(selected=pool["name"] == chosen["name"]))
    save_figure(output.plot, _figure(frame, pool, params, rule), dpi=120)
    write_json(output.selected, selected)


def run_latency(latency, source):
    """The networks' rows of the latency tables (rules latency and latency_seeds), one per run:
    name, seed, latency_ms (the high estimate, which the limit reads)."""
    runs = latency[latency["kind"] == "liquid"]
    if runs[["name", "seed"]].duplicated().any():
        raise InputError(source, "lists a run twice", "rerun rule latency")
    return runs[["name", "seed"]].astype({"seed": int}).assign(
        latency_ms=runs["latency_ms_high"].astype(float))


def _deployed_latency(latency, chosen, instance):
    """The deployed model's Cortex-M4 latency from rule latency (low and high estimates, ms), or
    None when the protocol sets no limit."""
    if latency is None:
        return None
    rows = latency[latency["name"] == chosen["name"]]
    if chosen["kind"] == "liquid":
        rows = rows[rows["seed"] == instance["seed"]]
    r = rows.iloc[0]
    return {"low": float(r["latency_ms_low"]), "high": float(r["latency_ms_high"]),
            "cycles": int(r["cycles"]), "measured_on": r["measured_on"]}


def _alternatives(pool, votes, pick, cost):
    """What a flip would cost: the other candidates chosen in at least 1% of the reruns, their
    largest relative difference of mean validation MAE from the chosen one and their cost range
    (none: 0 and None), and the one the reruns choose most often."""
    seen = pool.iloc[[i for i, f in votes.items() if f >= 0.01 and i != pick]]
    chosen = pool.iloc[pick]["val_mae_mean"]
    top = max(votes, key=lambda i: (votes[i], i == pick)) if votes else pick
    return {"val_mae_spread": float((seen["val_mae_mean"] / chosen - 1).abs().max()) if len(seen) else 0.0,
            f"{cost}_range": [_plain(seen[cost].min()), _plain(seen[cost].max())] if len(seen) else None,
            "most_chosen": pool.iloc[top]["name"]}


def _figure(frame, pool, params, rule):
    from dlnet.plots import pareto_figure

    return pareto_figure(frame, pool, rule["cost"], params.name)


def _plain(v):
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    return v.item() if hasattr(v, "item") else v
