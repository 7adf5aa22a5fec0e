"""Run the Cortex-M4 image in QEMU and read what firmware/m4/main.c prints.

mps2-an386 is a Cortex-M4 with FPU and RAM at both 0x0 and 0x20000000, so the image linked for
the nRF52840 runs unchanged. -icount shift=0 makes virtual time advance by the same step for
every executed instruction, so SysTick ticks count instructions (main.c calibrates the ratio
with a loop of known length). Semihosting carries stdout and main's return value.

A traced run (trace, read_trace) logs every executed instruction with the registers before it:
one instruction per translation block (-singlestep, or -accel tcg,one-insn-per-tb=on since QEMU
8.1), -d exec,cpu,nochain so that every block's execution is logged, -dfilter to leave out code
that is not measured. m4cycles costs what it logs.
"""

import re
import subprocess

import numpy as np

ARGS = ["-M", "mps2-an386", "-nographic", "-monitor", "none", "-serial", "none",
        "-semihosting-config", "enable=on,target=native", "-icount", "shift=0", "-kernel"]
EXIT = {0: "done", 3: "dlnet_model_init failed", 4: "dlnet_run failed",
        5: "the processor faulted", 6: "a measurement outlasted one SysTick period"}
_CALIB = re.compile(r"^calib ticks=(\d+) instructions=(\d+)$", re.M)
_OVERHEAD = re.compile(r"^overhead ticks=(\d+)$", re.M)
_INIT = re.compile(r"^init rc=(-?\d+) ticks=(\d+) (\w+)$", re.M)
_WINDOW = re.compile(r"^window (\d+) rc=(-?\d+) ticks=(\d+) stack=(\d+) y=(.*)$", re.M)
_GUARD = re.compile(r"^guard (\d+) rc=(-?\d+) bad=(-?\d+)$", re.M)
# -d exec: "Trace 0: 0x7f1328000100 [00800408/000010f2/00000110/ff020201] dlnet_run", in the
# brackets cs_base/pc/flags/cflags; then -d cpu's "R00=00000000 R01=..." lines and "XPSR=...".
_EXEC = re.compile(r"(?:Trace )?\d+: \S+ \[[0-9a-f]+/([0-9a-f]+)/[0-9a-f]+/([0-9a-f]+)\]")
_REGISTER = re.compile(r"(R\d\d|XPSR)=([0-9a-f]{8})")
_STOPPED = re.compile(r"^Stopped execution of TB chain before \S+ \[([0-9a-f]+)\]", re.M)
CF_COUNT_MASK = 0x1FF        # cflags: the block's instruction limit (1: one per block)


class FirmwareError(RuntimeError):
    """The image did not run to the end; `code` is the core's return code when it gave one."""

    def __init__(self, message, code=None):
        super().__init__(message)
        self.code = code


def command(qemu, elf):
    return [qemu, *ARGS, str(elf)]


def run(qemu, elf, timeout):
    """(exit status, stdout) of one run; FirmwareError if it does not end within `timeout` s."""
    return _call(command(qemu, elf), timeout)


def _call(cmd, timeout):
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise FirmwareError(f"{' '.join(cmd)} did not finish within {timeout} s") from None
    if proc.returncode not in EXIT:
        raise FirmwareError(f"{' '.join(cmd)} exited {proc.returncode}: "
                            f"{(proc.stderr or proc.stdout).strip()[-2000:]}")
    return proc.returncode, proc.stdout


