"""The integer model: every int8 weight and integer parameter of one deployable forecaster.

A QuantModel is the Scaler's anchor, a network, and (quadratic scaling, polynomial baselines)
a trend. The network is one of NETWORKS:
  liquid  a LiquidNet: `quantize(model, scaler, x_calibration, ...)`
  linear  one fully connected layer from the scaled input to the output, ridge regression:
          `quantize_linear(weight, bias, scaler)`
  none    no network: the forecast is the anchor plus the trend, a polynomial baseline:
          `quantize_polynomial(input_len, output_len, fit_len, degree)`
The blob module serializes it for the C core, the reference module runs it. Activation scales
(`scales`) are kept for the record; the integer arithmetic never needs them.

Where each real factor goes (s_* are scales, real = s * (q - zero_point)):
  input   d = sat16(x14 - a): x14 the Q7.24 input rounded to Q1.14, a in Q1.14, so d has scale
          2^-14 / span (the trend reads the Q7.24 input itself): the Scaler's 1/span is
          folded into the first Linear's multiplier and costs nothing at run time.
  signals each raw int32 signal v (dlnet/signals.py) is scaled by the Scaler as (v - o) / scale;
          the core stores it after d as sat16(requant(v - o, M, s)) with M 2^(s-31) =
          1 / (scale s_d): in d's own scale, so the first Linear reads one int16 vector of
          input_len + k values with one input scale.
  Linear  acc = bias + sum_j w_ij x_j  (int32); out = clamp(zp_out + requant(acc, M_i, s_i))
          with M_i 2^(s_i-31) = s_in s_w,i / s_out; ReLU is the clamp at zp_out. The input's
          zero point is folded into the bias here, offline: sum_j w_ij (x_j - zp_in) + b_i
          = sum_j w_ij x_j + (b_i - zp_in sum_j w_ij), an exact integer identity, so the
          core's inner loop is a bare multiply-accumulate (CMSIS-NN does the same).
  LayerNorm  see reference.layer_norm; gain and offset become a fine multiplier and constant.
  tanh    a 256-entry table from the input's int8 to the output's int8.
  cell    pre_k = [coupling_k + w_u,k u + b_k] as a fine sum, then the tanh table (scale 1/128),
          then h_k <- (1 - dt alpha_k) h_k + dt beta_k t_k as a fine sum in h's own scale.
  output  soh = b + span * y: requant of the last accumulator straight to Q1.14, plus the forecast
          anchor b: a itself, or (quadratic scaling) the Trend's parabola.
"""

from dataclasses import dataclass, field

import numpy as np

from dlnet.layers import S8, S16, SOH, SEQUENCE, feeds_norm, input_type, output_type
from dlnet.quant import calibrate as cal
from dlnet.quant import floatref
from dlnet.quant.fixedpoint import (FINE_BITS, INPUT_SHIFT, INT8, INT16, INT32, NORM_BITS,
                                    SOH_FRAC_BITS, TREND_FRAC_BITS, TREND_WEIGHT_BITS, fine,
                                    fine_vec, quantize_multiplier, quantize_multipliers, soh_to_q)

NETWORKS = ("liquid", "linear", "none")
COUPLINGS = ("full", "lowrank")
ANCHORS = ("constant", "mean")
MAX_DIM = 1024          # any vector; keeps every int32 accumulator bound checkable
MAX_NORM_DIM = 512      # LayerNorm width: n * (2 n 2^15)^2 must stay below 2^62
MAX_STEPS = 64
MAX_SIGNALS = 8         # DLNET_MAX_SIGNALS: signals beside the SOH window


@dataclass
class FC:
    """Fully connected layer: int8 weights (out, in), int32 bias, per-row requantization."""
    weight: np.ndarray
    # b_i / (s_in s_w,i) - zp_in sum_j w_ij: the input's zero point folded in (fold_zero_point)
    bias: np.ndarray
    mult: np.ndarray
    shift: np.ndarray
    output_offset: int         # zero_point of the output
    act_min: int
    act_max: int


