"""Random LiquidNets, linear networks, polynomial baselines, scalers, windows and signals, to check
the C core against the reference far from the trained models: every shape limit, both couplings,
every scaling, negative gains, saturation.

Weights come from PyTorch's initialization, then every parameter the initialization leaves at a
constant (LayerNorm gain and offset, alpha, beta, w_u, d, r) is drawn at random with either sign,
so each multiplier path, positive and negative, is exercised. Windows are random walks in the SOH
range (what calibration sees), plus hostile ones: uniform over all of int16 and constant rows,
which drive every saturation and the LayerNorm's zero-variance case.

Signals (dlnet/signals.py), when a model is asked for some: the Scaler standardizes each with a
random integer offset and a scale from 1 to 10^4 (so the core's multiplier of a signal ranges from
far below 1 to thousands: negative and positive shifts); `random_signals` draws the integers
themselves instead, any offset, multiplier sign and shift. Their raw values (`signal_values`) lie
around the offset, as far out as the int16 scaled input reaches and beyond, plus hostile ones:
uniform over int32 and its two ends, which drive both saturations of reference.scale_signals.
"""

from dataclasses import replace

import numpy as np
import torch

from dlnet.model import LiquidNet, NetConfig
from dlnet.quant import qmodel
from dlnet.quant.fixedpoint import INT32, soh_to_q_in
from dlnet.scaling import Scaler

INT32 = (-2 ** 31, 2 ** 31 - 1)


def random_model(rng, coupling=None, big=False, signals=0):
    """A random LiquidNet (eval mode) and a Scaler that fits its input length and its `signals`
    signals (random scalings)."""
    coupling = coupling or rng.choice(["full", "lowrank"])
    size = (lambda lo, hi: int(rng.integers(lo, hi + 1)))
    n_in = size(8, 100) if not big else 100
    width = size(1, 24) if not big else 128
    cfg = NetConfig(input_len=n_in, output_len=size(1, 100),
                    enc_hidden=size(1, 48) if not big else 256, width=width,
                    dec_hidden=size(1, 48) if not big else 256,
                    dec_mid=size(1, 32) if not big else 128, coupling=str(coupling),
                    rank=size(1, min(3, width)), steps=size(1, 9) if coupling == "full" else 1,
                    dt=float(rng.uniform(0.02, 0.2)), dropout=0.0, signals=int(signals))
    return randomized(LiquidNet(cfg), rng), random_scaler(rng, n_in, signals)


def random_scaler(rng, n_in, signals=0):
    size = (lambda lo, hi: int(rng.integers(lo, hi + 1)))
    kind = rng.choice(["minmax", "anchored", "quadratic"])
    if kind == "minmax":
        scaler = Scaler("minmax", span=rng.uniform(0.1, 0.5), offset=rng.uniform(0.5, 0.9))
    elif kind == "anchored":
        scaler = Scaler("anchored", span=rng.uniform(0.02, 0.3), anchor_len=size(1, n_in))
    else:
        scaler = Scaler("quadratic", span=rng.uniform(0.02, 0.3), anchor_len=size(1, n_in),
                        trend_len=size(3, n_in))
    scaler.signals = random_signal_scalings(rng, signals) if signals else []
    return scaler


def random_signal_scalings(rng, k):
    """k signal scalings as dlnet.signals.fit makes them: an integer offset and a scale."""
    return [{"name": f"signal{j}", "unit": "counts",
             "offset": int(rng.choice([rng.integers(0, 5000), rng.integers(-10 ** 6, 10 ** 6)])),
             "scale": float(10 ** rng.uniform(0, 4))} for j in range(k)]


def random_signals(rng, k):
    """k signals' integers drawn directly: any int32 offset, multipliers of either sign (now and
    then 0), every shift -31..30, so that scale_signals' requant takes its 32-bit path, its wide
    one and its saturation."""
    offset = np.where(rng.random(k) < 0.5, rng.integers(-5000, 5000, k),
                      rng.integers(INT32[0], INT32[1], k, endpoint=True))
    mult = rng.integers(2 ** 30, 2 ** 31, k) * rng.choice([-1, 1], k)
    mult[rng.random(k) < 0.1] = 0
    return qmodel.Signals(offset.astype(np.int64), mult.astype(np.int64),
                          rng.integers(-31, 31, k).astype(np.int64))


def with_random_signals(qm, rng):
    """qm with its signals' integers replaced by random_signals: nothing else in the model
    depends on them, so any valid ones give a valid model."""
    out = replace(qm, signals=random_signals(rng, len(qm.signals)))
    qmodel.check(out)
    return out


