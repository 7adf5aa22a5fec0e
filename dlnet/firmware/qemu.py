"""Run the Cortex-M4 image in QEMU and read what firmware/m4/main.c prints.

mps2-an386 is a Cortex-M4 with FPU and RAM at both 0x0 and 0x20000000, so the image linked for
the nRF52840 runs unchanged. -icount shift=0 makes virtual time advance by the same step for
every executed instruction, so SysTick ticks count instructions (main.c calibrates the ratio
with a loop of known length). Semihosting carries stdout and main's return value.
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


class FirmwareError(RuntimeError):
    """The image did not run to the end; `code` is the core's return code when it gave one."""

    def __init__(self, message, code=None):
        super().__init__(message)
        self.code = code


def command(qemu, elf):
    return [qemu, *ARGS, str(elf)]


def run(qemu, elf, timeout):
    """(exit status, stdout) of one run; FirmwareError if it does not end within `timeout` s."""
    cmd = command(qemu, elf)
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