@dataclass
class LayerNorm:
    eps: int                   # eps * n^2 / s_in^2, in the units of the integer variance
    gain_mult: np.ndarray      # gamma / s_out * 2^(FINE_BITS - NORM_BITS), per channel
    gain_shift: np.ndarray
    offset: np.ndarray         # beta / s_out * 2^FINE_BITS, per channel
    output_offset: int
    act_min: int
    act_max: int


@dataclass
class Cell:
    coupling: str
    steps: int
    state_offset: int          # zero point of h
    pre_offset: int            # zero point of the tanh input
    bias: np.ndarray           # b_k / s_pre * 2^FINE_BITS
    drive_mult: np.ndarray     # w_u,k * s_d / input_len / s_pre, applied to sum_j d_j
    drive_shift: np.ndarray
    tanh: np.ndarray           # 256 entries: pre (int8) -> tanh (scale 1/128)
    keep_mult: np.ndarray      # 1 - dt alpha_k, applied to h - zp_h
    keep_shift: np.ndarray
    gain_mult: np.ndarray      # dt beta_k / 128 / s_h, applied to the tanh value
    gain_shift: np.ndarray
    # full: coupling_k = requant(W_bias_k + sum_j W_kj h_j, W_mult_k, W_shift_k), where
    # W_bias_k = -zp_h sum_j W_kj makes the sum that of W_kj (h_j - zp_h)
    W: np.ndarray = None
    W_bias: np.ndarray = None
    W_mult: np.ndarray = None
    W_shift: np.ndarray = None
    # lowrank: coupling_k = diag term + requant(U_bias_k + sum_j U_kj p_j, U_mult_k, U_shift_k),
    # p = V^T h as an int8 FC layer, U_bias_k = -zp_p sum_j U_kj
    V: FC = None
    diag_mult: np.ndarray = None
    diag_shift: np.ndarray = None
    U: np.ndarray = None
    U_bias: np.ndarray = None
    U_mult: np.ndarray = None
    U_shift: np.ndarray = None

    @property
    def rank(self):
        return 0 if self.coupling == "full" else len(self.V.weight)


@dataclass
class Residual:
    output_offset: int
    h_mult: int
    h_shift: int
    h0_mult: int
    h0_shift: int


@dataclass
class Anchor:
    kind: str                  # constant: a = constant; mean: a = requant(sum of last `length`)
    length: int
    constant: int
    mult: int
    shift: int


@dataclass
class Signals:
    """The raw signals' integers: q_j = sat16(requant(sat32(v_j - offset_j), mult_j, shift_j)),
    in the scale of d (reference.scale_signals)."""
    offset: np.ndarray
    mult: np.ndarray
    shift: np.ndarray

    def __len__(self):
        return len(self.offset)


@dataclass
class Trend:
    """The forecast anchor b(x) = a + P e, with P the least-squares polynomial (degree <= 2)
    through the last `length` values of e = x - a (the Q7.24 input, not the Q1.14 d)
    extrapolated (dlnet.scaling.trend_matrix). P has rank <= 3, so the core computes the
    polynomial's level, slope and curvature c_j (TREND_FRAC_BITS) from `weight` (3, length) with
    a rounding shift each, then c0 + c1 t + c2 t^2 for t = 1..horizon; a lower degree has zero
    rows."""
    weight: np.ndarray
    shift: np.ndarray

    @property
    def length(self):
        return self.weight.shape[1]


