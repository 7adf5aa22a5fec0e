"""LiquidNet's eval-mode function, rewritten so that every op converts to an int8 TFLite kernel.

Converted as it is, LiquidNet gives a hybrid TFLite graph: litert-torch lowers `layer_norm` to
float ops between DEQUANTIZE and QUANTIZE even when the op is annotated for int8. This module
computes the same function (to float rounding) with ops TFLite Micro runs in int8:

  LayerNorm(W x + b)   the centring x - mean(x) is linear, so it is folded into the Linear before
                       every LayerNorm (each one follows a Linear); what is left,
                       d * rsqrt(mean(d * d) + eps) * gain + offset, is MUL, MEAN, ADD, RSQRT.
  liquid cell          h + dt * (-alpha * h + beta * tanh(.)) is folded to
                       keep * h + gain * tanh(.), with keep = 1 - dt * alpha and gain = dt * beta,
                       two fewer int8 roundings per step. The drive w_u * mean(x) does not change
                       over the steps and is computed once.
  low-rank coupling    d * h + U (V^T h) + b becomes one dense Linear when that is no larger,
                       else stays factored (two Linears and a MUL).
Dropout is the identity in eval mode and is left out.
"""

import copy

import torch
import torch.nn as nn
import torch.nn.functional as F

from dlnet.model import LiquidNet


def centered(linear: nn.Linear):
    """A Linear whose outputs have zero mean over the features: LayerNorm's centring folded in."""
    out = nn.Linear(linear.in_features, linear.out_features)
    with torch.no_grad():
        out.weight.copy_(linear.weight - linear.weight.mean(dim=0, keepdim=True))
        out.bias.copy_(linear.bias - linear.bias.mean())
    return out


class Normalize(nn.Module):
    """The rest of a LayerNorm, for inputs that are already centred."""

    def __init__(self, norm: nn.LayerNorm):
        super().__init__()
        # Shaped like a batch-1 row: TFLite's int16 ADD takes no broadcasting, so every constant
        # added is exactly as wide as what it is added to ((1, 1) for eps, (1, n) for the offset).
        self.register_buffer("eps", torch.full((1, 1), norm.eps))
        self.register_buffer("gain", norm.weight.detach().clone()[None])
        self.register_buffer("offset", norm.bias.detach().clone()[None])

    def forward(self, d):
        return d * torch.rsqrt((d * d).mean(dim=-1, keepdim=True) + self.eps) * self.gain + self.offset


class LowRank(nn.Module):
    """d * h + U (V^T h) + b with U and V as Linears, for widths where a dense matrix is larger."""

    def __init__(self, cell):
        super().__init__()
        width, rank = cell.U.shape
        self.down = nn.Linear(width, rank, bias=False)
        self.up = nn.Linear(rank, width)
        with torch.no_grad():
            self.down.weight.copy_(cell.V.T)
            self.up.weight.copy_(cell.U)
            self.up.bias.copy_(cell.b)
        self.register_buffer("d", cell.d.detach().clone())

    def forward(self, h):
        return self.d * h + self.up(self.down(h))


def coupling(cell):
    if cell.coupling == "full":
        return copy.deepcopy(cell.W)
    width, rank = cell.U.shape
    if width * width > width * (2 * rank + 1):
        return LowRank(cell)
    dense = nn.Linear(width, width)
    with torch.no_grad():
        dense.weight.copy_(torch.diag(cell.d) + cell.U @ cell.V.T)
        dense.bias.copy_(cell.b)
    return dense


class IntegerNet(nn.Module):
    """Export-only twin of a LiquidNet: input (B, input_len + signals) scaled window and signals,
    output (B, output_len)."""

    def __init__(self, net: LiquidNet):
        super().__init__()
        cell = net.cell
        self.enc_in, self.enc_norm = centered(net.enc_in), Normalize(net.enc_norm)
        self.enc_out, self.lat_norm = centered(net.enc_out), Normalize(net.lat_norm)
        self.couple = coupling(cell)
        self.steps, self.input_len = cell.steps, net.cfg.input_len
        self.register_buffer("w_u", cell.w_u.detach().clone())
        self.register_buffer("keep", (1 - cell.dt * cell.alpha).detach().clone())
        self.register_buffer("gain", (cell.dt * cell.beta).detach().clone())
        self.register_buffer("r", net.r.detach().clone())
        self.dec_in, self.dec_norm = centered(net.dec_in), Normalize(net.dec_norm)
        self.dec_inner, self.dec_out = copy.deepcopy(net.dec_inner), copy.deepcopy(net.dec_out)
        self.eval()

    def forward(self, x):
        drive = self.w_u * x[:, :self.input_len].mean(dim=1, keepdim=True)
        z = F.relu(self.enc_norm(self.enc_in(x)))
        h0 = torch.tanh(self.lat_norm(self.enc_out(z)))
        h = h0
        for _ in range(self.steps):
            h = self.keep * h + self.gain * torch.tanh(self.couple(h) + drive)
        h = h + self.r * h0
        z = F.relu(self.dec_norm(self.dec_in(h)))
        return self.dec_out(F.relu(self.dec_inner(z)))
