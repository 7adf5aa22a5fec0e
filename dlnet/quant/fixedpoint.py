"""Integer primitives of the int8 core, in NumPy int64, exactly as firmware/core/dlnet_fixedpoint.h
and dlnet_fixedpoint.c.

Every rescale in the model is one call of `requant`, TFLite's MultiplyByQuantizedMultiplier in its
single-rounding form: a real factor f is stored as a 32-bit multiplier M and a shift s with
f = M * 2^(s - 31), and x * f is computed as

    requant(x, M, s) = sat32(floor((x * M + 2^(n - 1)) / 2^n)),   n = 31 - s,

one 64-bit product and one round-half-up shift. |x| < 2^31 and |M| < 2^31 keep the product under
2^62, so nothing can overflow for any input. Unlike TFLite, M may be negative: LayerNorm gains,
the Euler coefficients and the residual weight r are signed, and a signed M folds the sign in at
no cost. |M| lies in [2^30, 2^31) (or M = 0) and s in [-31, 30], so n in [1, 62].

Sums of several rescaled terms (the liquid pre-activation, the Euler update, the residual, the
LayerNorm gain and offset) bring each term to 2^-FINE_BITS of the output step with `requant`,
add them in 64 bits and round once more with `shift_round(., FINE_BITS)`: each term adds at most
2^-(FINE_BITS+1) of an output step of error, far below the final rounding.

The model's output is SOH in Q1.14 (int16, value = q / 2^14): range [-2, 2), step 6.1e-5. SOH
lies in 0..1.25, so one bit of headroom is left, and the step is 20x finer than the model's error,
where an int8 output step of the scaled target (~0.0014 SOH) would not be. Its input is SOH in
Q7.24 (int32, value = q / 2^24): the network reads it rounded to Q1.14, but the quadratic trend
reads all of it, because a parabola through a few values of a smooth series, extrapolated a
hundred cycles, multiplies an input's rounding by up to ~10^4 (benchmarks/trend_length.py).
"""

import math

import numpy as np

SOH_FRAC_BITS = 14
SOH_IN_FRAC_BITS = 24
INPUT_SHIFT = SOH_IN_FRAC_BITS - SOH_FRAC_BITS     # Q7.24 input -> Q1.14
FINE_BITS = 8            # extra fraction bits of the multi-term sums
NORM_BITS = 16           # fraction bits of a LayerNorm's normalized values (x - mean) / std
# fraction bits of the quadratic trend's level, slope and curvature, in Q1.14 units (per cycle,
# per cycle^2): a curvature of 1e-6 SOH/cycle^2 is still ~270 steps of its 2^-24 grid
TREND_FRAC_BITS = (8, 16, 24)
INT8 = (-128, 127)
INT16 = (-32768, 32767)
INT32 = (-(1 << 31), (1 << 31) - 1)
# the trend's input, x - a in Q7.24, saturated to the int16 d's range: |e| <= 2^25
TREND_INPUT = (INT16[0] << INPUT_SHIFT, ((INT16[1] + 1) << INPUT_SHIFT) - 1)
TREND_WEIGHT_BITS = 26   # |trend weight| < 2^26: with |e| <= 2^25 and length <= 1024, |sum| < 2^61


def quantize_multiplier(real):
    """(M, s) with real = M * 2^(s - 31), |M| in [2^30, 2^31); (0, 0) for |real| < 2^-32.

    A factor below 2^-32 moves any int32 by less than half a unit, so it is flushed to zero.
    ValueError when |real| >= 2^30: no rescale in a sane model is that large.
    """
    real = float(real)
    if not math.isfinite(real):
        raise ValueError(f"multiplier {real} is not finite")
    if abs(real) < 2.0 ** -32:
        return 0, 0
    mant, exp = math.frexp(abs(real))          # |real| = mant * 2^exp, mant in [0.5, 1)
    m = int(round(mant * (1 << 31)))
    if m == 1 << 31:                           # mant rounded up to 1.0
        m //= 2
        exp += 1
    if exp > 30:
        raise ValueError(f"multiplier {real} is too large for a 32-bit requantization")
    return (-m if real < 0 else m), exp


