"""Each integer op of the reference against the same op in float, within its stated bound.

The float op uses the dequantized int8 weights and the dequantized integer input, so what is
measured is the op's own integer arithmetic: its roundings (half an output step each, plus
2^-(FINE_BITS+1) steps per fine-sum term) and its saturation. Weight rounding itself is bounded
in test_quant_fixedpoint. Inputs are the integers the model really passes between ops.
"""

import numpy as np
import pytest

from dlnet.quant import calibrate as cal
from dlnet.quant import floatref, qmodel
from dlnet.quant import reference as ref
from dlnet.quant.fixedpoint import (FINE_BITS, SOH_FRAC_BITS, SOH_IN_FRAC_BITS, quantize_multiplier,
                                    soh_to_q_in)
from dlnet.quant.random_models import random_model, soh_windows

FINE = 2.0 ** -FINE_BITS     # one fine unit, in output steps
REL = 1e-6                   # multiplier rounding (2^-31) and float noise, relative


@pytest.fixture(scope="module", params=["full", "lowrank"])
def case(request):
    rng = np.random.default_rng({"full": 11, "lowrank": 12}[request.param])
    model, scaler = random_model(rng, request.param)
    x = soh_windows(rng, 400, model.cfg.input_len)
    qm = qmodel.quantize(model, scaler, x[:200])
    return model, scaler, qm, soh_to_q_in(x[200:])


def scale(qm, name):
    return qm.scales["scale"][name], qm.scales["zero_point"].get(name, 0)


def deq(qm, name, q):
    s, zp = scale(qm, name)
    return s * (np.asarray(q, float) - zp)


def weights(model, qm, name, w=None):
    """Dequantized int8 weights of `name` (and a check that they are the quantizer's)."""
    p = floatref.params(model)
    w = p[f"{name}.weight"] if w is None else w
    q, s = cal.quantize_weights(w, qm.scales["weights"] == "per_channel")
    return q * s[:, None], s


def pipeline(qm, x):
    """The integers each op receives, from reference.run's own sequence."""
    t = {}
    t["d"], t["a"], t["u_sum"] = ref.scale_input(qm.anchor, x)
    t["enc_in"] = ref.fully_connected(qm.layers["enc_in"], t["d"])
    t["enc_norm"] = ref.layer_norm(qm.layers["enc_norm"], t["enc_in"])
    t["enc_out"] = ref.fully_connected(qm.layers["enc_out"], t["enc_norm"])
    t["lat_norm"] = ref.layer_norm(qm.layers["lat_norm"], t["enc_out"])
    t["h0"] = ref.lookup(qm.layers["lat_tanh"], t["lat_norm"])
    t["h1"] = ref.liquid_step(qm.cell, t["h0"], t["u_sum"])
    t["res"] = ref.residual(qm.layers["residual"], t["h1"], t["h0"], qm.cell.state_offset)
    t["dec_in"] = ref.fully_connected(qm.layers["dec_in"], t["res"])
    t["dec_norm"] = ref.layer_norm(qm.layers["dec_norm"], t["dec_in"])
    t["dec_inner"] = ref.fully_connected(qm.layers["dec_inner"], t["dec_norm"])
    return t


def inside(qm, name, real):
    """Where a real value lies inside the int8 range of `name` (outside, saturation rules)."""
    s, zp = scale(qm, name)
    return (real >= s * (-128 - zp)) & (real <= s * (127 - zp))


def test_input_scaling_is_the_scaler_to_one_and_a_half_q14_steps(case):
    """d s_d = (x - a) / span with x rounded to Q1.14 (half a step) and a, the mean of those,
    rounded to Q1.14 (a step at most): |error| <= 3 2^-15 / span."""
    model, scaler, qm, x = case
    t = pipeline(qm, x)
    soh = x / 2.0 ** SOH_IN_FRAC_BITS
    s_d = qm.scales["scale"]["d"]
    bound = 3 * 2.0 ** -(SOH_FRAC_BITS + 1) / scaler.span * (1 + REL)
    assert np.abs(t["d"] * s_d - scaler.transform(soh)).max() <= bound
    u = t["u_sum"][:, 0] * s_d / x.shape[1]
    assert np.abs(u - scaler.transform(soh).mean(axis=1)).max() <= bound
    if scaler.kind == "anchored":
        exact = soh[:, -scaler.anchor_len:].mean(axis=1) * 2.0 ** SOH_FRAC_BITS
        assert np.abs(t["a"][:, 0] - exact).max() <= 1.0 + 1e-6


