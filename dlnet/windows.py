"""Cut per-cell series into (input, target) windows: `input_len` values in, `output_len` out."""

import numpy as np


def window_starts(n_values, length, step):
    """Start indices of every full window of `length` values, `step` apart, from index 0."""
    if n_values < length:
        return np.zeros(0, dtype=np.int64)
    return np.arange(0, n_values - length + 1, step, dtype=np.int64)


def largest_steps(cycles, starts, length):
    """For each window of `length` values from `starts`: the largest step between the cycles of
    two consecutive values (1 where no cycle is missing), and the index of the value before it."""
    steps = np.diff(np.asarray(cycles, np.int64))
    idx = starts[:, None] + np.arange(length - 1)[None, :]
    block = steps[idx] if len(starts) else np.ones((0, length - 1), np.int64)
    at = block.argmax(axis=1)
    return block[np.arange(len(starts)), at], starts + at


def cut(values, starts, input_len, output_len):
    """Return x (n, input_len) and y (n, output_len) for windows starting at `starts`."""
    values = np.asarray(values, dtype=np.float64)
    idx = starts[:, None] + np.arange(input_len + output_len)[None, :]
    block = values[idx] if len(starts) else np.zeros((0, input_len + output_len))
    return block[:, :input_len], block[:, input_len:]


class WindowSet:
    """Windows of one split with where they came from: arrays x, y, cell, start, and s, the raw
    signals beside each window (n, k), k = 0 without signals (dlnet/signals.py)."""

    def __init__(self, x, y, cell, start, s=None):
        self.x, self.y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        self.cell, self.start = np.asarray(cell, dtype=str), np.asarray(start, np.int64)
        self.s = np.zeros((len(self.x), 0)) if s is None else np.asarray(s, np.float64)

    def __len__(self):
        return len(self.x)

    @property
    def inputs(self):
        """What a forecaster reads: the signals, then the window (dlnet/signals.py)."""
        return np.concatenate([self.s, self.x], axis=1) if self.s.shape[1] else self.x

    @classmethod
    def concat(cls, parts, input_len, output_len):
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls(np.zeros((0, input_len)), np.zeros((0, output_len)), [], [])
        return cls(np.concatenate([p.x for p in parts]), np.concatenate([p.y for p in parts]),
                   np.concatenate([p.cell for p in parts]),
                   np.concatenate([p.start for p in parts]), np.concatenate([p.s for p in parts]))


def windows_of_cell(cell_id, values, input_len, output_len, step, starts=None):
    if starts is None:
        starts = window_starts(len(values), input_len + output_len, step)
    x, y = cut(values, starts, input_len, output_len)
    return WindowSet(x, y, [cell_id] * len(starts), starts)