def signal_values(rng, n, sig):
    """Raw int32 signals (n, k) for a model's Signals `sig`: three quarters around each offset,
    as far as 1.5 times the raw distance that fills the int16 scaled input (so some saturate
    there), one quarter hostile: uniform over int32, its two ends and 0; in random order."""
    k = len(sig)
    factor = np.abs(np.asarray(sig.mult, np.float64)) * 2.0 ** (np.asarray(sig.shift) - 31.0)
    reach = np.where(factor > 0, 2.0 ** 15 / np.maximum(factor, 2.0 ** -40), 2.0 ** 31)
    near = np.asarray(sig.offset, np.float64) + rng.uniform(-1.5, 1.5, (n, k)) * reach
    n_hostile = n // 4
    hostile = rng.integers(INT32[0], INT32[1], (n_hostile, k), endpoint=True)
    ends = rng.random((n_hostile, k))
    hostile[ends < 0.2] = INT32[0]
    hostile[(ends >= 0.2) & (ends < 0.4)] = INT32[1]
    hostile[(ends >= 0.4) & (ends < 0.5)] = 0
    near = np.clip(np.rint(near[:n - n_hostile]), *INT32).astype(np.int64)
    # shuffled: mixed_windows puts its hostile windows last, and each kind should meet the other
    return rng.permutation(np.concatenate([near, hostile.astype(np.int64)]))


def scaled_signal_values(rng, n, scaler):
    """Raw signals (n, k) as the training windows would give them: each signal's offset plus
    normal noise of its scale, integers (what calibration reads)."""
    k = len(scaler.signals)
    offset = np.array([g["offset"] for g in scaler.signals], np.float64)
    scale = np.array([g["scale"] for g in scaler.signals], np.float64)
    return np.rint(offset + rng.normal(0, 1, (n, k)) * scale).astype(np.int64).reshape(n, k)


def calibration_inputs(rng, n, input_len, scaler):
    """Raw input rows for quantize: the signals (scaled_signal_values), then SOH windows."""
    return np.concatenate([scaled_signal_values(rng, n, scaler), soh_windows(rng, n, input_len)],
                          axis=1)


def random_linear(rng, signals=0):
    """A linear network (what ridge regression deploys) with random weights and scaler, reading
    `signals` signals beside the window."""
    n_in, n_out = int(rng.integers(8, 101)), int(rng.integers(1, 101))
    n = n_in + int(signals)
    weight = rng.normal(0, n ** -0.5, (n_out, n)) * rng.uniform(0.1, 3.0)
    return qmodel.quantize_linear(weight, rng.normal(0, 0.3, n_out),
                                  random_scaler(rng, n_in, signals),
                                  weights=str(rng.choice(["per_channel", "per_tensor"])))


def random_polynomial(rng):
    """A polynomial baseline of random degree (0..2) and fit length."""
    n_in, n_out = int(rng.integers(8, 101)), int(rng.integers(1, 101))
    degree = int(rng.integers(0, 3))
    fit_len = int(rng.integers(degree + 1, n_in + 1))
    return qmodel.quantize_polynomial(n_in, n_out, fit_len, degree)


def randomized(model, rng):
    """`model` (eval mode) with seeded random weights and signed random per-unit vectors."""
    torch.manual_seed(int(rng.integers(2 ** 31)))
    for m in model.modules():
        if m is not model and hasattr(m, "reset_parameters"):
            m.reset_parameters()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and not name.endswith("bias"):
                p.copy_(torch.as_tensor(rng.uniform(-1.5, 1.5, p.shape), dtype=p.dtype))
            elif name.endswith("norm.bias"):
                p.copy_(torch.as_tensor(rng.normal(0, 0.3, p.shape), dtype=p.dtype))
            elif p.dim() == 2 and name.startswith("cell.") and not name.startswith("cell.W"):
                p.copy_(torch.as_tensor(rng.normal(0, p.shape[0] ** -0.5, p.shape), dtype=p.dtype))
    return model.eval()


def soh_windows(rng, n, length):
    """Random-walk SOH windows: a level in 0.7..1.1 plus a drifting, noisy walk."""
    level = rng.uniform(0.7, 1.1, (n, 1))
    steps = rng.normal(-2e-4, 2e-3, (n, length)) * rng.uniform(0.2, 3.0, (n, 1))
    return level + np.cumsum(steps, axis=1)


def hostile_windows(rng, n, length):
    """Q7.24 windows no calibration saw: uniform int32 and constant rows (zero variance)."""
    wild = rng.integers(INT32[0], INT32[1] + 1, (n - n // 4, length))
    flat = np.repeat(rng.integers(INT32[0], INT32[1] + 1, (n // 4, 1)), length, axis=1)
    return np.concatenate([wild, flat]).astype(np.int32)


def mixed_windows(rng, n, length):
    """Q7.24 windows: three quarters in-range SOH, one quarter hostile."""
    n_hostile = n // 4
    return np.concatenate([soh_to_q_in(soh_windows(rng, n - n_hostile, length)),
                           hostile_windows(rng, n_hostile, length)])
