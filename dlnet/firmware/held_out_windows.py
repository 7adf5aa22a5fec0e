"""The real windows a firmware runs, and the C headers that carry them into the build.

Windows come from the held-out splits of the protocol's dataset.npz (test, test2, segments:
never train, and val only for a protocol that holds out nothing), in that order, `n` of them
spread evenly over all of those windows (all of them when there are fewer), so the same dataset
always gives the same windows. Rule latency
takes validation windows instead: the choice it serves reads no held-out data. Values go in as
Q7.24, exactly as dlnet.quant.fixedpoint.soh_to_q_in rounds them; the raw signals beside each
window (dlnet/signals.py), integers, as int32.
"""

import re
from dataclasses import dataclass

import numpy as np

from dlnet import protocols
from dlnet.errors import InputError
from dlnet.quant.fixedpoint import soh_to_q_in

HELD_OUT = ("test", "test2", "segments")
INT32 = (-2 ** 31, 2 ** 31 - 1)


@dataclass
class Selection:
    q: np.ndarray          # (n, input_len) int32 Q7.24 inputs
    y: np.ndarray          # (n, output_len) true future SOH
    split: np.ndarray      # where each window came from
    cell: np.ndarray
    start: np.ndarray
    s: np.ndarray = None   # (n, k) int64 raw signals; None or (n, 0) without

    @property
    def signals(self):
        """The raw signals as (n, k) int64, k = 0 without any."""
        return (np.zeros((len(self.q), 0), np.int64) if self.s is None
                else np.asarray(self.s, np.int64).reshape(len(self.q), -1))

    def model_signals(self, k, source="the windows"):
        """The signals a model reading k of them takes: the last k, as dlnet.signals.split takes
        them from a row (a polynomial baseline takes none of a protocol's signals)."""
        have = self.signals
        if have.shape[1] < k:
            raise InputError(source, f"have {have.shape[1]} signals beside each window but the "
                             f"model reads {k}", "deploy a model trained on this protocol")
        return have[:, have.shape[1] - k:]

    def source(self, i):
        """'test window of cell b2c3 from value 50', for logs and the sample header."""
        return f"{self.split[i]} window of cell {self.cell[i]} from value {self.start[i]}"


def pick(dataset, n, input_len, n_signals=None, splits=HELD_OUT):
    """n windows of `dataset` (a dataset.npz) from `splits` (the held-out ones unless given) for
    a model with `input_len` inputs and, when given, `n_signals` signals
    (Selection.model_signals: the last n_signals of the dataset's); else with all of the
    dataset's signals."""
    windows = protocols.load(dataset)
    parts = [(s, windows[s]) for s in splits if s in windows and len(windows[s])]
    if not parts and tuple(splits) == HELD_OUT:
        # a protocol that holds out nothing (no test cells listed): its validation windows are
        # the only ones the models did not train on; Selection.split names them
        parts = [("val", windows["val"])] if len(windows.get("val", ())) else []
    if not parts:
        raise InputError(dataset, f"has no {'/'.join(splits)} windows",
                         "rerun prepare_data with a protocol that keeps "
                         + ("test cells" if tuple(splits) == HELD_OUT else "those splits"))
    x = np.concatenate([w.x for _, w in parts])
    if x.shape[1] != input_len:
        raise InputError(dataset, f"has windows of {x.shape[1]} values but the model reads "
                         f"{input_len}", "deploy a model trained on this protocol")
    raw = np.concatenate([w.s for _, w in parts])
    if n_signals is not None and raw.shape[1] < n_signals:
        raise InputError(dataset, f"has windows with {raw.shape[1]} signals but the model reads "
                         f"{n_signals}", "deploy a model trained on this protocol")
    raw = raw[:, raw.shape[1] - (raw.shape[1] if n_signals is None else n_signals):]
    if raw.size and not (np.all(raw == np.rint(raw)) and INT32[0] <= raw.min()
                         and raw.max() <= INT32[1]):
        raise InputError(dataset, "has signal values that are not int32 integers",
                         "rerun prepare_data (dlnet/signals.py computes integers)")
    total = len(x)
    idx = np.arange(total) if total <= n else np.unique(np.linspace(0, total - 1, n).round().astype(int))
    cat = lambda attr: np.concatenate([getattr(w, attr) for _, w in parts])[idx]  # noqa: E731
    return Selection(q=soh_to_q_in(x[idx]), y=cat("y"),
                     split=np.concatenate([[s] * len(w) for s, w in parts])[idx],
                     cell=cat("cell"), start=cat("start"), s=np.rint(raw[idx]).astype(np.int64))


