"""The Cortex-M4 check: build the core with a model, run real windows (and their signals) on it
in QEMU, compare every output with the NumPy int8 reference, and measure instructions, flash, RAM
and stack; then trace a few of the windows instruction by instruction for their Cortex-M4
cycles (m4cycles).

The firmware validates the model itself (dlnet_model_init) before the reference reads the same
header, so a corrupt header fails with the core's own error code, as it would on the board.
"""

import re
import time
from pathlib import Path

import numpy as np

from dlnet.errors import InputError
from dlnet.firmware import (elfsize, held_out_windows, latency, m4build, m4cycles, qemu, stack,
                            tools)
from dlnet.quant import guard, header, reference
from dlnet.quant.fixedpoint import q_to_soh

_DEFINE = re.compile(r"^#define\s+(DLNET_(?:INPUT_LEN|OUTPUT_LEN|N_SIGNALS))\s+(\d+)\s*$", re.M)
# what dlnet_run needs in RAM besides its stack (firmware/m4/main.c names them)
RAM_SYMBOLS = ("dlnet_model", "dlnet_scratch", "dlnet_soh_out")
# Windows the traced run costs in cycles: those with the most instructions. A traced run logs
# about 300 bytes per instruction, so it runs a second image with these windows alone.
TRACE_WINDOWS = 2
METHOD = "Cortex-M4 TRM timings on QEMU's instruction trace"
WAIT_STATES = ("low: none; high: one per word loaded from flash (below 0x20000000: weights, "
               "input windows, literals); instruction fetches without wait states (the "
               "nRF52840's instruction cache)")


class Mismatch(RuntimeError):
    """The Cortex-M4 build computed something other than the reference."""