def parse(status, text, output_len):
    """The transcript as numbers; FirmwareError, naming the core's error, unless it ran to the end."""
    init = _INIT.search(text)
    if status == 3 and init:
        raise FirmwareError(f"the Cortex-M4 firmware rejected the model: dlnet_model_init "
                            f"returned {init.group(3)} ({init.group(1)})", int(init.group(1)))
    windows = [m.groups() for m in _WINDOW.finditer(text)]
    if status == 4 and windows:
        raise FirmwareError(f"dlnet_run returned {windows[-1][1]} on window {windows[-1][0]}",
                            int(windows[-1][1]))
    calib, overhead = _CALIB.search(text), _OVERHEAD.search(text)
    if status != 0 or not (calib and overhead and init):
        raise FirmwareError(f"the Cortex-M4 firmware stopped: {EXIT.get(status, status)}\n"
                            f"{text.strip()[-2000:]}")
    y = np.array([[int(v) for v in w[4].split(",")] for w in windows], np.int64).reshape(
        len(windows), output_len)
    return {"calib_ticks": int(calib.group(1)), "calib_instructions": int(calib.group(2)),
            "overhead_ticks": int(overhead.group(1)), "init_ticks": int(init.group(2)),
            "ticks": np.array([int(w[2]) for w in windows], np.int64),
            "stack": np.array([int(w[3]) for w in windows], np.int64), "y": y,
            "guard": np.array([[int(g[1]), int(g[2])] for g in _GUARD.findall(text)],
                              np.int64).reshape(-1, 2)}


def _version(qemu):
    line = subprocess.run([qemu, "--version"], capture_output=True, text=True).stdout
    m = re.search(r"version (\d+)\.(\d+)", line)
    if m is None:
        raise FirmwareError(f"cannot read {qemu}'s version from {line!r}")
    return int(m.group(1)), int(m.group(2))


def trace_command(qemu, elf, log, ranges):
    """The command of a traced run: `log` gets every instruction executed at an address in
    `ranges` ([(start, end)], end excluded) with the registers before it."""
    one_per_block = (["-accel", "tcg,one-insn-per-tb=on"] if _version(qemu) >= (8, 1)
                     else ["-singlestep"])
    dfilter = ",".join(f"0x{lo:x}..0x{hi - 1:x}" for lo, hi in ranges)
    return [qemu, *one_per_block, "-d", "exec,cpu,nochain", "-dfilter", dfilter, "-D", str(log),
            *ARGS, str(elf)]


def trace(qemu, elf, log, ranges, timeout):
    """(exit status, stdout) of a traced run (trace_command); FirmwareError as `run`."""
    return _call(trace_command(qemu, elf, log, ranges), timeout)


def read_trace(log, registers_at=frozenset()):
    """Yield (pc, registers) for every instruction a traced run executed, in order; registers
    ({0..15: value, 'xpsr': value}, before the instruction) only at the addresses in
    `registers_at`, None elsewhere.

    QEMU logs a block it then does not execute when the instruction budget of -icount runs
    out at its start ("Stopped execution of TB chain before ...") or when it must redo an I/O
    access ("cpu_io_recompile"): both are dropped, as they ran again right after."""
    for entry in _entries(log):
        m = _EXEC.match(entry)
        if m is None:
            if entry.strip():
                raise FirmwareError(f"cannot read QEMU's trace at {entry[:200]!r}")
            continue
        if int(m.group(2), 16) & CF_COUNT_MASK != 1:
            raise FirmwareError(f"QEMU ran a block of more than one instruction "
                                f"({entry.splitlines()[0]}): the trace needs one per block")
        pc = int(m.group(1), 16)
        if "Stopped execution" in entry or "cpu_io_recompile" in entry:
            stopped = _STOPPED.search(entry)
            if stopped is None or int(stopped.group(1), 16) == pc:
                continue
        regs = None
        if pc in registers_at:
            regs = {"xpsr" if name == "XPSR" else int(name[1:]): int(value, 16)
                    for name, value in _REGISTER.findall(entry)}
        yield pc, regs


def _entries(log, chunk=1 << 22):
    """The log cut before each "Trace " line: one executed block per piece, with the lines QEMU
    wrote after it (its registers; "Stopped ..." if it did not run)."""
    rest = ""
    with open(log, errors="replace") as f:
        for block in iter(lambda: f.read(chunk), ""):
            pieces = (rest + block).split("\nTrace ")
            rest = pieces.pop()
            yield from pieces
    yield rest
