"""Signals: per-window integers a battery management system already knows, as model inputs
beside the SOH window (config.yaml: `protocols.<name>.signals`).

Each signal is computed causally, from the cycles of the window's input values only, and is an
integer in its own unit: the C core takes it as an int32 (dlnet_run's `signals`), the Arduino
sketch on its `W` line. The Scaler scales it on the training windows, (v - offset) / scale with an
integer offset (`fit`), and the model reads it after the scaled window (dlnet/model.py).

Where code passes windows to a forecaster, a row is the model's raw input: the k signals first,
then the input_len SOH values (WindowSet.inputs), so that every "last n values" of a row, which
the anchors, the parabolas and the baselines read, is SOH.

    cycle   the cycle number of the window's last input value (the study's `cycle` column, or the
            series index + 1): the cell's age when it forecasts. Every dataset has it.
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Signal:
    name: str
    unit: str
    column: str          # the per-cycle column of the series it reads
    description: str


SIGNALS = {
    "cycle": Signal("cycle", "cycles", "cycle", "cycle number of the window's last input value"),
}


def groups(names):
    """The signals ablation's groups (dlnet/ablation.py), {group: signal names}: none ("soh"),
    each alone, and all together when there are several."""
    out = {"soh": []}
    out.update({n: [n] for n in names})
    if len(names) > 1:
        out["all"] = list(names)
    return out


def window_values(names, cycles, cell, start, input_len):
    """Raw values (n, len(names)), float64 holding integers, of windows (cell, start), from the
    per-cell cycle numbers `cycles` (cell -> array, in series order)."""
    out = np.zeros((len(start), len(names)))
    for j, name in enumerate(names):
        if name == "cycle":
            out[:, j] = [cycles[c][s + input_len - 1] for c, s in zip(cell, start)]
        else:
            raise ValueError(f"unknown signal '{name}'; known: {sorted(SIGNALS)}")
    return out


def split(inputs, input_len, k):
    """A raw input row's parts: (signals as int64 (n, k), SOH window (n, input_len))."""
    inputs = np.asarray(inputs, np.float64)
    soh = inputs[:, inputs.shape[1] - input_len:]
    raw = inputs[:, inputs.shape[1] - input_len - k:inputs.shape[1] - input_len]
    return np.rint(raw).astype(np.int64), soh


def fit(names, values):
    """The Scaler's signal scalings, from the training windows' raw values (n, k): an integer
    offset (the mean, rounded, so the core subtracts it exactly) and the largest distance from
    it, so that training values land in [-1, 1] like the scaled window's: an int8 input tensor
    that holds both (the TFLite export's) then spends its steps on both alike."""
    out = []
    for j, name in enumerate(names):
        v = values[:, j]
        offset = int(np.rint(v.mean()))
        out.append({"name": name, "unit": SIGNALS[name].unit, "offset": offset,
                    "scale": float(max(np.abs(v - offset).max(), 1.0))})
    return out