class TraceMismatch(RuntimeError):
    """The instruction trace and QEMU's instruction count disagree about dlnet_run."""


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
           core_dir=m4build.CORE_DIR, m4_dir=m4build.M4_DIR, log=print, defines=(),
           trace_windows=TRACE_WINDOWS, reuse=None):
    """Build in `work` (app.elf stays there), run `selection` (a held_out_windows.Selection) in
    QEMU and return the report (the m4_report.json keys). qemu.FirmwareError if the firmware
    rejects the model or stops early. A mismatch is reported (all_bit_exact false), not raised:
    see check.
    `defines`: -D flags of the build (m4build.build). `trace_windows`: how many windows (those
    with the most instructions) the traced run costs in cycles; 0 leaves out the cycle keys
    (cycles_per_inference, cycles_per_instruction, latency_ms, breakdown.cycles). `reuse`: the
    folder of an earlier build of the same core and settings, whose model-independent objects
    this build copies (m4build.build; the traced image reuses this build's)."""
    t = tools.m4_tools()
    _, output_len = model_dims(model_header)
    signals = selection.model_signals(model_signals(model_header))
    b = m4build.build(t["gcc"], work, model_header,
                      held_out_windows.m4_header(selection.q, signals), optimize, core_dir,
                      m4_dir, defines, reuse)
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
    traced = {}
    if trace_windows:
        traced = cycles(t, instr, per_tick, selection.q, signals, model_header,
                        Path(work) / "trace", timeout, log, trace_windows, optimize=optimize,
                        core_dir=core_dir, m4_dir=m4_dir, defines=defines, reuse=b.work)
    report = {
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
        **{k: traced[k] for k in ("cycles_per_inference", "cycles_per_instruction", "latency_ms")
           if traced},
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
    if traced:
        report["breakdown"]["cycles"] = traced["breakdown"]
        for i, c in traced["windows"].items():
            report["windows"][i]["cycles"] = c
    return report


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


def cycles(t, instr, per_tick, q, signals, model_header, work, timeout, log, n=TRACE_WINDOWS,
           **build):
    """The cycle keys of the report: dlnet_run's Cortex-M4 cycles on the `n` windows of `q` with
    the most instructions (`instr`, counted by SysTick), from a traced run of an image built
    in `work` (m4build.build's `build` arguments) with those windows alone. TraceMismatch
    unless the trace executed as many instructions as SysTick counted, to its resolution
    (`per_tick` instructions per tick)."""
    pick = sorted(int(i) for i in np.argsort(-instr, kind="stable")[:n])
    start = time.perf_counter()
    b = m4build.build(t["gcc"], work, model_header,
                      held_out_windows.m4_header(q[pick], signals[pick]), **build)
    prog = m4cycles.program(elfsize.disassembly(t["objdump"], b.elf))
    symbols = elfsize.symbols(t["nm"], b.elf)
    entry = symbols["dlnet_run"][0]
    ranges = _logged_ranges(prog, symbols, entry)
    built = time.perf_counter()
    log_path = b.work / "trace.log"
    try:                 # the log holds tens of MB: it goes whether or not it could be read
        status, text = qemu.trace(t["qemu"], b.elf, log_path, ranges, timeout)
        if status != 0:
            raise qemu.FirmwareError(f"the traced image stopped: {qemu.EXIT.get(status, status)}"
                                     f"\n{text.strip()[-2000:]}")
        registers_at = {a for a, insn in prog.items() if m4cycles.needs_registers(insn)} | {entry}
        calls = m4cycles.calls(qemu.read_trace(log_path, registers_at), prog, entry)
    finally:
        log_path.unlink(missing_ok=True)
    seconds = time.perf_counter() - built
    # SysTick's count is good to a tick at each end of the run and of the overhead subtracted
    # from it, and it holds main's few instructions around the call: 3 ticks
    tolerance = 3 * per_tick
    counted = [int(instr[i]) for i in pick]
    if len(calls) != len(pick) or any(abs(c.instructions - k) > tolerance
                                      for c, k in zip(calls, counted)):
        raise TraceMismatch(f"the trace of dlnet_run holds {[c.instructions for c in calls]} "
                            f"instructions, SysTick counted {counted} (resolution {per_tick:g}) "
                            f"on windows {pick}: the trace misses or repeats instructions")
    worst = max(calls, key=lambda c: c.cycles)
    low = worst.cycles
    high = max(c.cycles + c.flash_words for c in calls)
    log(f"traced {len(pick)} windows in {seconds:.2f} s (built in {built - start:.2f} s): "
        f"{low} cycles per inference "
        f"({worst.cycles / worst.instructions:.2f} per instruction), "
        f"{1e3 * low / latency.CLOCK_HZ:.3f}-{1e3 * high / latency.CLOCK_HZ:.3f} ms")
    return {
        "cycles_per_inference": {"min": min(c.cycles for c in calls), "max": low,
                                 "mean": float(np.mean([c.cycles for c in calls])),
                                 "windows_traced": len(calls)},
        "cycles_per_instruction": worst.cycles / worst.instructions,
        "latency_ms": {"low": 1e3 * low / latency.CLOCK_HZ, "high": 1e3 * high / latency.CLOCK_HZ,
                       "clock_hz": latency.CLOCK_HZ, "method": METHOD,
                       "wait_states": WAIT_STATES, "cycles": "max over the traced windows"},
        "breakdown": {
            "windows": pick,
            "instructions_traced": [c.instructions for c in calls],
            "instructions_systick": counted,
            "flash_load_words": worst.flash_words,
            "taken_branches": worst.taken_branches,
            "address_stalls": worst.address_stalls,
            "by_kind": {k: {"instructions": worst.kinds[k], "cycles": worst.kind_cycles[k]}
                        for k in sorted(worst.kinds, key=worst.kind_cycles.get, reverse=True)},
            "timings": {"pipeline_refill_P": m4cycles.P, "divide": m4cycles.DIVIDE,
                        "source": "ARM DDI 0439B (Cortex-M4 TRM) table 3-1 and 3.3.2; "
                                  "dlnet/firmware/m4cycles.py"},
            "trace_seconds": seconds,
        },
        "windows": {i: c.cycles for i, c in zip(pick, calls)},
    }


def _logged_ranges(prog, symbols, entry):
    """[(start, end)] of the code the traced run logs: what dlnet_run (at `entry`) may run and
    the addresses it returns to. A logged instruction costs time: the model's check, the input
    guard and printf would be most of the log. If dlnet_run called through a register, all
    but what main.c does around the calls (main, its calibration loop, its stack painting)."""
    returns = [(r, r + 1) for r in m4cycles.call_sites(prog, entry)]
    spans = m4cycles.reachable(prog, symbols, entry)
    if spans is not None:
        return _merged(spans + returns)
    skip = [symbols[name] for name in symbols
            if name == "main" or name.split(".")[0] in ("spin", "stack_paint")]
    cut = sorted({0, 1 << 32} | {a for span in skip + returns for a in span})
    return _merged([(lo, hi) for lo, hi in zip(cut, cut[1:])
                    if (lo, lo + 1) in returns or not any(a <= lo < b for a, b in skip)])


def _merged(ranges):
    """The same addresses in as few ranges as possible."""
    out = []
    for lo, hi in sorted(ranges):
        if out and out[-1][1] >= lo:
            before = out.pop()
            lo, hi = before[0], max(before[1], hi)
        out.append((lo, hi))
    return out
