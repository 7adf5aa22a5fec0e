"""Rule latency: the Cortex-M4 latency of every candidate the protocol could deploy, so that the
front, the finalists and the choice leave out what runs slower than its
`candidates.max_latency_ms` (the int8 bytes alone do not bound it: cycles per
multiply-accumulate differ by architecture). Rule latency_seeds times the finalists' other
seeds, whose pruned shapes may differ.

Each network of the main tree within the byte limit (the configured seed's run), and each
eligible baseline the core computes, is quantized as rule quantize would, built into the
Cortex-M4 firmware and run in QEMU on validation windows (the choice reads no held-out data);
its cycles come from the instruction trace of the window with the most instructions
(dlnet/firmware/m4.py), and the limit reads the high estimate (one flash wait state per word
loaded), the estimate firmware_m4 reports for the deployed model on held-out windows, where it
may differ by a few cycles. Models of one int8 shape share one measurement: their instructions
differ only by the few data-dependent ones (saturations), a fraction of a percent.
"""

import json
import tempfile
from pathlib import Path

import pandas as pd

from dlnet import candidates, deployable, protocols
from dlnet.firmware import held_out_windows, m4
from dlnet.io import write_csv
from dlnet.logs import Log
from dlnet.quant import calibrate, header

COLUMNS = ["name", "seed", "kind", "model", "measured_on", "instructions", "cycles",
           "latency_ms_low", "latency_ms_high"]


def deployables(frame, seed, input_len, output_len):
    """(name, seed, kind, model path, Deployable) of every row of `frame` (a candidates table)
    that the core computes: networks (trained with `seed`), polynomial baselines, ridge (their
    seed None)."""
    out = []
    for _, r in frame[frame["kind"].isin(candidates.DEPLOYABLE)].iterrows():
        if r["kind"] == "liquid":
            out.append((r["name"], seed, "liquid", r["model"], deployable.Liquid(r["model"])))
        elif r["kind"] == "linear":
            out.append((r["name"], None, "linear", r["model"], deployable.Linear.load(r["model"])))
        else:
            out.append((r["name"], None, "polynomial", "",
                        deployable.Polynomial(r["fit_len"], r["degree"], input_len, output_len)))
    return out


def measure(qm, source, selection, work, firmware, core_dir, m4_dir, log, reuse=None):
    """The m4_report latency keys of one int8 model `qm` on `selection` (its windows), built in
    `work`/build (`reuse`: an earlier build's folder, m4build.build)."""
    path = Path(work) / "dlnet_model.h"
    path.write_text(header.text(qm, source=source))
    report = m4.verify(path, selection, Path(work) / "build", firmware["optimize"],
                       timeout=firmware["qemu_timeout"], core_dir=core_dir, m4_dir=m4_dir,
                       log=log, trace_windows=1, reuse=reuse)
    m4.check(report)
    return {"instructions": report["instructions_per_inference"]["max"],
            "cycles": report["cycles_per_inference"]["max"],
            "latency_ms_low": report["latency_ms"]["low"],
            "latency_ms_high": report["latency_ms"]["high"]}


def time_models(models, dataset, info, params, core, m4_sources, log):
    """The latency table (COLUMNS) of `models` (deployables' tuples) on the validation windows
    of `dataset`, quantized with the training windows' calibration."""
    splits, _ = protocols.load_with_scaler(dataset, info)
    x_cal = calibrate.sample(splits["train"].inputs,
                             int(params.quantization["calibration_windows"]))
    core_dir, m4_dir = Path(core[0]).parent, Path(m4_sources[0]).parent
    measured, rows = {}, []
    with tempfile.TemporaryDirectory(prefix="dlnet_latency_") as root:
        # every model's image links the core objects of the first one's build
        first = Path(root) / "0"
        for name, seed, kind, path, model in models:
            qm = model.quantize(x_cal, params.quantization)
            key = json.dumps(qm.dims, sort_keys=True)
            label = name if seed is None else f"{name} seed {seed}"
            if key not in measured:
                selection = held_out_windows.pick(dataset, int(params.windows),
                                                  splits["val"].x.shape[1], qm.dims["signals"],
                                                  splits=("val",))
                work = Path(root) / str(len(measured))
                work.mkdir()
                measured[key] = {"measured_on": label,
                                 **measure(qm, path or name, selection, work, params.firmware,
                                           core_dir, m4_dir, lambda _: None,
                                           reuse=first / "build" if measured else None)}
            m = measured[key]
            log(f"{label}: {m['instructions']} instructions, {m['cycles']} cycles, "
                f"{m['latency_ms_low']:.3f}-{m['latency_ms_high']:.3f} ms"
                + ("" if m["measured_on"] == label else f" (the shape of {m['measured_on']})"))
            rows.append({"name": name, "seed": seed, "kind": kind, "model": path, **m})
    return pd.DataFrame(rows, columns=COLUMNS).astype({"seed": "Int64"})


def run(input, output, params, log, threads=1):
    log = Log(log)
    p = params.protocol
    frame = candidates.of_protocol(input, p["input_len"], p["output_len"])
    # the other limits first: what they rule out needs no timing
    frame = frame[candidates.eligible(frame, p["candidates"])]
    models = deployables(frame, params.seed, p["input_len"], p["output_len"])
    log(f"timing {len(models)} candidates on the Cortex-M4 ({params.windows} validation windows "
        "each shape)")
    write_csv(output.latency, time_models(models, input.dataset, input.info, params, input.core,
                                          input.m4, log))
