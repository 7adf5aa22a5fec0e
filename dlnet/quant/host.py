"""Build and run the host programs around the C core: firmware/host/dlnet_host.c runs a model,
dlnet_guard_host.c the input check (dlnet_check_window).

Three builds: `optimized` (-O2), `sanitized` (-fsanitize=address,undefined, no recovery, so any
out-of-bounds access, signed overflow, misaligned access or bad shift aborts the run), and
`portable`, sanitized with -DDLNET_PORTABLE: the core's portable C only, without the
little-endian fast path the other two take on x86 (see firmware/core/dlnet_core.h). All use
-std=c99 -Wall -Wextra -Werror -pedantic, so a warning fails the build too.
"""

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

from dlnet.firmware import core_files

ROOT = Path(__file__).resolve().parents[2]
CORE = core_files.DIR
HOST = ROOT / "firmware" / "host"
GUARD_HOST = HOST / "dlnet_guard_host.c"
WARNINGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]
SANITIZE = ["-O1", "-g", "-fno-omit-frame-pointer", "-fsanitize=address,undefined",
            "-fno-sanitize-recover=all"]
FLAGS = {"optimized": ["-O2"], "sanitized": SANITIZE, "portable": SANITIZE + ["-DDLNET_PORTABLE"]}
ERRORS = {0: "DLNET_OK", -1: "DLNET_ERR_ARG", -2: "DLNET_ERR_MAGIC", -3: "DLNET_ERR_VERSION",
          -4: "DLNET_ERR_SIZE", -5: "DLNET_ERR_CHECKSUM", -6: "DLNET_ERR_PARAM",
          -7: "DLNET_ERR_SCRATCH", -8: "DLNET_ERR_MODEL", -9: "DLNET_ERR_INPUT_RANGE",
          -10: "DLNET_ERR_INPUT_JUMP"}


class HostError(RuntimeError):
    """The host program failed; `code` is the core's return code when it reported one."""

    def __init__(self, message, code=None):
        super().__init__(message)
        self.code = code


def compiler():
    """The C compiler to use ($CC or gcc), or None when there is none."""
    return shutil.which(os.environ.get("CC", "gcc"))


def build(out_dir, kind="optimized", header=None, core=CORE, host_source=HOST / "dlnet_host.c"):
    """Compile the host program into out_dir; `header` compiles a dlnet_model.h in as 'builtin'.
    `core` is the folder of the core's files (core_files). Returns (path of the executable, the command)."""
    cc = compiler()
    if cc is None:
        raise HostError("no C compiler: install gcc or set CC")
    core = Path(core).resolve()
    out = Path(out_dir) / f"{Path(host_source).stem}_{kind}"
    cmd = [cc, *WARNINGS, *FLAGS[kind], f"-I{core}", *map(str, core_files.sources(core)),
           str(Path(host_source).resolve()), "-o", str(out)]
    if header is not None:
        cmd.insert(1, f'-DDLNET_MODEL_HEADER="{Path(header).resolve()}"')
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise HostError(f"host build failed:\n{' '.join(cmd)}\n{proc.stderr}")
    return out, cmd


def windows_bytes(x, s=None):
    """The host's INPUT file (firmware/host/dlnet_host.c): each window's k raw signals (int32
    little-endian; `s`, n x k, None for k = 0), then its input_len Q7.24 values (int32
    little-endian; `x`, n x input_len): signals first, as in reference.predict's rows."""
    if not len(x):
        return b""
    x = np.ascontiguousarray(x, dtype="<i4").reshape(len(x), -1)
    s = np.zeros((len(x), 0), np.int64) if s is None else np.asarray(s).reshape(len(x), -1)
    if s.size and (s.min() < -2 ** 31 or s.max() > 2 ** 31 - 1):
        raise ValueError("a raw signal is outside the int32 range dlnet_run takes")
    s = np.ascontiguousarray(s, dtype="<i4")
    return np.concatenate([s.view(np.uint8).reshape(len(x), -1),
                           x.view(np.uint8).reshape(len(x), -1)], axis=1).tobytes()


def run(exe, model, x, work_dir, output_len=None, scratch_bytes=None, s=None,
        null_signals=False):
    """Run windows x (Q7.24 int32, n x input_len) and their raw signals s (int32 values, n x k;
    None for a model without signals) through the host; `model` is blob bytes or "builtin";
    `scratch_bytes` overrides the scratch size the host passes to dlnet_run; `null_signals`
    passes dlnet_run NULL signals (s must be None), which a model with signals refuses.

    Returns the int16 outputs (n x output_len). HostError on a nonzero exit, with the core's
    return code parsed from stderr when it reported one.
    """
    work = Path(work_dir)
    model_arg = "builtin"
    if model != "builtin":
        model_arg = str(work / "model.bin")
        Path(model_arg).write_bytes(bytes(model))
    if null_signals and s is not None:
        raise ValueError("null_signals passes no signals: s must be None")
    (work / "in.bin").write_bytes(windows_bytes(x, s))
    env = {**os.environ, "ASAN_OPTIONS": "abort_on_error=0:detect_leaks=1",
           "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"}
    args = [str(exe), *(["--null-signals"] if null_signals else []), model_arg,
            str(work / "in.bin"), str(work / "out.bin")]
    if scratch_bytes is not None:
        args.append(str(int(scratch_bytes)))
    proc = subprocess.run(args, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise HostError(f"{Path(exe).name} exited {proc.returncode}: {proc.stderr.strip()[-3000:]}",
                        _code(proc.stderr))
    y = np.frombuffer((work / "out.bin").read_bytes(), dtype="<i2")
    return y.reshape(len(x), -1 if output_len is None else output_len) if len(x) else y


def check_windows(exe, x, work_dir):
    """dlnet_check_window on windows x (Q7.24 int32, n x len) through
    firmware/host/dlnet_guard_host.c (built with host_source=GUARD_HOST): (n, 2) int32 of code and
    bad index."""
    work = Path(work_dir)
    x = np.ascontiguousarray(x, dtype="<i4")
    (work / "guard_in.bin").write_bytes(x.tobytes())
    proc = subprocess.run([str(exe), str(x.shape[1]), str(work / "guard_in.bin"),
                           str(work / "guard_out.bin")], capture_output=True, text=True)
    if proc.returncode != 0:
        raise HostError(f"{Path(exe).name} exited {proc.returncode}: {proc.stderr.strip()[-3000:]}")
    return np.frombuffer((work / "guard_out.bin").read_bytes(), dtype="<i4").reshape(len(x), 2)


def _code(stderr):
    """The core's return code from 'dlnet_host: what: NAME (code)', else None."""
    for name_code in stderr.strip().splitlines()[-1:]:
        if name_code.startswith("dlnet_host:") and name_code.endswith(")") and "(" in name_code:
            try:
                return int(name_code.rsplit("(", 1)[1][:-1])
            except ValueError:
                return None
    return None
