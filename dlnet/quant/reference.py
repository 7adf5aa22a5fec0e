"""The int8 model's arithmetic, the specification: firmware/core (dlnet_ops.c, dlnet_run.c) agrees
bit for bit.

One function per op, each over a batch of windows (rows), in int64 NumPy. Values that the C core
holds in int32 never leave the int32 range here either (qmodel.check bounds every accumulator),
so int64 NumPy and the C core compute the same integers. See fixedpoint for requant,
shift_round, the Q7.24 input and the Q1.14 output.
"""

import numpy as np

from dlnet import signals
from dlnet.layers import SEQUENCE
from dlnet.quant.fixedpoint import (INPUT_SHIFT, INT8, INT16, INT32, TREND_FRAC_BITS, TREND_INPUT,
                                    finish, q_to_soh, requant, rsqrt_multiplier, saturate,
                                    shift_round, soh_to_q_in)


def scale_input(anchor, x):
    """Q7.24 windows -> (d = sat16(x14 - a), a, u_sum = sum_j d_j), x14 = sat16(shift_round(x, 10))
    the input in Q1.14, which the anchor and the network read.

    mean anchor: a = requant(sum of the last `length` inputs, 1/length), i.e. the mean rounded
    half up (to within one 2^-31-relative multiplier error); constant anchor: the minmax offset.
    d carries the Scaler's (x - a) exactly; the 1/span lives in the first Linear's scales.
    """
    x = saturate(shift_round(np.asarray(x, np.int64), INPUT_SHIFT), INT16)
    if anchor.kind == "mean":
        a = saturate(requant(x[:, -anchor.length:].sum(axis=1, keepdims=True),
                             anchor.mult, anchor.shift), INT16)
    else:
        a = np.full((len(x), 1), anchor.constant, np.int64)
    d = saturate(x - a, INT16)
    return d, a, d.sum(axis=1, keepdims=True)


def scale_signals(sig, raw):
    """Raw int32 signals (n, k) -> int16 in d's scale: sat16(requant(sat32(v - offset), M, s)).
    The int64 difference saturates to int32 first, as the core's does, so any raw value is safe."""
    v = saturate(np.asarray(raw, np.int64) - sig.offset, INT32)
    return saturate(requant(v, sig.mult, sig.shift), INT16)


def scaled_inputs(qm, x, s):
    """(d with the scaled signals after it, d, a, u_sum): what the first layer reads, and the
    SOH part alone, which the anchor, the drive and the trend read."""
    d, a, u_sum = scale_input(qm.anchor, x)
    if qm.signals is None:
        return d, d, a, u_sum
    if s is None or np.shape(s) != (len(d), len(qm.signals)):
        raise ValueError(f"the model takes {len(qm.signals)} signals per window, "
                         f"got {None if s is None else np.shape(s)}")
    return np.concatenate([d, scale_signals(qm.signals, s)], axis=1), d, a, u_sum


def accumulate(fc, x):
    """acc_i = bias_i + sum_j w_ij x_j, the input's zero point folded into the bias
    (qmodel.fold_zero_point): int32 by construction."""
    return np.asarray(x, np.int64) @ fc.weight.T.astype(np.int64) + fc.bias


def fully_connected(fc, x):
    """clamp(zp_out + requant(acc_i, M_i, s_i), act_min, act_max): int8 (ReLU at the zero
    point) or int16 (the input of a LayerNorm)."""
    return np.clip(fc.output_offset + requant(accumulate(fc, x), fc.mult, fc.shift),
                   fc.act_min, fc.act_max)


def output_soh(fc, x, a):
    """The last Linear straight to Q1.14 SOH: sat16(a + requant(acc_i, M_i, s_i))."""
    return saturate(a + requant(accumulate(fc, x), fc.mult, fc.shift), INT16)


def trend_coefficients(trend, x, a):
    """Level, slope and curvature of the parabola through the last trend.length Q7.24 inputs x,
    less the anchor a (Q1.14): e_i = sat(x_i - a 2^10, +-2^25), the int16 d's range in Q7.24,
    c_j = sat32(shift_round(sum_i w_ji e_i, shift_j)) in 2^-TREND_FRAC_BITS[j] Q1.14 units.
    |w| < 2^26, |e| <= 2^25 and length <= 1024 keep the int64 sum exact."""
    a24 = np.asarray(a, np.int64) << INPUT_SHIFT
    e = saturate(np.asarray(x, np.int64)[:, -trend.length:] - a24, TREND_INPUT)
    return saturate(shift_round(e @ trend.weight.T.astype(np.int64), trend.shift), INT32)


def add_trend(c, a, y):
    """y_t + b_t for t = 1..horizon, b_t = sat16(a + shift_round(c0 2^16 + c1 t 2^8 + c2 t^2, 24)):
    the three terms aligned to the curvature's 2^-24 grid (|total| < 2^52), one rounding."""
    t = np.arange(1, y.shape[1] + 1, dtype=np.int64)
    f0, f1, f2 = TREND_FRAC_BITS
    total = (c[:, :1] << (f2 - f0)) + ((c[:, 1:2] * t) << (f2 - f1)) + c[:, 2:3] * t * t
    b = saturate(a + shift_round(total, f2), INT16)
    return saturate(np.asarray(y, np.int64) + b, INT16)


