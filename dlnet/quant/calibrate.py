"""Activation ranges from training windows, and the quantization parameters they give.

int8 activations are asymmetric (TFLite style): real = scale * (q - zero_point), q in [-128, 127],
with the range widened to contain 0 so that 0 is exact (ReLU clamps at the zero point, zero
padding of nothing is needed). The range is either the min/max seen on the calibration windows
(`minmax`) or the `percentile` / 100 - `percentile` percentiles, which clip rare outliers in
exchange for a finer step on the bulk. Either range is then widened by a `headroom` factor
(default 1.25): a guard for cells whose activations leave the training range, where one clipped
activation costs far more than a slightly coarser step. What it must cover is measured on
validation cells, never test cells (`python benchmarks/quantization_constants.py --model ...`):
on `cells`, validation windows reach 1.05-1.26 x the training range of the int8 activations
(h4-tiny, h8, h128, the last two from a run with `families: [tiny, paper]`; the low-rank
projection reaches furthest), and the int8 validation MAE moves
by at most 0.6% for any headroom from 1 to 2, so 1.25 is a guard at no measurable cost.

Linear outputs that feed a LayerNorm are int16, symmetric, scaled so the largest calibration
value lands at half the range (HEADROOM_16): a LayerNorm divides by the row's standard deviation,
which magnifies its input's rounding error by (range / std), so an int8 input there would cost
more than any other int8 step; 16 bits cost no extra multiplies, and the factor 2 keeps windows of
unseen cells that exceed the training range from saturating (the same benchmark: validation
windows reach at most 1.03 x the training peak there, so 2 leaves room at a cost of one bit).
"""

import numpy as np

HEADROOM_16 = 2.0
METHODS = ("minmax", "percentile")


def value_range(values, method="minmax", percentile=99.99):
    """(lo, hi) of `values`, an array or a list of arrays (e.g. the state of every Euler step)."""
    v = np.concatenate([np.ravel(a) for a in values]) if isinstance(values, list) \
        else np.ravel(values)
    if method == "minmax":
        return float(v.min()), float(v.max())
    if method == "percentile":
        return float(np.percentile(v, 100.0 - percentile)), float(np.percentile(v, percentile))
    raise ValueError(f"unknown calibration method '{method}'; use one of {METHODS}")


def int8_params(lo, hi):
    """(scale, zero_point) for the real range [lo, hi] widened to contain 0."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi - lo < 1e-12:                       # an all-zero activation (dead channels): any scale
        return 1.0 / 128.0, 0
    scale = (hi - lo) / 255.0
    zero_point = int(np.clip(np.floor(-128.0 - lo / scale + 0.5), -128, 127))
    return scale, zero_point


def int16_scale(values):
    peak = float(np.max(np.abs(values))) if np.size(values) else 0.0
    return HEADROOM_16 * max(peak, 1e-9) / 32767.0


def quantize_weights(w, per_channel):
    """Symmetric int8 weights in [-127, 127]: (int64 values, float64 scale per output row)."""
    w = np.asarray(w, np.float64)
    peak = np.abs(w).max(axis=1) if per_channel else np.full(len(w), np.abs(w).max(initial=0.0))
    scale = np.where(peak > 0, peak / 127.0, 1.0)
    q = np.clip(np.floor(w / scale[:, None] + 0.5), -127, 127).astype(np.int64)
    return q, scale


def round_int(x):
    """Round half up to int64 (the one rounding used when real constants become integers)."""
    return np.floor(np.asarray(x, np.float64) + 0.5).astype(np.int64)


def sample(x, n):
    """n rows of x spread evenly over it (all of them when there are fewer): the calibration
    windows of both int8 paths, so the native core and TFLite see the same ones."""
    x = np.asarray(x)
    if len(x) <= n:
        return x
    return x[np.linspace(0, len(x) - 1, n).round().astype(int)]