@dataclass
class QuantModel:
    network: str
    input_len: int
    output_len: int
    anchor: Anchor
    # liquid: each layer of dlnet/layers.py's SEQUENCE by name (an FC, LayerNorm, tanh table,
    # Cell or Residual, as its op says)
    layers: dict = None
    # linear
    linear: FC = None
    trend: Trend = None
    signals: Signals = None    # None: the SOH window alone
    scales: dict = field(default_factory=dict)

    @property
    def dims(self):
        """network, input_len, output_len, signals (k) and n_inputs (input_len + k), the liquid
        network's sizes (0 for the other networks), trend_len (0: no trend)."""
        k = len(self.signals) if self.signals is not None else 0
        d = {"network": self.network, "input_len": self.input_len, "output_len": self.output_len,
             "signals": k, "n_inputs": self.input_len + k,
             "enc_hidden": 0, "width": 0, "dec_hidden": 0, "dec_mid": 0, "rank": 0, "steps": 0,
             "trend_len": self.trend.length if self.trend is not None else 0}
        if self.network == "liquid":
            # every inner size is some Linear's input or output (check compares them all)
            for layer in SEQUENCE:
                if layer.op == "linear":
                    out, in_ = self.layers[layer.name].weight.shape
                    d.update({k: v for k, v in ((layer.n_out, out), (layer.n_in, in_))
                              if k not in ("n_inputs", "output_len")})
            d.update(rank=self.cell.rank, steps=self.cell.steps)
        return d

    @property
    def cell(self):
        """The liquid network's cell (its one layer of op liquid)."""
        return next(self.layers[layer.name] for layer in SEQUENCE if layer.op == "liquid")

    def describe(self):
        """One line: what the integers compute."""
        d = self.dims
        trend = (f" + polynomial trend through the last {d['trend_len']} inputs"
                 if d["trend_len"] else "")
        if self.network == "none":
            return f"input {d['input_len']} -> anchor{trend} -> output {d['output_len']}"
        inputs = f"input {d['input_len']}" + (f" + {d['signals']} signal{'s' * (d['signals'] > 1)}"
                                             if d["signals"] else "")
        if self.network == "linear":
            return f"{inputs} -> linear -> output {d['output_len']}{trend}"
        return (f"{inputs} -> encoder {d['enc_hidden']} -> latent {d['width']} "
                f"({self.cell.coupling} coupling{', rank %d' % d['rank'] if d['rank'] else ''}, "
                f"{d['steps']} Euler step{'s' if d['steps'] > 1 else ''}) -> decoder "
                f"{d['dec_hidden']} -> {d['dec_mid']} -> output {d['output_len']}{trend}")


# The ops that write the cell's region c (the starting state h0, the state h), not a or b.
STATE_OPS = ("tanh", "liquid")


