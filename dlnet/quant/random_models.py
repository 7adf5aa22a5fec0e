"""Random LiquidNets, linear networks, polynomial baselines, scalers and windows, to check the C
core against the reference far from the trained models: every shape limit, both couplings, every
scaling, negative gains, saturation.

Weights come from PyTorch's initialization, then every parameter the initialization leaves at a
constant (LayerNorm gain and offset, alpha, beta, w_u, d, r) is drawn at random with either sign,
so each multiplier path, positive and negative, is exercised. Windows are random walks in the SOH
range (what calibration sees), plus hostile ones: uniform over all of int16 and constant rows,
which drive every saturation and the LayerNorm's zero-variance case.
"""

import numpy as np
import torch

from dlnet.model import LiquidNet, NetConfig
from dlnet.quant import qmodel
from dlnet.quant.fixedpoint import soh_to_q
from dlnet.scaling import Scaler


def random_model(rng, coupling=None, big=False):
    """A random LiquidNet (eval mode) and a Scaler that fits its input length."""
    coupling = coupling or rng.choice(["full", "lowrank"])
    size = (lambda lo, hi: int(rng.integers(lo, hi + 1)))
    n_in = size(8, 100) if not big else 100
    width = size(1, 24) if not big else 128
    cfg = NetConfig(input_len=n_in, output_len=size(1, 100),
                    enc_hidden=size(1, 48) if not big else 256, width=width,
                    dec_hidden=size(1, 48) if not big else 256,
                    dec_mid=size(1, 32) if not big else 128, coupling=str(coupling),
                    rank=size(1, min(3, width)), steps=size(1, 9) if coupling == "full" else 1,
                    dt=float(rng.uniform(0.02, 0.2)), dropout=0.0)
    return randomized(LiquidNet(cfg), rng), random_scaler(rng, n_in)


def random_scaler(rng, n_in):
    size = (lambda lo, hi: int(rng.integers(lo, hi + 1)))
    kind = rng.choice(["minmax", "anchored", "quadratic"])
    if kind == "minmax":
        return Scaler("minmax", span=rng.uniform(0.1, 0.5), offset=rng.uniform(0.5, 0.9))
    if kind == "anchored":
        return Scaler("anchored", span=rng.uniform(0.02, 0.3), anchor_len=size(1, n_in))
    return Scaler("quadratic", span=rng.uniform(0.02, 0.3), anchor_len=size(1, n_in),
                  trend_len=size(3, n_in))


def random_linear(rng):
    """A linear network (what ridge regression deploys) with random weights and scaler."""
    n_in, n_out = int(rng.integers(8, 101)), int(rng.integers(1, 101))
    weight = rng.normal(0, n_in ** -0.5, (n_out, n_in)) * rng.uniform(0.1, 3.0)
    return qmodel.quantize_linear(weight, rng.normal(0, 0.3, n_out), random_scaler(rng, n_in),
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
    """Q1.14 windows no calibration saw: uniform int16 and constant rows (zero variance)."""
    wild = rng.integers(-32768, 32768, (n - n // 4, length))
    flat = np.repeat(rng.integers(-32768, 32768, (n // 4, 1)), length, axis=1)
    return np.concatenate([wild, flat]).astype(np.int16)


def mixed_windows(rng, n, length):
    """Q1.14 windows: three quarters in-range SOH, one quarter hostile."""
    n_hostile = n // 4
    return np.concatenate([soh_to_q(soh_windows(rng, n - n_hostile, length)),
                           hostile_windows(rng, n_hostile, length)])
