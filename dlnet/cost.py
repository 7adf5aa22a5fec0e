"""Cost of one inference, counted exactly from a LiquidNet's shapes.

macs: every multiplication of one forward pass (a multiply-accumulate each):
  Linear(in, out)             in * out
  LayerNorm(n)                2n   (the squares of the variance, the gain)
  coupling per Euler step     full: W*W; lowrank: W (diagonal) + 2*W*rank
  input drive w_u * u         W per step
  Euler update per step       2W   (alpha * h and beta * tanh, dt folded into both)
  residual r * h0             W
int8_bytes: what the integer model stores: 1 byte per matrix weight (Linear weights, U, V),
  4 bytes per vector entry (biases, LayerNorm gain and offset, d, alpha, beta, w_u, r), which
  the int8 core keeps as 32-bit fixed point.
"""

import torch.nn as nn

from dlnet.model import LiquidNet, n_params


def macs(model: LiquidNet):
    cfg, cell = model.cfg, model.cell
    total = 0
    for m in model.modules():
        if isinstance(m, nn.Linear) and m is not getattr(cell, "W", None):
            total += m.in_features * m.out_features
        elif isinstance(m, nn.LayerNorm):
            total += 2 * m.normalized_shape[0]
    w = cfg.width
    coupling = w * w if cfg.coupling == "full" else w + 2 * w * cell.U.shape[1]
    total += cell.steps * (coupling + w + 2 * w) + w
    return total


def int8_bytes(model: LiquidNet):
    total = 0
    for name, p in model.named_parameters():
        total += p.numel() * (1 if p.dim() == 2 else 4)
    return total


def costs(model):
    return {"params": n_params(model), "macs": macs(model), "int8_bytes": int8_bytes(model)}
