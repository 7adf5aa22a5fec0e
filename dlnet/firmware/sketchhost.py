"""The sketch built and run on the host against the Arduino stand-in (firmware/arduino_stub), so
that the sketch is compiled (g++ -Wall -Wextra -Werror) and its serial protocol tested where
arduino-cli cannot run. Serial reads stdin and writes stdout.
"""

import subprocess
from pathlib import Path

import numpy as np

from dlnet.firmware import core_files, tools
from dlnet.quant import host
from dlnet.quant.fixedpoint import SOH_FRAC_BITS

STUB_DIR = Path(__file__).resolve().parents[2] / "firmware" / "arduino_stub"
INSTALL = "install the Debian packages gcc and g++"
CFLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2"]
CXXFLAGS = ["-std=c++11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2"]


def build(sketch, out, stub_dir=STUB_DIR, sanitize=False):
    """Compile a staged sketch folder (arduino.stage) into the executable `out`; `sanitize`
    builds it with ASan/UBSan, no recovery (any finding ends the run with an error)."""
    sketch, out = Path(sketch), Path(out)
    cc, cxx = tools.require("gcc", INSTALL), tools.require("g++", INSTALL)
    extra = host.SANITIZE if sanitize else []
    core = [(src, out.with_name(f"{out.name}_{src.stem}.o")) for src in core_files.sources(sketch)]
    compile_core = [[cc, *CFLAGS, *extra, "-c", str(src), "-o", str(obj)] for src, obj in core]
    for cmd in (*compile_core,
                [cxx, *CXXFLAGS, *extra, f"-I{stub_dir}", f"-I{sketch}", "-x", "c++",
                 str(sketch / f"{sketch.name}.ino"), "-x", "none", str(Path(stub_dir) / "arduino_stub.cpp"),
                 *(str(obj) for _, obj in core), "-o", str(out)]):
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"host build of the sketch failed:\n{' '.join(cmd)}\n{proc.stderr}")
    return out


def request(soh, signals=None):
    """'W v1 ... vN' lines for SOH windows (rows), each value with 9 decimals (finer than the
    core's Q7.24 input step, 6e-8); with `signals`
    (rows of raw integers, one per window), 'W v1 ... vN | s1 ... sK' (the sketch's protocol)."""
    soh = np.atleast_2d(soh)
    s = [[]] * len(soh) if signals is None else np.asarray(signals).reshape(len(soh), -1)
    lines = []
    for row, sig in zip(soh, s):
        values = " ".join(f"{v:.9f}" for v in row)
        lines.append(f"W {values} | {' '.join(str(int(v)) for v in sig)}\n" if len(sig)
                     else f"W {values}\n")
    return "".join(lines)


def answers(text):
    """Q1.14 forecasts (rows) from the sketch's 'P v1 ... vM us=T' lines."""
    rows = []
    for line in text.splitlines():
        if line.startswith("P "):
            values = [v for v in line.split()[1:] if not v.startswith("us=")]
            rows.append(np.rint(np.array(values, np.float64) * (1 << SOH_FRAC_BITS)).astype(np.int64))
    return np.array(rows)


def run(exe, stdin, timeout=60):
    """The sketch's output for `stdin` (its serial input)."""
    proc = subprocess.run([str(exe)], input=stdin, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{exe} exited {proc.returncode}: {proc.stderr.strip()}")
    return proc.stdout
