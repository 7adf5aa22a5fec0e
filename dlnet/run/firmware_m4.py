"""Rule firmware_m4: the deployed model on a Cortex-M4 build in QEMU, checked bit for bit against
the NumPy int8 reference on real held-out windows (validation ones where nothing is held out),
with its instruction count, its cycles (from QEMU's instruction trace), flash, RAM and stack."""

import json
import shutil
import tempfile
from pathlib import Path

from dlnet.firmware import held_out_windows, m4
from dlnet.io import atomic_path, read_json, write_json
from dlnet.logs import Log

def run(input, output, params, log, threads=1):
    log = Log(log)
    s = params.firmware
    input_len, _ = m4.model_dims(input.header)
    selection = held_out_windows.pick(input.dataset, int(s["windows"]), input_len)
    selected = read_json(input.selected)
    splits = list(dict.fromkeys(selection.split.tolist()))     # val when nothing is held out
    log(f"model {selected.get('name')} ({input.header}) on {len(selection.q)} windows of "
        f"{'/'.join(splits)}")
    with tempfile.TemporaryDirectory(prefix="dlnet_m4_") as work:
        report = m4.verify(input.header, selection, work, s["optimize"], s["cpi"],
                           s["qemu_timeout"], core_dir=Path(input.core[0]).parent,
                           m4_dir=Path(input.m4[0]).parent, log=log)
        report = {"model": selected.get("name"), "model_path": selected.get("model"),
                  "splits": splits, **report}
        est, lat = report["latency_ms_estimate"], report["latency_ms"]
        log(f"{report['windows_compared']} windows, all bit-exact: {report['all_bit_exact']}; "
            f"instructions {report['instructions_per_inference']}; cycles "
            f"{report['cycles_per_inference']['max']} (CPI "
            f"{report['cycles_per_instruction']:.2f}), latency {lat['low']:.3f}-{lat['high']:.3f}"
            f" ms (instructions x CPI {est['low']:.2f}-{est['high']:.2f} ms); flash "
            f"{report['flash_bytes']} B, RAM {report['ram_bytes']} B, stack "
            f"{report['stack_bytes']} B")
        if not report["all_bit_exact"]:
            log(json.dumps(report, indent=1))
            m4.check(report)
        with atomic_path(output.elf) as tmp:
            shutil.copyfile(Path(work) / "app.elf", tmp)
    write_json(output.report, report)
