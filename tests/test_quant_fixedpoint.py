"""Integer primitives of the int8 core: exact semantics and stated error bounds."""

import numpy as np
import pytest

from dlnet.quant import calibrate as cal
from dlnet.quant.fixedpoint import (INT16, INT32, q_in_to_soh, q_to_soh, quantize_multiplier,
                                    requant, rsqrt_multiplier, shift_round, soh_to_q, soh_to_q_in)
from dlnet.quant.qmodel import fold_zero_point


def test_quantize_multiplier_is_normalized_and_within_2_pow_minus_31():
    rng = np.random.default_rng(0)
    reals = np.concatenate([2.0 ** rng.uniform(-31, 29.9, 2000), [0.5, 1.0, 2.0 ** -31, 1 - 1e-12]])
    for r in np.concatenate([reals, -reals]):
        m, s = quantize_multiplier(r)
        assert (1 << 30) <= abs(m) < (1 << 31) and -31 <= s <= 30
        assert abs(m * 2.0 ** (s - 31) - r) <= abs(r) * 2.0 ** -31


def test_quantize_multiplier_flushes_tiny_and_rejects_huge():
    assert quantize_multiplier(0.0) == (0, 0)
    assert quantize_multiplier(2.0 ** -33) == (0, 0)
    with pytest.raises(ValueError):
        quantize_multiplier(2.0 ** 31)
    with pytest.raises(ValueError):
        quantize_multiplier(float("nan"))


def test_shift_round_rounds_half_up():
    v = np.array([-7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 5, 6, 7])
    assert shift_round(v, 1).tolist() == [-3, -3, -2, -2, -1, -1, 0, 0, 1, 1, 2, 3, 3, 4]
    assert shift_round(np.int64(-(1 << 61)), 62).item() == 0


def test_requant_is_the_exact_rounded_product():
    """requant = sat32(floor(x M / 2^(31-s) + 1/2)), checked in Python's unbounded integers."""
    rng = np.random.default_rng(1)
    x = rng.integers(INT32[0], INT32[1], 3000, endpoint=True)
    m = rng.integers(1 << 30, 1 << 31, 3000) * rng.choice([-1, 1], 3000)
    s = rng.integers(-31, 31, 3000)
    got = requant(x, m, s)
    for xi, mi, si, g in zip(x.tolist(), m.tolist(), s.tolist(), got.tolist()):
        n = 31 - si
        want = (xi * mi + (1 << (n - 1))) >> n
        assert g == min(max(want, INT32[0]), INT32[1])


def test_requant_tracks_the_real_product_within_half_a_step():
    rng = np.random.default_rng(2)
    for r in 2.0 ** rng.uniform(-20, 10, 200) * rng.choice([-1, 1], 200):
        m, s = quantize_multiplier(r)
        x = rng.integers(-(1 << 20), 1 << 20, 50)
        err = np.abs(requant(x, m, s) - x * r)
        assert (err <= 0.5 + np.abs(x * r) * 2.0 ** -31 + 1e-9).all()


def test_integer_rsqrt_relative_error_below_4e_9():
    rng = np.random.default_rng(3)
    v = np.unique(np.concatenate([
        np.floor(2.0 ** rng.uniform(0, 61.9, 5000)).astype(np.int64),
        [1, 2, 3, 4, 5, (1 << 60) - 1, 1 << 60, (1 << 62) - 1],
        [1 << (2 * k) for k in range(31)]]))
    m, s = rsqrt_multiplier(v)
    assert ((m >= 1 << 30) & (m < 1 << 31) & (s >= -31) & (s <= 30)).all()
    approx = m * np.exp2(s.astype(float) - 31 - 16)
    assert np.abs(approx * np.sqrt(v.astype(float)) - 1).max() < 4e-9


def test_soh_q14_round_trip_and_saturation():
    soh = np.linspace(0.0, 1.25, 10001)
    assert np.abs(q_to_soh(soh_to_q(soh)) - soh).max() <= 2.0 ** -15
    assert soh_to_q([2.5, -2.5, 1.0]).tolist() == [32767, -32768, 16384]


def test_soh_q24_input_round_trip_ties_and_saturation():
    soh = np.linspace(0.0, 1.25, 10001)
    assert np.abs(q_in_to_soh(soh_to_q_in(soh)) - soh).max() <= 2.0 ** -25
    assert soh_to_q_in([200.0, -200.0, 1.0]).tolist() == [2 ** 31 - 1, -2 ** 31, 2 ** 24]
    tie = np.array([3, -3]) / 2.0 ** 25                  # halves up: 2 (1.5 up), -1 (-1.5 up)
    assert soh_to_q_in(tie).tolist() == [2, -1]


@pytest.mark.parametrize("per_channel", [True, False])
def test_weight_quantization_round_trip(per_channel):
    rng = np.random.default_rng(4)
    w = rng.normal(0, 1, (12, 30)) * rng.uniform(0.01, 3, (12, 1))
    q, scale = cal.quantize_weights(w, per_channel)
    assert q.min() >= -127 and q.max() <= 127
    assert (np.abs(q * scale[:, None] - w) <= scale[:, None] / 2 + 1e-12).all()
    peaks = np.abs(q).max(axis=1)
    assert (peaks == 127).all() if per_channel else peaks.max() == 127


def test_activation_quantization_round_trip_keeps_zero_exact():
    rng = np.random.default_rng(5)
    for lo, hi in [(-1.3, 2.1), (0.0, 4.0), (-3.0, -1.0), (0.5, 0.7)]:
        scale, zp = cal.int8_params(lo, hi)
        v = rng.uniform(min(lo, 0), max(hi, 0), 1000)
        q = np.clip(cal.round_int(v / scale) + zp, -128, 127)
        assert np.abs(scale * (q - zp) - v).max() <= scale / 2 + 1e-12
        assert -128 <= zp <= 127          # real 0 is the integer zp, exactly


def test_percentile_calibration_clips_outliers():
    v = np.concatenate([np.linspace(-1, 1, 100000), [50.0]])
    assert cal.value_range(v, "minmax") == (-1.0, 50.0)
    lo, hi = cal.value_range(v, "percentile", 99.9)
    assert -1 < lo < -0.99 and 0.99 < hi < 1


def test_folding_the_zero_point_into_the_bias_is_exact():
    """sum_j w_ij (x_j - zp) + b_i == sum_j w_ij x_j + fold_zero_point(w, b, zp)_i."""
    rng = np.random.default_rng(0)
    for _ in range(20):
        rows, cols = rng.integers(1, 40, 2)
        w = rng.integers(-127, 128, (rows, cols))
        b = rng.integers(-2 ** 20, 2 ** 20, rows)
        zp = int(rng.integers(-128, 128))
        x = rng.integers(-128, 128, (7, cols))
        assert np.array_equal((x - zp) @ w.T + b, x @ w.T + fold_zero_point(w, b, zp))


def test_layer_norm_variance_needs_no_division():
    """sum_i (n x_i - S)^2 is a multiple of n, and the quotient is n sum x^2 - S^2."""
    rng = np.random.default_rng(1)
    for n in (1, 2, 3, 16, 255, 512):
        x = np.concatenate([rng.integers(*INT16, (50, n), endpoint=True),
                            np.full((2, n), INT16[0]), np.full((2, n), INT16[1])])
        s = x.sum(axis=1)
        squares = ((n * x - s[:, None]) ** 2).sum(axis=1)
        assert (squares % n == 0).all()
        assert np.array_equal(squares // n, n * (x * x).sum(axis=1) - s * s)
