"""The Cortex-M4 check: build the core with a model, run real windows (and their signals) on it
in QEMU, compare every output with the NumPy int8 reference, and measure instructions, flash, RAM
and stack.

The firmware validates the model itself (dlnet_model_init) before the reference reads the same
header, so a corrupt header fails with the core's own error code, as it would on the board.
"""

import re
import time
from pathlib import Path

import numpy as np

from dlnet.errors import InputError
from dlnet.firmware import elfsize, held_out_windows, latency, m4build, qemu, stack, tools
from dlnet.quant import guard, header, reference
from dlnet.quant.fixedpoint import q_to_soh

_DEFINE = re.compile(r"^#define\s+(DLNET_(?:INPUT_LEN|OUTPUT_LEN|N_SIGNALS))\s+(\d+)\s*$", re.M)
# what dlnet_run needs in RAM besides its stack (firmware/m4/main.c names them)
RAM_SYMBOLS = ("dlnet_model", "dlnet_scratch", "dlnet_soh_out")


class Mismatch(RuntimeError):
    """The Cortex-M4 build computed something other than the reference."""


def _defines(path):
    try:
        found = dict(_DEFINE.findall(Path(path).read_text()))
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(path, f"cannot be read ({e})", "rerun the quantize rule") from None
    if set(found) != {"DLNET_INPUT_LEN", "DLNET_OUTPUT_LEN", "DLNET_N_SIGNALS"}:
        raise InputError(path, "lacks DLNET_INPUT_LEN / DLNET_OUTPUT_LEN / DLNET_N_SIGNALS: not "
                         "a generated model header of this version", "rerun the quantize rule "
                         "and do not edit its output")
    return {k: int(v) for k, v in found.items()}


def model_dims(path):
    """(input_len, output_len) from a dlnet_model.h's macros."""
    found = _defines(path)
    return found["DLNET_INPUT_LEN"], found["DLNET_OUTPUT_LEN"]


def model_signals(path):
    """The number of signals (DLNET_N_SIGNALS) a dlnet_model.h's model reads."""
    return _defines(path)["DLNET_N_SIGNALS"]