def quantize_multipliers(reals):
    """Per-channel version: int64 arrays (M, s)."""
    pairs = [quantize_multiplier(r) for r in np.ravel(reals)]
    return (np.array([p[0] for p in pairs], np.int64), np.array([p[1] for p in pairs], np.int64))


def shift_round(v, n):
    """floor(v / 2^n + 1/2) for int64 v, n >= 1 (scalar or array): round half up."""
    v = np.asarray(v, np.int64)
    n = np.asarray(n, np.int64)
    return (v + np.left_shift(np.int64(1), n - 1)) >> n


def saturate(v, bounds):
    return np.clip(np.asarray(v, np.int64), bounds[0], bounds[1])


def requant(x, mult, shift):
    """sat32(floor((x * M + 2^(30 - s)) / 2^(31 - s))), elementwise with broadcasting."""
    x = np.asarray(x, np.int64)
    prod = x * np.asarray(mult, np.int64)
    return saturate(shift_round(prod, 31 - np.asarray(shift, np.int64)), INT32)


def fine(real_factor):
    """(M, s) that rescale a term to 2^-FINE_BITS output steps: real_factor * 2^FINE_BITS."""
    return quantize_multiplier(real_factor * (1 << FINE_BITS))


def fine_vec(real_factors):
    return quantize_multipliers(np.asarray(real_factors, np.float64) * (1 << FINE_BITS))


def finish(total, offset, lo, hi):
    """A fine sum back to the output's integers: clamp(offset + shift_round(total, FINE_BITS))."""
    return np.clip(offset + shift_round(total, FINE_BITS), lo, hi)


# Integer 1/sqrt for LayerNorm. A variance V (int64, 1 <= V < 2^62) is normalized to a mantissa
# m in [2^60, 2^62) by an even left shift 2j, so V = m / 4^j; m's top 31 bits give mm in [0.25, 1)
# in Q31, and y = 1/sqrt(mm) in (1, 2] is found in Q29 by Newton's iteration
# y <- y (3 - mm y^2) / 2 from the chord y0 = 7/3 - 4/3 mm, which lies above the convex curve
# (at most 19% high), so the iteration converges monotonically: 4 steps bring it to ~2e-9,
# the Q29 resolution. Every operand is non-negative, so each >> is a plain floor.
RSQRT_ITERATIONS = 4
_Q29 = 1 << 29
_Y0_A = 1252698795       # round(7/3 * 2^29)
_Y0_B = 715827883        # round(4/3 * 2^29)


def rsqrt_multiplier(var):
    """(M, s) with requant(d, M, s) = d * 2^NORM_BITS / sqrt(var); var int64 array >= 1."""
    var = np.asarray(var, np.int64)
    m = var.copy()
    j = np.zeros_like(var)
    for _ in range(31):                       # at most 30 double-shifts are ever needed
        small = m < (1 << 60)
        m = np.where(small, m << 2, m)
        j = j + small
    mm = m >> 31                              # Q31 mantissa in [2^29, 2^31)
    y = _Y0_A - ((_Y0_B * mm) >> 31)          # Q29
    for _ in range(RSQRT_ITERATIONS):
        y2 = (y * y) >> 29
        e = (mm * y2) >> 31
        y = (y * (3 * _Q29 - e)) >> 30
    y = np.clip(y, _Q29, 2 * _Q29 - 1)
    # 1/sqrt(var) = y / 2^29 * 2^(j - 31); as M = 2y in Q31: shift = j - 30 + NORM_BITS.
    return 2 * y, j - 30 + NORM_BITS


def soh_to_q(soh):
    """SOH (float) to Q1.14 int16, the output's format: round half up, saturate."""
    q = np.floor(np.asarray(soh, np.float64) * (1 << SOH_FRAC_BITS) + 0.5)
    return saturate(q, INT16).astype(np.int16)


def soh_to_q_in(soh):
    """SOH (float) to the model's Q7.24 int32 input: round half up, saturate."""
    q = np.floor(np.asarray(soh, np.float64) * (1 << SOH_IN_FRAC_BITS) + 0.5)
    return saturate(q, INT32).astype(np.int32)


def q_to_soh(q):
    return np.asarray(q, np.float64) / (1 << SOH_FRAC_BITS)


def q_in_to_soh(q):
    return np.asarray(q, np.float64) / (1 << SOH_IN_FRAC_BITS)
