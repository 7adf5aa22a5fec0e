"""The candidates table: one row per model, per polynomial baseline and per learned reference.

kind says what the int8 core would run: liquid (a LiquidNet), linear (ridge regression), polynomial
(a baseline as the core computes it: no network), or what it cannot: reference (a baseline in
float, the number tables quote) and knn (it stores the training windows). Every row has its real
cost: the polynomial baselines are blobs of an anchor and a trend (cost.polynomial_costs).
"""

import pandas as pd

from dlnet.cost import polynomial_costs
from dlnet.io import read_json

SCORE_SPLITS = ("val", "test", "test2", "segments")
COLUMNS = ["name", "stage", "kind", "family", "width", "ratio", "params", "macs", "int8_bytes",
           *(f"{s}_mae" for s in SCORE_SPLITS), "degree", "fit_len", "model"]
DEPLOYABLE = ("liquid", "linear", "polynomial")


def scores(m):
    """{split_mae: MAE} of a metrics dict, None where the split is absent."""
    return {f"{s}_mae": m[s]["mae"] if s in m else None for s in SCORE_SPLITS}


def model_row(metrics_path, model_path):
    m = read_json(metrics_path)
    row = {k: m.get(k) for k in ("name", "stage", "family", "width", "ratio", "params", "macs",
                                 "int8_bytes")}
    return {**row, "kind": "liquid", **scores(m), "model": str(model_path)}


def baseline_rows(baselines_path, input_len, output_len):
    """The float baselines as references (kind reference: not deployable as such), and the same
    baselines as the int8 core computes them, fit length chosen on that: deployable candidates."""
    b = read_json(baselines_path)
    rows = []
    for arithmetic, kind, suffix in (("float", "reference", ""), ("int8", "polynomial", ", int8")):
        for name, r in b[arithmetic].items():
            rows.append({"name": f"{name} (k={r['fit_len']}{suffix})", "stage": "baseline",
                         "kind": kind, **polynomial_costs(input_len, output_len, r["fit_len"]),
                         **scores(r), "degree": r["degree"], "fit_len": r["fit_len"],
                         "model": str(baselines_path)})
    return rows


def _setting(record):
    return ", ".join(f"{k}={v:g}" for k, v in record["setting"].items())


def learned_rows(learned_path, ridge_path):
    """The learned references in float (kinds reference and knn), and ridge as the int8 core
    computes it: a deployable candidate (kind linear)."""
    rows = []
    for name, r in read_json(learned_path).items():
        if name == "versions":
            continue
        cost = {k: r[k] for k in ("params", "macs", "int8_bytes")}
        rows.append({"name": f"{name} ({_setting(r)})", "stage": "learned",
                     "kind": "knn" if r["kind"] == "knn" else "reference", **cost, **scores(r),
                     "model": ""})
        if "int8" in r:
            rows.append({"name": f"{name} ({_setting(r['int8'])}, int8)", "stage": "learned",
                         "kind": r["kind"], **cost, **scores(r["int8"]),
                         "model": str(ridge_path)})
    return rows


def table(model_metrics, model_paths, baselines_path=None, learned=None, dims=None):
    """Models from their metrics files, then (with `dims` = (input_len, output_len)) the
    polynomial baselines and (with `learned` = (learned.json, ridge.npz)) the learned ones."""
    rows = [model_row(m, p) for m, p in zip(model_metrics, model_paths)]
    if baselines_path:
        rows += baseline_rows(baselines_path, *dims)
    if learned:
        rows += learned_rows(*learned)
    frame = pd.DataFrame(rows).reindex(columns=COLUMNS)
    for c in ("width", "params", "macs", "int8_bytes", "degree", "fit_len"):
        frame[c] = frame[c].astype("Int64")
    empty = [c for c in frame.columns if c.endswith("_mae") and frame[c].isna().all()]
    return frame.drop(columns=empty)


def of_protocol(input, input_len, output_len):
    """The table of a protocol's run from the inputs of rules pareto and latency: the teacher,
    students and recovered models (their model.pt and metrics.json), the polynomial baselines
    (baselines) and the learned references (learned, ridge)."""
    paths = [input.teacher_model, *input.student_models, *input.recovered_models]
    metrics = [input.teacher_metrics, *input.student_metrics, *input.recovered_metrics]
    return table(metrics, paths, input.baselines, (input.learned, input.ridge),
                 (input_len, output_len))


def eligible(frame, candidates_cfg):
    """Which rows the protocol may deploy: liquid networks (the teacher unless `teacher` is
    false), the polynomial baselines and ridge when `baselines` compete, each within
    `max_int8_bytes` and `max_latency_ms` when they are set (the latter on the frame's
    `latency_ms` column, rule latency's high estimate: a row it did not time is not eligible)."""
    kinds = list(DEPLOYABLE) if candidates_cfg["baselines"] else ["liquid"]
    ok = frame["kind"].isin(kinds)
    if not candidates_cfg.get("teacher", True):
        ok &= frame["stage"] != "teacher"
    limit = candidates_cfg.get("max_int8_bytes")
    if limit is not None:
        ok &= frame["int8_bytes"].astype(float) <= limit
    ms = candidates_cfg.get("max_latency_ms")
    if ms is not None:
        if "latency_ms" not in frame:
            raise ValueError("a latency limit needs the candidates' latency_ms (rule latency)")
        ok &= frame["latency_ms"].astype(float) <= ms
    return ok.to_numpy(bool)


def with_latency(frame, latency):
    """`frame` with rule latency's high estimate (latency_ms, ms per inference on the Cortex-M4)
    of each row it timed; NaN where it timed none."""
    ms = latency.drop_duplicates("name").set_index("name")["latency_ms_high"]
    return frame.assign(latency_ms=frame["name"].map(ms).astype(float))


def check_limits(config):
    """Fail before any job runs when a protocol whose baselines compete sets max_int8_bytes
    below the smallest of them, persistence: nothing it trains could be deployed either."""
    from dlnet.errors import InputError, config_source

    for name, p in config["protocols"].items():
        c = p.get("candidates", {})
        limit = c.get("max_int8_bytes")
        if not p["enabled"] or limit is None or not c.get("baselines"):
            continue
        smallest = polynomial_costs(p["input_len"], p["output_len"], 1)["int8_bytes"]
        if limit < smallest:
            raise InputError(config_source(), f"protocol {name} allows {limit} int8 bytes, fewer "
                             f"than its smallest candidate, persistence ({smallest} bytes)",
                             f"raise protocols.{name}.candidates.max_int8_bytes to at least "
                             f"{smallest} (the networks need a few kB)",
                             column=f"protocols.{name}.candidates.max_int8_bytes")