def _literal(x):
    """An integer as a C constant of type int: -2147483648 is not one (2147483648 does not fit
    an int, so its negation has a wider type); -2147483647 - 1 is."""
    x = int(x)
    return "(-2147483647 - 1)" if x == INT32[0] else str(x)


def _array(values, indent="    ", per_line=12):
    """A C initializer, `per_line` values to a line."""
    v = [_literal(x) for x in values]
    lines = [", ".join(v[i:i + per_line]) for i in range(0, len(v), per_line)]
    return "{\n" + ",\n".join(indent + "    " + line for line in lines) + "\n" + indent + "}"


def m4_header(q, s=None):
    """dlnet_windows.h for firmware/m4/main.c: every window as a row of a const int32 array and,
    when `s` (n, k raw int32 signals) has columns, its signals as a row of a const int32 array
    (C has no empty arrays: without signals there is none, and main.c passes NULL)."""
    s = np.zeros((len(q), 0), np.int64) if s is None else np.asarray(s, np.int64)
    s = s.reshape(len(q), -1)
    rows = ",\n".join(f"    {_array(r, indent='    ')}" for r in q)
    signals = [] if not s.shape[1] else [
        "static const int32_t dlnet_signals[DLNET_M4_WINDOWS][DLNET_M4_SIGNALS] = {",
        ",\n".join(f"    {_array(r, indent='    ')}" for r in s),
        "};",
        "",
    ]
    return "\n".join([
        "/* Generated by dlnet.firmware.held_out_windows: real windows the model did not train on,",
        " * Q7.24 SOH, and the raw signals beside them. */",
        "#ifndef DLNET_WINDOWS_H",
        "#define DLNET_WINDOWS_H",
        "",
        "#include <stdint.h>",
        "",
        f"#define DLNET_M4_WINDOWS {len(q)}",
        f"#define DLNET_M4_WINDOW_LEN {q.shape[1]}",
        f"#define DLNET_M4_SIGNALS {s.shape[1]}",
        "",
        "static const int32_t dlnet_windows[DLNET_M4_WINDOWS][DLNET_M4_WINDOW_LEN] = {",
        rows,
        "};",
        "",
        *signals,
        "#endif /* DLNET_WINDOWS_H */",
        "",
    ])


def sample_header(q_in, q_expected, source, signals=()):
    """dlnet_sample.h for the sketch: one window, its raw signals and the reference's forecast
    of them."""
    label = re.sub(r"[^A-Za-z0-9_. -]", "_", source)
    signals = [int(v) for v in np.ravel(signals)]
    signal_array = [] if not signals else [
        f"static const int32_t dlnet_sample_signals[DLNET_SAMPLE_SIGNALS] = "
        f"{_array(signals, indent='')};",
        "",
    ]
    return "\n".join([
        "/* Generated by dlnet.firmware.held_out_windows: one real window the model did not",
        " * train on (Q7.24 SOH), its raw signals and the NumPy int8 reference's forecast of",
        " * them (Q1.14), for the sketch's start-up self-test. */",
        "#ifndef DLNET_SAMPLE_H",
        "#define DLNET_SAMPLE_H",
        "",
        "#include <stdint.h>",
        "",
        f"#define DLNET_SAMPLE_INPUT_LEN {len(q_in)}",
        f"#define DLNET_SAMPLE_OUTPUT_LEN {len(q_expected)}",
        f"#define DLNET_SAMPLE_SIGNALS {len(signals)}",
        f'#define DLNET_SAMPLE_SOURCE "{label}"',
        "",
        f"static const int32_t dlnet_sample_in[DLNET_SAMPLE_INPUT_LEN] = {_array(q_in, indent='')};",
        "",
        *signal_array,
        f"static const int16_t dlnet_sample_expected[DLNET_SAMPLE_OUTPUT_LEN] = "
        f"{_array(q_expected, indent='')};",
        "",
        "#endif /* DLNET_SAMPLE_H */",
        "",
    ])