def layer_norm(ln, x):
    """int16 (n wide) -> int8, in integers only.

    With S = sum x and d_i = n x_i - S (exact, no rounded mean), (x_i - mean) / sqrt(var + eps)
    equals d_i / sqrt(V) with V = sum d^2 / n + eps n^2 / s_in^2. sum d^2 / n is an integer,
    n sum x^2 - S^2 (expand sum (n x_i - S)^2 = n^2 sum x^2 - n S^2), so V needs no division.
    norm_i = d_i 2^16 / sqrt(V) comes from one requant with the integer 1/sqrt's multiplier;
    then gamma and beta as a fine sum: gain requant plus offset constant.
    """
    x = np.asarray(x, np.int64)
    n = x.shape[1]
    s = x.sum(axis=1, keepdims=True)
    d = n * x - s
    var = n * (x * x).sum(axis=1, keepdims=True) - s * s + ln.eps
    mult, shift = rsqrt_multiplier(var)
    norm = requant(d, mult, shift)
    total = requant(norm, ln.gain_mult, ln.gain_shift) + ln.offset
    return finish(total, ln.output_offset, ln.act_min, ln.act_max)


def lookup(table, x):
    """int8 -> int8 through a 256-entry table indexed by x + 128."""
    return np.asarray(table, np.int64)[np.asarray(x, np.int64) + 128]


def coupling(cell, h):
    """The coupling term in fine units of the tanh input's scale."""
    if cell.coupling == "full":
        acc = h @ cell.W.T.astype(np.int64) + cell.W_bias          # sum_j W_kj (h_j - zp_h)
        return requant(acc, cell.W_mult, cell.W_shift)
    p = fully_connected(cell.V, h)                                   # V^T h, int8, rank wide
    acc = p @ cell.U.T.astype(np.int64) + cell.U_bias               # sum_j U_kj (p_j - zp_p)
    return (requant(acc, cell.U_mult, cell.U_shift)
            + requant(h - cell.state_offset, cell.diag_mult, cell.diag_shift))


def liquid_step(cell, h, u_sum):
    """One Euler step h <- (1 - dt alpha) h + dt beta tanh(C(h) + w_u u), h int8 in its own scale.

    pre = coupling + drive + bias as one fine sum rounded to int8; t = tanh table (1/128);
    the update is a fine sum of the kept state and the tanh gain, rounded into h's scale.
    """
    total = coupling(cell, h) + requant(u_sum, cell.drive_mult, cell.drive_shift) + cell.bias
    pre = finish(total, cell.pre_offset, *INT8)
    t = lookup(cell.tanh, pre)
    total = (requant(h - cell.state_offset, cell.keep_mult, cell.keep_shift)
             + requant(t, cell.gain_mult, cell.gain_shift))
    return finish(total, cell.state_offset, *INT8)


def residual(res, h, h0, state_offset):
    """h + r h0 into the residual's own int8 scale, one fine sum."""
    total = (requant(h - state_offset, res.h_mult, res.h_shift)
             + requant(h0 - state_offset, res.h0_mult, res.h0_shift))
    return finish(total, res.output_offset, *INT8)


def latent(table, z, state):
    """h0, the cell's starting state: tanh by lookup, kept for the residual."""
    state["h0"] = lookup(table, z)
    return state["h0"]


def cell_steps(cell, h, state):
    for _ in range(cell.steps):
        h = liquid_step(cell, h, state["u_sum"])
    return h


# Each op of dlnet/layers.py's sequence on its integer section: (section, input, state) -> output.
# The last layer is the output, output_soh: it adds the anchor, or the parabola's trend.
OPS = {
    "linear": lambda fc, z, state: fully_connected(fc, z),
    "layer_norm": lambda ln, z, state: layer_norm(ln, z),
    "tanh": latent,
    "liquid": cell_steps,
    "residual": lambda res, h, state: residual(res, h, state["h0"], state["state_offset"]),
}


def run(qm, x, s=None):
    """Q7.24 SOH windows (n, input_len), and raw int32 signals (n, k) if the model takes any
    -> Q1.14 SOH forecasts (n, output_len), int16."""
    if qm.network != "liquid":
        return run_without_liquid(qm, x, s)
    z, d, a, u_sum = scaled_inputs(qm, x, s)
    state = {"u_sum": u_sum, "state_offset": qm.cell.state_offset}
    for layer in SEQUENCE[:-1]:
        z = OPS[layer.op](qm.layers[layer.name], z, state)
    out = qm.layers[SEQUENCE[-1].name]
    if qm.trend is None:
        return output_soh(out, z, a).astype(np.int16)
    # the forecast anchor is the parabola, the output layer adds the model's correction to it
    c = trend_coefficients(qm.trend, x, a)
    return add_trend(c, a, output_soh(out, z, 0)).astype(np.int16)


def run_without_liquid(qm, x, s=None):
    """The linear network (one int16 -> Q1.14 layer, saturated) or none (zeros), plus the
    anchor and trend: add_trend with zero coefficients when there is no trend."""
    z, d, a, _ = scaled_inputs(qm, x, s)
    if qm.network == "linear":
        y = fully_connected(qm.linear, z)
    else:
        y = np.zeros((len(d), qm.output_len), np.int64)
    c = (trend_coefficients(qm.trend, x, a) if qm.trend is not None
         else np.zeros((len(d), 3), np.int64))
    return add_trend(c, a, y).astype(np.int16)


def predict(qm, inputs, batch=4096):
    """Raw inputs (float: the signals, then the SOH window; dlnet/signals.py) -> SOH forecasts
    (float) through the integer model."""
    s, soh = signals.split(inputs, qm.input_len, qm.dims["signals"])
    q = soh_to_q_in(soh)
    if not len(q):
        return np.zeros((0, qm.dims["output_len"]))
    return np.concatenate([q_to_soh(run(qm, q[i:i + batch], s[i:i + batch] if qm.signals else None))
                           for i in range(0, len(q), batch)])