def verify(model_header, selection, work, optimize="Os", cpi=None, timeout=300,
           core_dir=m4build.CORE_DIR, m4_dir=m4build.M4_DIR, log=print, defines=()):
    """Build in `work` (app.elf stays there), run `selection` (a held_out_windows.Selection) in
    QEMU and return the report (the m4_report.json keys). qemu.FirmwareError if the firmware
    rejects the model or stops early. A mismatch is reported (all_bit_exact false), not raised:
    see check.
    `defines`: -D flags of the build (m4build.build)."""
    t = tools.m4_tools()
    _, output_len = model_dims(model_header)
    signals = selection.model_signals(model_signals(model_header))
    b = m4build.build(t["gcc"], work, model_header,
                      held_out_windows.m4_header(selection.q, signals), optimize, core_dir,
                      m4_dir, defines)
    log(f"built {b.elf} ({optimize}): " + " ".join(b.flags))
    start = time.perf_counter()
    status, text = qemu.run(t["qemu"], b.elf, timeout)
    log(f"QEMU ran {len(selection.q)} windows in {time.perf_counter() - start:.2f} s: "
        f"{' '.join(qemu.command(t['qemu'], b.elf))}")
    run = qemu.parse(status, text, output_len)
    if len(run["y"]) != len(selection.q):
        raise qemu.FirmwareError(f"the firmware answered {len(run['y'])} of {len(selection.q)} "
                                 f"windows:\n{text.strip()[-2000:]}")
    sizes = elfsize.symbol_sizes(t["nm"], b.elf, ("dlnet_model_data",) + RAM_SYMBOLS)
    core = elfsize.objects(t["size"], b.core_objects)
    whole = elfsize.image(t["size"], b.elf)
    bound = stack.worst_case(b.callgraph_files(), "dlnet_run")
    qm = header.read(model_header)
    ref = reference.run(qm, selection.q, signals).astype(np.int64)
    diff = np.abs(run["y"] - ref)
    exact = diff.max(axis=1) == 0
    guard_ref = np.array([guard.check_window(q) for q in selection.q], np.int64).reshape(-1, 2)

    per_tick = run["calib_instructions"] / run["calib_ticks"]
    instr = np.rint((run["ticks"] - run["overhead_ticks"]) * per_tick).astype(np.int64)
    estimate = latency.estimate(int(instr.max()), cpi)
    cpi_used = {**latency.CPI, **(cpi or {})}
    ram = sum(sizes[s] for s in RAM_SYMBOLS)
    return {
        "model_header": str(model_header),
        "windows_compared": int(len(ref)),
        "values_compared": int(ref.size),
        "all_bit_exact": bool(exact.all()),
        "mismatched_windows": int((~exact).sum()),
        "input_guard": {"windows_checked": int(len(run["guard"])),
                        "refused": int((run["guard"][:, 0] != 0).sum()),
                        "agrees_with_reference": bool(np.array_equal(run["guard"], guard_ref))},
        "max_abs_diff_lsb": int(diff.max(initial=0)),
        "instructions_per_inference": {"min": int(instr.min()), "max": int(instr.max()),
                                       "mean": float(instr.mean())},
        "latency_ms_estimate": {**estimate, "clock_hz": latency.CLOCK_HZ,
                                "instructions": "max over the windows", "note": latency.NOTE},
        "flash_bytes": sizes["dlnet_model_data"] + core["text"] + core["data"],
        "ram_bytes": ram,
        "stack_bytes": int(run["stack"].max()),
        "toolchain": {"arm-none-eabi-gcc": tools.version(t["gcc"]),
                      "qemu": tools.version(t["qemu"]),
                      "libc": "newlib-nano (--specs=nano.specs), semihosting (rdimon)"},
        "build": {"optimize": optimize, "flags": b.flags, "machine": "QEMU mps2-an386 "
                  "(Cortex-M4F), -icount shift=0", "memory_map": "nRF52840: flash 1 MB at "
                  "0x0, RAM 256 KB at 0x20000000"},
        "breakdown": {
            "model_data_bytes": sizes["dlnet_model_data"],
            "core_code_bytes": core["text"],
            "core_static_ram_bytes": core["data"] + core["bss"],
            "model_handle_bytes": sizes["dlnet_model"],
            "scratch_bytes": sizes["dlnet_scratch"],
            "output_buffer_bytes": sizes["dlnet_soh_out"],
            "stack_measured_bytes": int(run["stack"].max()),
            "stack_static_bound_bytes": bound["bytes"],
            "stack_static_path": bound["path"],
            "stack_static_uncounted_calls": bound["external"],
            "init_instructions": int(round((run["init_ticks"] - run["overhead_ticks"]) * per_tick)),
            "instructions_per_systick": per_tick,
            "measurement_overhead_instructions": int(round(run["overhead_ticks"] * per_tick)),
            "cpi_assumptions": {**cpi_used, "why": latency.JUSTIFICATION},
            "test_image": whole,
            "notes": {
                "flash_bytes": "model data plus the core's code and read-only data (its objects)",
                "ram_bytes": "model handle + scratch + output buffer; the input stays in flash "
                             "here (a sketch adds its own input buffer)",
                "stack_bytes": "deepest stack dlnet_run used, measured by painting",
                "instructions_per_inference": f"SysTick under -icount shift=0, resolution "
                                              f"{per_tick:g} instructions, overhead subtracted",
                "test_image": "the whole QEMU image with newlib, semihosting and the windows",
            },
        },
        "int8_mae_on_windows": float(np.abs(q_to_soh(ref) - selection.y).mean()),
        "windows": [{"source": selection.source(i), "instructions": int(instr[i]),
                     "stack_bytes": int(run["stack"][i]), "bit_exact": bool(exact[i])}
                    for i in range(len(ref))],
    }


def check(report):
    """Mismatch unless every output of every window equals the reference's, and the input guard
    answers every window as guard.check_window does."""
    if not report["input_guard"]["agrees_with_reference"]:
        raise Mismatch(f"the Cortex-M4 build's dlnet_check_window disagrees with "
                       f"dlnet/quant/guard.py: {report['input_guard']}")
    if not report["all_bit_exact"]:
        bad = [w["source"] for w in report["windows"] if not w["bit_exact"]]
        raise Mismatch(f"the Cortex-M4 build disagrees with the NumPy int8 reference on "
                       f"{report['mismatched_windows']} of {report['windows_compared']} windows "
                       f"(largest difference {report['max_abs_diff_lsb']} LSB of Q1.14), first: "
                       f"{bad[0]}")
