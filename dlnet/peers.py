"""Peers: other people's int8 TFLite forecasters, scored by this project's code on its windows.

A peer maps min-max-scaled SOH windows to min-max-scaled forecasts, int8 in and int8 out, as the
DLNet paper's deployed model does. What its firmware feeds it matters as much as the model, so a
peer is scored under each named input scaling of config.yaml:
  {min: a, max: b}   the fixed scaler of the peer's own firmware
  train_minmax       the min-max scaler fitted on this protocol's training windows
The model runs in TFLite Micro's own kernels (dlnet.export.micro), one window at a time, as on the
board. Windows outside a scaler's range are clipped to int8, and counted.
"""

import numpy as np

from dlnet.errors import InputError
from dlnet.metrics import all_splits


def scaler_range(scaling, splits):
    """(lo, hi) of one named scaling."""
    if scaling == "train_minmax":
        train = splits["train"]
        return (float(min(train.x.min(), train.y.min())), float(max(train.x.max(), train.y.max())))
    return float(scaling["min"]), float(scaling["max"])


def score(micro, splits, scalings, source):
    """{scaling name: {lo, hi, inputs_clipped, <split>: metrics}} of a Micro interpreter."""
    n_in = micro.input["shape"][-1]
    n_out = micro.output["shape"][-1]
    train = splits["train"]
    if (n_in, n_out) != (train.x.shape[1], train.y.shape[1]):
        raise InputError(source, f"maps {n_in} -> {n_out} values, but the protocol's windows are "
                         f"{train.x.shape[1]} -> {train.y.shape[1]}",
                         "score it only on protocols with its window sizes (peers.<name>.protocols)")
    out = {}
    for name, scaling in scalings.items():
        lo, hi = scaler_range(scaling, splits)

        def forecast(inputs):
            # a peer reads the SOH window alone: the last n_in values of a row, not its signals
            x = np.asarray(inputs, np.float64)[:, -n_in:]
            z = micro.predict_scaled((x - lo) / (hi - lo))
            return lo + (hi - lo) * z

        clipped = {s: micro.quantize((w.x - lo) / (hi - lo))[1]
                   for s, w in splits.items() if s != "train" and len(w)}
        out[name] = {"min": lo, "max": hi, "inputs_clipped": clipped,
                     **all_splits(splits, forecast)}
    return out