@pytest.mark.parametrize("name,src,relu", [("enc_in", "d", False), ("enc_out", "enc_norm", False),
                                           ("dec_in", "res", False), ("dec_inner", "dec_norm", True)])
def test_linear_within_half_a_step_plus_bias_rounding(case, name, src, relu):
    model, scaler, qm, x = case
    t = pipeline(qm, x)
    w, sw = weights(model, qm, name)
    s_in = qm.scales["scale"][src]
    x_real = t[src] * s_in if src == "d" else deq(qm, src, t[src])
    want = x_real @ w.T + floatref.params(model)[f"{name}.bias"]
    want = np.maximum(want, 0) if relu else want
    s_out, zp = scale(qm, name)
    got = s_out * (t[name] - zp)
    bound = 0.5 * s_out + 0.5 * s_in * sw + REL * np.abs(want)
    ok = inside(qm, name, want) if name == "dec_inner" else np.abs(want) < 32767 * s_out
    assert ok.mean() > 0.99
    assert (np.abs(got - want)[ok] <= np.broadcast_to(bound, want.shape)[ok]).all()


@pytest.mark.parametrize("name,src,relu", [("enc_norm", "enc_in", True),
                                           ("lat_norm", "enc_out", False),
                                           ("dec_norm", "dec_in", True)])
def test_layer_norm_within_half_a_step(case, name, src, relu):
    """Bound: 0.5 step (final rounding) + 2^-17 |gamma| (normalized value in Q16) + 2 fine units
    (gain and offset terms) + the integer 1/sqrt's 4e-9 relative error."""
    model, scaler, qm, x = case
    t = pipeline(qm, x)
    p = floatref.params(model)
    want = floatref.layer_norm(p, name, t[src] * qm.scales["scale"][src])
    want = np.maximum(want, 0) if relu else want
    s_out, _ = scale(qm, name)
    got = deq(qm, name, t[name])
    gamma = np.abs(p[f"{name}.weight"])
    bound = 0.5 * s_out + 2.0 ** -17 * gamma + 2 * FINE * s_out + 1e-8 * np.abs(want)
    ok = inside(qm, name, want)
    assert ok.mean() > 0.95
    assert (np.abs(got - want)[ok] <= np.broadcast_to(bound, want.shape)[ok]).all()


def test_tanh_tables_within_half_a_step(case):
    """Both tables over all 256 inputs: |table - tanh| <= half an output step, or saturated."""
    _, _, qm, _ = case
    q = np.arange(-128, 128)
    want = np.tanh(deq(qm, "lat_norm", q))
    got = deq(qm, "h", ref.lookup(qm.layers["lat_tanh"], q))
    ok = inside(qm, "h", want)
    assert (np.abs(got - want)[ok] <= 0.5 * scale(qm, "h")[0] + 1e-12).all()
    assert (got[~ok] == np.where(want[~ok] > 0, got.max(), got.min())).all()
    want = np.tanh(deq(qm, "pre", q))
    got = ref.lookup(qm.cell.tanh, q) / 128.0
    ok = want <= 127 / 128
    assert (np.abs(got - want)[ok] <= 0.5 / 128 + 1e-12).all() and (got[~ok] == 127 / 128).all()


