"""Rule verify_native: the C core built for the host (with ASan/UBSan, and optimized) against the
NumPy reference, bit for bit, on every real window and on random models; it must also reject bad
model blobs."""

import json
import tempfile
import time
from pathlib import Path

from dlnet import protocols, signals
from dlnet.io import versions, write_json
from dlnet.logs import Log
from dlnet.quant import header, host, verify
from dlnet.quant.fixedpoint import soh_to_q_in


def run(input, output, params, log, threads=1):
    log = Log(log)
    s = params.verify
    qm = header.read(input.header)
    data = header.read_bytes(input.header)
    splits = protocols.load(input.dataset)
    result = {"header": input.header, "builds": {}, "real": {}, "random_seed": params.seed}
    with tempfile.TemporaryDirectory(prefix="dlnet_host_") as work:
        exes = {}
        for kind in ("sanitized", "optimized"):
            exes[kind], _ = host.build(work, kind, header=input.header,
                                       core=Path(input.core[0]).parent, host_source=input.host)
            result["builds"][kind] = " ".join(host.WARNINGS + host.FLAGS[kind])
            log(f"built {kind}: {result['builds'][kind]}")
        for name, w in splits.items():
            # the model's signals: the last k of the protocol's (a baseline reads none)
            raw, soh = signals.split(w.inputs, qm.input_len, qm.dims["signals"])
            x = soh_to_q_in(soh)
            result["real"][name] = {"windows": len(x), **{
                kind: verify.compare(qm, x, exe, work, s=raw) for kind, exe in exes.items()}}
            log(f"{name}: {len(x)} windows, mismatched: " + ", ".join(
                f"{kind} {result['real'][name][kind]['mismatched_windows']}" for kind in exes))
        start = time.perf_counter()
        result["random"] = verify.random_models(exes["sanitized"], work, s["random_models"],
                                                s["random_windows"], params.seed)
        log(f"random: {result['random']['models']} models, {result['random']['windows']} windows, "
            f"mismatched {result['random']['mismatched_windows']} "
            f"({time.perf_counter() - start:.1f}s)")
        result["rejections"] = verify.rejections(exes["sanitized"], data, work,
                                                 qm.dims["input_len"])
    mismatched = sum(r[kind]["mismatched_windows"] for r in result["real"].values()
                     for kind in exes)
    result["summary"] = {
        "real_windows": sum(r["windows"] for r in result["real"].values()),
        "random_models": result["random"]["models"],
        "random_windows": result["random"]["windows"],
        "mismatched_windows": mismatched + result["random"]["mismatched_windows"],
        "rejections_ok": all(r["ok"] for r in result["rejections"].values()),
        "sanitizers": "address,undefined, no recovery: any finding fails the run",
    }
    result["summary"]["all_exact"] = result["summary"]["mismatched_windows"] == 0
    result["versions"] = versions()
    log(f"summary: {result['summary']}")
    if not (result["summary"]["all_exact"] and result["summary"]["rejections_ok"]):
        log(json.dumps(result, indent=1, default=str))
        raise RuntimeError(f"the C core disagrees with the reference or accepts a bad model: "
                           f"{result['summary']} (details in {log.path})")
    write_json(output.verify, result)
