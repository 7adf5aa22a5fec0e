"""Run an int8 flatbuffer in TFLite Micro's own kernels (the `tflite-micro` Python interpreter).

These are the kernels the board runs (TFLite's desktop interpreter differs by 1-2 LSB on some),
so this is the host reference for what the firmware computes.
"""

import re
import subprocess
import sys

import numpy as np
from tflite_micro.python.tflite_micro import runtime

from dlnet.errors import InputError

# One interpreter in a child process: with an arena that is too small, TFLite Micro sometimes
# segfaults instead of failing cleanly, and a bad flatbuffer can crash it too.
_PROBE = """
import sys
import numpy as np
from tflite_micro.python.tflite_micro import runtime
with open(sys.argv[1], "rb") as f:
    model = f.read()
interp = runtime.Interpreter.from_bytes(model, arena_size=int(sys.argv[2]))
spec = interp.get_input_details(0)
interp.set_input(np.zeros(spec["shape"], spec["dtype"]), 0)
interp.invoke()
interp.print_allocations()
"""


def _probe(path, arena):
    return subprocess.run([sys.executable, "-c", _PROBE, str(path), str(arena)],
                          capture_output=True, text=True, timeout=300)


def arena_size(path, start=4096, limit=16 << 20, step=16):
    """(smallest arena that works, to `step` bytes; the interpreter's own report of what it holds
    after allocation: {"total", "head" (activations), "tail" (persistent structures)}).

    The report is smaller than the arena needed to start: allocation takes scratch space for
    memory planning that is freed afterwards, so the minimum is found by bisection. Both are for
    this 64-bit host; on the 32-bit board the interpreter's structures are smaller.
    """
    lo, hi = 0, start
    while _probe(path, hi).returncode != 0:
        lo, hi = hi, 2 * hi
        if hi > limit:
            tail = _probe(path, limit).stderr.strip().splitlines()[-3:]
            raise InputError(path, f"TFLite Micro cannot run the model with a {limit}-byte arena "
                             f"({' / '.join(tail) or 'crashed'})",
                             "rerun the rule that writes it (snakemake --forcerun export_tflite)")
    while hi - lo > step:
        mid = (lo + hi) // 2 // step * step
        if _probe(path, mid).returncode == 0:
            hi = mid
        else:
            lo = mid
    report = re.findall(r"Arena allocation (total|head|tail) (\d+) bytes", _probe(path, hi).stderr)
    return hi, {part: int(n) for part, n in report}


class Micro:
    """A TFLite Micro interpreter for one int8 model, taking and giving scaled float windows."""

    def __init__(self, model_bytes, arena):
        self.interp = runtime.Interpreter.from_bytes(model_bytes, arena_size=arena)
        self.input = _quantization(self.interp.get_input_details(0))
        self.output = _quantization(self.interp.get_output_details(0))

    def quantize(self, z):
        """int8 input windows and how many values fell outside the int8 range (and were clipped)."""
        q = np.rint(np.asarray(z, np.float64) / self.input["scale"]) + self.input["zero_point"]
        clipped = int(((q < -128) | (q > 127)).sum())
        return np.clip(q, -128, 127).astype(np.int8), clipped

    def on_grid(self, z):
        """The scaled windows as the int8 input tensor holds them (dequantized)."""
        q, _ = self.quantize(z)
        return (q.astype(np.float64) - self.input["zero_point"]) * self.input["scale"]

    def predict_scaled(self, z):
        """Scaled forecasts (n, output_len) for scaled inputs z (n, input_len + signals), one invoke each."""
        q, _ = self.quantize(z)
        out = np.empty((len(q), *self.output["shape"][1:]), np.int8)
        for i, row in enumerate(q):
            self.interp.set_input(row[None], 0)
            self.interp.invoke()
            out[i] = self.interp.get_output(0)[0]
        return (out.astype(np.float64) - self.output["zero_point"]) * self.output["scale"]


def _quantization(details):
    q = details["quantization_parameters"]
    return {"dtype": np.dtype(details["dtype"]).name, "shape": [int(s) for s in details["shape"]],
            "scale": float(q["scales"][0]), "zero_point": int(q["zero_points"][0])}