def scratch_bytes(dims):
    """Peak activation bytes of the C core (dlnet_run.c): three regions, each rounded up to 4.

    a and b: the scaled int16 input (window and signals) sits in a; each layer's output goes to b when its input is
        in a, else to a (int16 for a Linear that feeds a LayerNorm, int8 otherwise); the last
        layer writes the caller's output
    c: the cell's h0, h, tanh input and (lowrank) the rank-sized projection V^T h, where the
        STATE_OPS write
    Without a liquid network its sizes are 0, and only the scaled input is left.
    """
    d = dims
    size, where = {"a": 2 * (d["input_len"] + d.get("signals", 0)), "b": 0}, "a"
    if d["network"] == "liquid":
        for i, layer in enumerate(SEQUENCE[:-1]):
            if layer.op in STATE_OPS:
                where = "c"
                continue
            where = "b" if where == "a" else "a"
            size[where] = max(size[where], (2 if output_type(i) == S16 else 1)
                              * d[layer.n_out])
    c = 3 * d["width"] + d["rank"]
    return sum((n + 3) // 4 * 4 for n in (size["a"], size["b"], c))


# Each op's int8 weight matrices.
WEIGHTS = {
    "linear": lambda fc: [fc.weight],
    "layer_norm": lambda ln: [],
    "tanh": lambda table: [],
    "liquid": lambda cell: [cell.W] if cell.coupling == "full" else [cell.V.weight, cell.U],
    "residual": lambda res: [],
}


def weight_bytes(qm):
    if qm.network == "none":
        return 0
    if qm.network == "linear":
        return int(qm.linear.weight.size)
    return int(sum(m.size for layer in SEQUENCE
                   for m in WEIGHTS[layer.op](qm.layers[layer.name])))


def fold_zero_point(weight, bias, zero_point):
    """The accumulator's constant when the input's zero point is folded into it:
    sum_j w_ij (x_j - zp) + b_i = sum_j w_ij x_j + (b_i - zp sum_j w_ij), exactly."""
    w = np.asarray(weight, np.int64)
    return np.asarray(bias, np.int64) - int(zero_point) * w.sum(axis=1)


def quantize(model, scaler, x_calibration, weights="per_channel", calibration="minmax",
             percentile=99.99, headroom=1.25):
    """A QuantModel of `model` (a LiquidNet) for raw inputs (dlnet/signals.py: the signals, then
    the SOH window), calibrated on `x_calibration`; every int8 activation range is widened by
    `headroom` (see calibrate)."""
    if weights not in ("per_channel", "per_tensor"):
        raise ValueError(f"unknown weight quantization '{weights}'; use per_channel or per_tensor")
    if not headroom >= 1.0:
        raise ValueError(f"headroom {headroom} must be at least 1")
    per_channel = weights == "per_channel"
    p = floatref.params(model)
    xs = scaler.transform(x_calibration)
    _, t = floatref.forward(p, xs)
    last = len(SEQUENCE) - 1
    # int16: the outputs that feed a LayerNorm; int8: the other recorded outputs, and the cell's
    # states and pre-activations (and its low-rank projection)
    int16, int8 = [], []
    for i, layer in enumerate(SEQUENCE):
        if feeds_norm(i):
            int16.append(layer.trace)
        elif layer.op == "liquid":
            int8 += ["h", "pre"]
        elif layer.trace:
            int8.append(layer.trace)
    int8 += ["low"] if model.cfg.coupling == "lowrank" else []
    rng = {k: tuple(headroom * v for v in cal.value_range(t[k], calibration, percentile))
           for k in int8}
    # d = x - a in Q1.14 is exact, so its scale is fixed: 1/span folds into enc_in's multiplier.
    s = {"d": 2.0 ** -SOH_FRAC_BITS / scaler.span, "tanh": 1.0 / 128.0}
    s.update({k: cal.int16_scale(t[k]) for k in int16})
    zp = {}
    for k, (lo, hi) in rng.items():
        s[k], zp[k] = cal.int8_params(lo, hi)

    def fc(name, s_in, zp_in, s_out, zp_out=0, out=INT8, relu=False, out_factor=None):
        wq, sw = cal.quantize_weights(p[f"{name}.weight"], per_channel)
        bias = cal.round_int(p[f"{name}.bias"] / (s_in * sw))      # in the accumulator's scale
        factor = s_in * sw / s_out if out_factor is None else s_in * sw * out_factor
        mult, shift = quantize_multipliers(factor)
        lo = max(out[0], zp_out) if relu else out[0]               # ReLU: clamp at real 0
        return FC(wq, fold_zero_point(wq, bias, zp_in), mult, shift, zp_out, lo, out[1])

    def norm(name, s_in, s_out, zp_out, relu):
        n = len(p[f"{name}.weight"])
        # eps in the units of reference.layer_norm's integer variance V = sum d^2 / n
        eps = max(1, int(cal.round_int(p["ln_eps"][name] * n * n / s_in ** 2)))
        mult, shift = fine_vec(p[f"{name}.weight"] / s_out * 2.0 ** -NORM_BITS)
        offset = cal.round_int(p[f"{name}.bias"] / s_out * (1 << FINE_BITS))
        return LayerNorm(eps, mult, shift, offset, zp_out, max(-128, zp_out) if relu else -128, 127)

    def linear(i, layer, s_in, zp_in):
        if i == last:
            # the output multiplier carries span and 2^14: the accumulator lands in Q1.14 SOH
            return fc(layer.name, s_in, zp_in, None, out=INT16,
                      out_factor=scaler.span * 2.0 ** SOH_FRAC_BITS), (None, None)
        k = layer.trace
        if feeds_norm(i):
            return fc(layer.name, s_in, zp_in, s[k], out=INT16), (s[k], 0)
        return fc(layer.name, s_in, zp_in, s[k], zp[k], relu=layer.relu), (s[k], zp[k])

    def layer_norm(i, layer, s_in, zp_in):
        k = layer.trace
        return norm(layer.name, s_in, s[k], zp[k], relu=layer.relu), (s[k], zp[k])

    def latent(i, layer, s_in, zp_in):
        # tanh straight into the liquid state's scale: h0 needs no requantization of its own
        return tanh_table(s_in, zp_in, s["h"], zp["h"]), (s["h"], zp["h"])

    def liquid(i, layer, s_in, zp_in):
        return _cell(p, s, zp, per_channel, model.cfg.input_len), (s["h"], zp["h"])

    def residual(i, layer, s_in, zp_in):
        # h + r h0: both terms are in h's scale, r (a scalar) folds into the second multiplier
        k = layer.trace
        return (Residual(zp[k], *fine(s_in / s[k]), *fine(p["r"][0] * s_in / s[k])),
                (s[k], zp[k]))

    ops = {"linear": linear, "layer_norm": layer_norm, "tanh": latent, "liquid": liquid,
           "residual": residual}
    anchor, trend = scaler_integers(scaler)
    sections, s_in, zp_in = {}, s["d"], 0
    for i, layer in enumerate(SEQUENCE):
        sections[layer.name], (s_in, zp_in) = ops[layer.op](i, layer, s_in, zp_in)
    qm = QuantModel("liquid", model.cfg.input_len, model.cfg.output_len, anchor, layers=sections,
                    trend=trend, signals=signal_integers(scaler, s["d"]),
                    scales={"scale": s, "zero_point": zp, "weights": weights,
                            "calibration": calibration, "headroom": headroom,
                            "percentile": percentile if calibration == "percentile" else None})
    check(qm)
    return qm


def scaler_integers(scaler):
    """(Anchor, Trend or None) of a Scaler: minmax's constant offset, or the mean of the last
    anchor_len inputs; the quadratic scaling's parabola through the last trend_len."""
    if scaler.kind == "minmax":
        return Anchor("constant", 0, int(soh_to_q(scaler.offset)), 0, 0), None
    anchor = mean_anchor(scaler.anchor_len)
    return anchor, (polynomial_trend(scaler.trend_len) if scaler.kind == "quadratic" else None)


def signal_integers(scaler, s_d):
    """Signals of the Scaler's signal scalings (None without signals): the integer offset o, and
    1 / (scale s_d) as a multiplier, so that the scaled signal lands in d's scale s_d."""
    if not scaler.signals:
        return None
    pairs = [quantize_multiplier(1.0 / (g["scale"] * s_d)) for g in scaler.signals]
    return Signals(np.array([g["offset"] for g in scaler.signals], np.int64),
                   np.array([m for m, _ in pairs], np.int64),
                   np.array([sh for _, sh in pairs], np.int64))


def mean_anchor(length):
    return Anchor("mean", length, 0, *quantize_multiplier(1.0 / length))


def polynomial_trend(length, degree=2):
    """Trend weights: c_j = sum_i G_ji e_i in 2^-TREND_FRAC_BITS[j] Q1.14 units, with G the
    least-squares polynomial's coefficients (level, slope, curvature at the last input) per
    input, e in Q7.24 (2^-INPUT_SHIFT Q1.14 units); rows above `degree` are zero. Each row gets
    as many extra bits as keep its largest weight below 2^(TREND_WEIGHT_BITS - 1); the shift
    removes them again with one rounding."""
    if not 0 <= degree <= 2 or length <= degree:
        raise ValueError(f"a degree-{degree} fit needs more than {degree} values, not {length}")
    t = np.arange(-length + 1, 1, dtype=np.float64)
    g = np.linalg.pinv(np.vander(t, degree + 1, increasing=True))         # (degree+1, length)
    weight, shift = np.zeros((3, length), np.int64), np.ones(3, np.int64)
    for j in range(degree + 1):
        row = g[j] * 2.0 ** (TREND_FRAC_BITS[j] - INPUT_SHIFT)
        shift[j] = TREND_WEIGHT_BITS - 2 - int(np.floor(np.log2(np.abs(row).max())))
        weight[j] = cal.round_int(row * 2.0 ** shift[j])
    return Trend(weight, shift)


def quantize_polynomial(input_len, output_len, fit_len, degree):
    """The polynomial baseline (dlnet.baselines) as a QuantModel without a network: the anchor is
    the mean of the fitted values, the trend the polynomial through them, so the forecast is
    a + P (x - a) = P x, the baseline itself, up to Q7.24 and Q1.14 rounding."""
    qm = QuantModel("none", input_len, output_len, mean_anchor(fit_len),
                    trend=polynomial_trend(fit_len, degree),
                    scales={"polynomial": {"fit_len": int(fit_len), "degree": int(degree)}})
    check(qm)
    return qm


def quantize_linear(weight, bias, scaler, weights="per_channel"):
    """A linear map from the scaled input to the scaled output (ridge regression: z_out =
    weight z_in + bias) as a QuantModel: one int8 layer from the int16 d = x - a (and the
    scaled signals after it) straight to Q1.14, as the liquid network's first and last layers
    do, then the scaler's trend."""
    weight, bias = np.asarray(weight, np.float64), np.asarray(bias, np.float64)
    if weights not in ("per_channel", "per_tensor"):
        raise ValueError(f"unknown weight quantization '{weights}'; use per_channel or per_tensor")
    anchor, trend = scaler_integers(scaler)
    s_in = 2.0 ** -SOH_FRAC_BITS / scaler.span
    _, sw = cal.quantize_weights(weight, weights == "per_channel")
    # a row whose weights are tiny beside its bias gets a coarser step, so that the bias, in
    # the accumulator's units b / (s_in s_w), stays within 2^30 (half of int32)
    sw = np.maximum(sw, np.abs(bias) / (s_in * 2.0 ** 30))
    if weights == "per_tensor":
        sw = np.full_like(sw, sw.max())
    wq = np.clip(cal.round_int(weight / sw[:, None]), -127, 127)
    mult, shift = quantize_multipliers(sw * scaler.span * 2.0 ** SOH_FRAC_BITS * s_in)
    layer = FC(wq, cal.round_int(bias / (s_in * sw)), mult, shift, 0, *INT16)
    qm = QuantModel("linear", weight.shape[1] - len(scaler.signals), weight.shape[0], anchor,
                    linear=layer, trend=trend, signals=signal_integers(scaler, s_in),
                    scales={"scale": {"d": s_in}, "zero_point": {}, "weights": weights})
    check(qm)
    return qm


def tanh_table(s_in, zp_in, s_out, zp_out):
    """table[q + 128] = the int8 (s_out, zp_out) nearest to tanh(s_in (q - zp_in)), saturated."""
    q = np.arange(-128, 128)
    return np.clip(cal.round_int(np.tanh(s_in * (q - zp_in)) / s_out) + zp_out, *INT8)


def _cell(p, s, zp, per_channel, input_len):
    """The liquid cell's integers. One scale s_h serves h0 and every step's h, so the Euler step
    maps int8 h to int8 h with no rescale in between and the teacher's steps share parameters."""
    coupling, dt = p["coupling"], p["dt"]
    s_h, s_pre = s["h"], s["pre"]
    c = {}
    if coupling == "full":
        wq, sw = cal.quantize_weights(p["cell.W.weight"], per_channel)
        c.update(W=wq, W_bias=fold_zero_point(wq, np.zeros(len(wq)), zp["h"]),
                 bias_real=p["cell.W.bias"])
        c["W_mult"], c["W_shift"] = fine_vec(s_h * sw / s_pre)
    else:
        # d h + U (V^T h): V^T h is an int8 layer of its own (rank values, calibrated), so U
        # multiplies int8 by int8 like any Linear; the diagonal is a per-unit multiplier of h.
        vq, sv = cal.quantize_weights(p["cell.V"].T, per_channel)             # (rank, W)
        vm, vs = quantize_multipliers(s_h * sv / s["low"])
        c["V"] = FC(vq, fold_zero_point(vq, np.zeros(len(vq)), zp["h"]), vm, vs, zp["low"], *INT8)
        uq, su = cal.quantize_weights(p["cell.U"], per_channel)                # (W, rank)
        c.update(U=uq, U_bias=fold_zero_point(uq, np.zeros(len(uq)), zp["low"]),
                 bias_real=p["cell.b"])
        c["U_mult"], c["U_shift"] = fine_vec(s["low"] * su / s_pre)
        c["diag_mult"], c["diag_shift"] = fine_vec(p["cell.d"] * s_h / s_pre)
    bias = cal.round_int(c.pop("bias_real") / s_pre * (1 << FINE_BITS))
    # w_u u with u = s_d sum(d) / input_len: one multiplier of the int32 sum, no division
    drive = fine_vec(p["cell.w_u"] * s["d"] / input_len / s_pre)
    table = tanh_table(s_pre, zp["pre"], s["tanh"], 0)
    # h <- (1 - dt alpha) h + dt beta tanh: dt, alpha, beta and the two scales fold into one
    # multiplier per unit and term
    keep = fine_vec(1.0 - dt * p["cell.alpha"])
    gain = fine_vec(dt * p["cell.beta"] * s["tanh"] / s_h)
    return Cell(coupling, p["steps"], zp["h"], zp["pre"], bias, *drive, table, *keep, *gain, **c)


def check(qm):
    """Raise ValueError unless every integer is in the range the C core accepts.

    These are the same checks as dlnet_model_init in firmware/core/dlnet_model.c; together they
    guarantee that no int32 accumulator and no int64 intermediate can overflow for any input,
    whatever the order in which the core adds a row's products.
    """
    d = qm.dims
    _need(qm.network in NETWORKS, f"network {qm.network}")
    for k in ("input_len", "output_len"):
        _need(1 <= d[k] <= MAX_DIM, f"{k} = {d[k]} is outside 1..{MAX_DIM}")
    _need(0 <= d["signals"] <= MAX_SIGNALS, f"{d['signals']} signals, more than {MAX_SIGNALS}")
    _need(qm.network != "none" or d["signals"] == 0, "a model without a network has no signals")
    if qm.signals is not None:
        sig = qm.signals
        _need(len(sig) >= 1 and len(sig.mult) == len(sig.shift) == len(sig),
              f"signals: {len(sig.offset)} offsets, {len(sig.mult)} multipliers, "
              f"{len(sig.shift)} shifts")
        _in(sig.offset, INT32, "signal offsets")
        _mults("signals", sig.mult, sig.shift)
    a = qm.anchor
    _need(a.kind in ANCHORS, f"anchor kind {a.kind}")
    if a.kind == "mean":
        _need(1 <= a.length <= d["input_len"], f"anchor length {a.length}")
    _in(a.constant, INT16, "anchor constant")
    _mult("anchor", a.mult, a.shift)
    if qm.trend is not None:
        tr = qm.trend
        _need(a.kind == "mean", "a trend needs the mean anchor")
        _need(1 <= tr.length <= d["input_len"], f"trend length {tr.length}")
        _need(np.all((1 <= tr.shift) & (tr.shift <= 62)), f"trend shifts {tr.shift}")
        _in(tr.weight, (1 - (1 << TREND_WEIGHT_BITS), (1 << TREND_WEIGHT_BITS) - 1),
            "trend weights")
    if qm.network == "linear":
        _need(qm.linear.weight.shape == (d["output_len"], d["n_inputs"]),
              f"linear weights {qm.linear.weight.shape} for {d['n_inputs']} -> {d['output_len']}")
        _fc("linear", qm.linear, INT16, INT16)
    if qm.network == "liquid":
        _check_liquid(qm, d)


def _check_liquid(qm, d):
    _need(sorted(qm.layers) == sorted(layer.name for layer in SEQUENCE),
          f"layers {sorted(qm.layers)}, not those of dlnet/layers.py")
    for k in ("enc_hidden", "width", "dec_hidden", "dec_mid"):
        _need(1 <= d[k] <= MAX_DIM, f"{k} = {d[k]} is outside 1..{MAX_DIM}")
    _need(1 <= d["steps"] <= MAX_STEPS, f"steps = {d['steps']} is outside 1..{MAX_STEPS}")
    for i, layer in enumerate(SEQUENCE):
        CHECKS[layer.op](layer, qm.layers[layer.name], BOUNDS[input_type(i)],
                         BOUNDS[output_type(i)], d)


def _check_linear(layer, fc, in_bounds, out_bounds, d):
    _need(fc.weight.shape == (d[layer.n_out], d[layer.n_in]),
          f"{layer.name} weights {fc.weight.shape} for {layer.n_in} {d[layer.n_in]} -> "
          f"{layer.n_out} {d[layer.n_out]}")
    _fc(layer.name, fc, in_bounds, out_bounds)


def _check_layer_norm(layer, ln, in_bounds, out_bounds, d):
    name = layer.name
    _need(len(ln.offset) == d[layer.n_out] <= MAX_NORM_DIM,
          f"{name}: {len(ln.offset)} wide, {layer.n_out} is {d[layer.n_out]} (at most "
          f"{MAX_NORM_DIM}, the LayerNorm limit)")
    _need(1 <= ln.eps < (1 << 61), f"{name}: eps {ln.eps} outside 1..2^61")
    _in(ln.offset, INT32, f"{name} offset")
    _mults(name, ln.gain_mult, ln.gain_shift)
    _act(name, ln.output_offset, ln.act_min, ln.act_max, out_bounds)


def _check_cell(layer, cell, in_bounds, out_bounds, d):
    _need(cell.coupling in COUPLINGS, f"coupling {cell.coupling}")
    _need(len(cell.bias) == d[layer.n_out],
          f"the cell is {len(cell.bias)} wide, not {d[layer.n_out]}")
    _in(cell.tanh, INT8, "cell tanh")
    _in(cell.state_offset, INT8, "state zero point")
    _in(cell.pre_offset, INT8, "pre zero point")
    _in(cell.bias, INT32, "cell bias")
    for name in ("drive", "keep", "gain") + (("W",) if cell.coupling == "full" else ("U", "diag")):
        _mults(f"cell {name}", getattr(cell, f"{name}_mult"), getattr(cell, f"{name}_shift"))
    if cell.coupling == "full":
        _in(cell.W, INT8, "cell W")
        _in(cell.W_bias, INT32, "cell W bias")
        _acc("cell W", cell.W, cell.W_bias, INT8)
    else:
        _fc("cell V", cell.V, INT8, INT8)
        _in(cell.U, INT8, "cell U")
        _in(cell.U_bias, INT32, "cell U bias")
        _acc("cell U", cell.U, cell.U_bias, INT8)


def _check_residual(layer, r, in_bounds, out_bounds, d):
    _in(r.output_offset, INT8, "residual zero point")
    _mult("residual h", r.h_mult, r.h_shift)
    _mult("residual h0", r.h0_mult, r.h0_shift)


# What a layer reads and writes, as integer bounds.
BOUNDS = {S8: INT8, S16: INT16, SOH: INT16}

# Each op's checks: (layer, section, input bounds, output bounds, dims).
CHECKS = {
    "linear": _check_linear,
    "layer_norm": _check_layer_norm,
    "tanh": lambda layer, table, in_bounds, out_bounds, d: _in(table, INT8, layer.name),
    "liquid": _check_cell,
    "residual": _check_residual,
}


def _need(ok, message):
    if not ok:
        raise ValueError(message)


def _in(v, bounds, what):
    v = np.asarray(v)
    _need(v.size == 0 or (v.min() >= bounds[0] and v.max() <= bounds[1]),
          f"{what} has values outside [{bounds[0]}, {bounds[1]}]")


def _mult(what, m, s):
    _need(m == 0 or (1 << 30) <= abs(m) < (1 << 31), f"{what}: multiplier {m} is not normalized")
    _need(-31 <= s <= 30, f"{what}: shift {s} outside -31..30")


def _mults(what, m, s):
    for mi, si in zip(np.ravel(m), np.ravel(s)):
        _mult(what, int(mi), int(si))


def _act(what, offset, lo, hi, bounds):
    _in([offset, lo, hi], bounds, f"{what} output range")
    _need(lo <= hi, f"{what}: act_min {lo} > act_max {hi}")


def _acc(what, w, bias, in_bounds):
    """|b_i| + sum_j |w_ij| max|x_j| must fit an int32 accumulator: then so does every partial
    sum, in whatever order the core adds the products (its DSP path adds two per SMLAD)."""
    x_peak = max(abs(in_bounds[0]), abs(in_bounds[1]))
    peak = np.abs(np.asarray(w, np.int64)).sum(axis=1) * x_peak + np.abs(np.asarray(bias, np.int64))
    _need(peak.max(initial=0) <= INT32[1],
          f"{what}: an accumulator can reach {peak.max()} > 2^31 - 1")


def _fc(what, fc, in_bounds, out_bounds):
    _in(fc.weight, INT8, f"{what} weights")
    _in(fc.bias, INT32, f"{what} bias")
    _mults(what, fc.mult, fc.shift)
    _act(what, fc.output_offset, fc.act_min, fc.act_max, out_bounds)
    _acc(what, fc.weight, fc.bias, in_bounds)
