"""Rule latency: the Cortex-M4 latency of every candidate that select may choose, so that it
never deploys a model slower than the protocol's `candidates.max_latency_ms` (the int8 bytes
alone do not bound it: cycles per multiply-accumulate differ by architecture).

Each finalist's run of every seed, and each eligible baseline the core computes, is quantized as
rule quantize would, built into the Cortex-M4 firmware and run in QEMU on validation windows
(the choice reads no held-out data); its cycles come from the instruction trace of the window
with the most instructions (dlnet/firmware/m4.py), and the limit reads the high estimate (one
flash wait state per word loaded), the figure firmware_m4 reports for the deployed model. Runs
of one architecture (the same int8 dims) share one measurement: their instructions differ only
by the few data-dependent ones (saturations), a fraction of a percent.
"""

import json
import tempfile
from pathlib import Path

import pandas as pd

from dlnet import deployable, protocols
from dlnet.firmware import held_out_windows, m4
from dlnet.io import write_csv
from dlnet.logs import Log
from dlnet.quant import calibrate, header
from dlnet.run.select import seed_table

COLUMNS = ["name", "seed", "kind", "model", "measured_on", "instructions", "cycles",
           "latency_ms_low", "latency_ms_high"]


def candidates(frame, seed_metrics, seed_models, seed, input_len, output_len):
    """(name, seed, kind, model path, Deployable) of every candidate select may choose: each
    finalist's runs (the configured seed's and the others') and the eligible baselines that the
    core computes (polynomial, linear; their seed is None)."""
    runs = seed_table(frame, seed_metrics, seed_models, seed)
    out = [(r["name"], int(r["seed"]), "liquid", r["model"], deployable.Liquid(r["model"]))
           for _, r in runs.iterrows()]
    for _, r in frame[frame["eligible"] & frame["kind"].isin(["polynomial", "linear"])].iterrows():
        model = (deployable.Linear.load(r["model"]) if r["kind"] == "linear" else
                 deployable.Polynomial(r["fit_len"], r["degree"], input_len, output_len))
        out.append((r["name"], None, r["kind"], r["model"] if r["kind"] == "linear" else "", model))
    return out


def measure(qm, source, selection, work, firmware, core_dir, m4_dir, log):
    """The m4_report latency keys of one int8 model `qm` on `selection` (its windows)."""
    path = Path(work) / "dlnet_model.h"
    path.write_text(header.text(qm, source=source))
    report = m4.verify(path, selection, Path(work) / "build", firmware["optimize"],
                       firmware["cpi"], firmware["qemu_timeout"], core_dir=core_dir,
                       m4_dir=m4_dir, log=log, trace_windows=1)
    m4.check(report)
    return {"instructions": report["instructions_per_inference"]["max"],
            "cycles": report["cycles_per_inference"]["max"],
            "latency_ms_low": report["latency_ms"]["low"],
            "latency_ms_high": report["latency_ms"]["high"]}


def run(input, output, params, log, threads=1):
    log = Log(log)
    p = params.protocol
    frame = pd.read_csv(input.candidates)
    splits, _ = protocols.load_with_scaler(input.dataset, input.info)
    x_cal = calibrate.sample(splits["train"].inputs, int(params.quantization["calibration_windows"]))
    core_dir, m4_dir = Path(input.core[0]).parent, Path(input.m4[0]).parent
    measured, rows = {}, []
    for name, seed, kind, path, model in candidates(frame, input.seed_metrics, input.seed_models,
                                                    params.seed, p["input_len"], p["output_len"]):
        qm = model.quantize(x_cal, params.quantization)
        key = json.dumps(qm.dims, sort_keys=True)
        label = name if seed is None else f"{name} seed {seed}"
        if key not in measured:
            selection = held_out_windows.pick(input.dataset, int(params.windows), p["input_len"],
                                              qm.dims["signals"], splits=("val",))
            with tempfile.TemporaryDirectory(prefix="dlnet_latency_") as work:
                measured[key] = {"measured_on": label,
                                 **measure(qm, path or name, selection, work, params.firmware,
                                           core_dir, m4_dir, lambda _: None)}
        m = measured[key]
        log(f"{label}: {m['instructions']} instructions, {m['cycles']} cycles, "
            f"{m['latency_ms_low']:.3f}-{m['latency_ms_high']:.3f} ms"
            + ("" if m["measured_on"] == label else f" (the architecture of {m['measured_on']})"))
        rows.append({"name": name, "seed": seed, "kind": kind, "model": path, **m})
    write_csv(output.latency, pd.DataFrame(rows, columns=COLUMNS).astype({"seed": "Int64"}))