def test_euler_step_within_its_rounding_bound(case):
    """h' = (1 - dt a) h + dt b tanh(C(h) + w_u u) with dequantized weights.

    pre is off by at most 0.5 step + 4 fine units (+ for lowrank the int8 rounding of V^T h,
    0.5 s_p, through |U|); tanh is 1-Lipschitz and its table adds 1/256; the update adds 0.5 step
    + 2 fine units of h. Bound: 0.5 s_h + 2 F s_h + |dt b| (1/256 + pre bound)."""
    model, scaler, qm, x = case
    t = pipeline(qm, x)
    p, cell = floatref.params(model), qm.cell
    h = deq(qm, "h", t["h0"])
    s_pre = scale(qm, "pre")[0]
    pre_bound = (0.5 + 4 * FINE) * s_pre
    unsaturated = np.ones((len(h), 1), bool)
    if cell.coupling == "full":
        w, _ = weights(model, qm, "cell.W")
        pre = h @ w.T + p["cell.W.bias"]
    else:
        v, _ = weights(model, qm, None, p["cell.V"].T)
        u, _ = weights(model, qm, None, p["cell.U"])
        low = h @ v.T
        pre = p["cell.d"] * h + low @ u.T + p["cell.b"]
        pre_bound = pre_bound + 0.5 * scale(qm, "low")[0] * np.abs(u).sum(axis=1)
        unsaturated = inside(qm, "low", low).all(axis=1, keepdims=True)
    pre = pre + p["cell.w_u"] * (t["u_sum"] * qm.scales["scale"]["d"] / x.shape[1])
    want = floatref.euler_step(p, h, pre)
    got = deq(qm, "h", t["h1"])
    s_h = scale(qm, "h")[0]
    gain = np.abs(p["dt"] * p["cell.beta"])
    bound = (0.5 + 2 * FINE) * s_h + gain * (1 / 256 + pre_bound) + REL
    ok = inside(qm, "pre", pre) & inside(qm, "h", want) & unsaturated
    assert ok.mean() > 0.9
    assert (np.abs(got - want)[ok] <= np.broadcast_to(bound, want.shape)[ok]).all()


def test_residual_within_half_a_step(case):
    model, _, qm, x = case
    t = pipeline(qm, x)
    r = floatref.params(model)["r"][0]
    want = deq(qm, "h", t["h1"]) + r * deq(qm, "h", t["h0"])
    s = scale(qm, "res")[0]
    ok = inside(qm, "res", want)
    assert (np.abs(deq(qm, "res", t["res"]) - want)[ok] <= (0.5 + 2 * FINE) * s + REL).all()


def test_output_requantization_to_q14_within_half_a_step(case):
    """soh = a + span (W z + b) straight from the int32 accumulator: 0.5 Q1.14 step + bias
    rounding (0.5 s_in s_w span)."""
    model, scaler, qm, x = case
    t = pipeline(qm, x)
    w, sw = weights(model, qm, "dec_out")
    s_in = scale(qm, "dec_inner")[0]
    y = deq(qm, "dec_inner", t["dec_inner"]) @ w.T + floatref.params(model)["dec_out.bias"]
    want = t["a"] / 2.0 ** SOH_FRAC_BITS + scaler.span * y
    got = ref.output_soh(qm.layers["dec_out"], t["dec_inner"], t["a"]) / 2.0 ** SOH_FRAC_BITS
    bound = 2.0 ** -(SOH_FRAC_BITS + 1) + 0.5 * s_in * sw * scaler.span + REL * np.abs(want)
    ok = np.abs(want) < 1.99
    assert (np.abs(got - want)[ok] <= np.broadcast_to(bound, want.shape)[ok]).all()


def test_trend_is_the_quadratic_baseline_within_one_output_step():
    """The quadratic scaling's forecast anchor, in integers, against the float parabola."""
    from dlnet.baselines import polynomial_forecast
    from dlnet.quant.fixedpoint import q_in_to_soh, q_to_soh
    from dlnet.quant.qmodel import Anchor, polynomial_trend
    from dlnet.quant.reference import add_trend, scale_input, trend_coefficients

    rng = np.random.default_rng(5)
    t = np.arange(100)
    x = (1.0 - rng.uniform(0, 3e-4, (200, 1)) * t - rng.uniform(0, 8e-6, (200, 1)) * t ** 2
         + 0.003 * rng.standard_normal((200, 100)))
    q = soh_to_q_in(x)
    for length in (20, 37, 100):
        trend = polynomial_trend(length)
        _, a, _ = scale_input(Anchor("mean", 10, 0, *quantize_multiplier(0.1)), q)
        c = trend_coefficients(trend, q, a)
        assert np.abs(c).max() < 2 ** 31 - 1        # no coefficient saturates on such data
        b = add_trend(c, a, np.zeros((200, 100), np.int64))
        exact = polynomial_forecast(q_in_to_soh(q), length, 2, 100)
        inside = np.abs(exact) < 1.99            # short noisy fits run off to Q1.14's +-2
        # one rounding to Q1.14 (half a step) plus the coefficients' own grids (a few 1e-3 step)
        assert np.abs(q_to_soh(b) - exact)[inside].max() <= 0.51 * 2.0 ** -14
        assert np.all(np.abs(b[~inside]) >= 32600)
