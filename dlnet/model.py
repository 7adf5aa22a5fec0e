"""The liquid neural network of DLNet: one class for the teacher and every student.

    u  = mean(x)                                   the input window's level, a scalar per window
    h0 = tanh(LN(W_e2 relu(LN(W_e1 [x, s]))))      encoder to the latent state, h0 in (-1, 1)^W
    dh/dt = -alpha * h + beta * tanh(C(h) + w_u * u)
    h  = Euler(h0, steps, dt) + r * h0             explicit Euler steps, then a learned residual
    y  = W_d3 relu(W_d2 relu(LN(W_d1 h)))          decoder to the 100 future values

The teacher couples the latent units through a full matrix, C(h) = W h + b, and takes 9 Euler
steps of 1/9 over pseudo-time [0, 1]. A student couples them through a diagonal plus a low-rank
term, C(h) = d * h + U (V^T h) + b, and takes one step of dt = 0.05. With the paper's sizes
(encoder 256, latent 128, decoder 256 -> 128) the teacher has exactly 155,749 parameters.

s are the scaled signals beside the window (dlnet/signals.py; none by default): the encoder's
first layer reads them after the window's values, and nothing else does.
"""

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class NetConfig:
    input_len: int = 100
    output_len: int = 100
    enc_hidden: int = 256
    width: int = 128            # latent (liquid state) size
    dec_hidden: int = 256
    dec_mid: int = 128
    coupling: str = "full"      # full | lowrank
    rank: int = 2               # rank of U V^T for lowrank coupling
    steps: int = 9
    dt: float = 1.0 / 9.0
    dropout: float = 0.1
    signals: int = 0            # scaled signals after the window in the input

    @property
    def n_inputs(self):
        return self.input_len + self.signals


def teacher_config(input_len=100, output_len=100, **overrides):
    return NetConfig(input_len, output_len, **overrides)


def student_config(width, enc_hidden=256, dec_hidden=256, dec_mid=128, rank=2, dt=0.05,
                   input_len=100, output_len=100, dropout=0.1, signals=0):
    return NetConfig(input_len, output_len, enc_hidden, width, dec_hidden, dec_mid,
                     coupling="lowrank", rank=min(rank, width), steps=1, dt=dt, dropout=dropout,
                     signals=signals)


def teacher_from_config(t, input_len=100, output_len=100, signals=0):
    """NetConfig of config.yaml's `teacher` section: `steps` Euler steps over [0, 1]."""
    return teacher_config(input_len, output_len, enc_hidden=t["enc_hidden"], width=t["width"],
                          dec_hidden=t["dec_hidden"], dec_mid=t["dec_mid"], steps=t["steps"],
                          dt=1.0 / t["steps"], dropout=t["dropout"], signals=signals)


def student_from_config(arch, s, input_len=100, output_len=100, signals=0):
    """NetConfig of one student architecture with the `students` section's rank, dt, dropout."""
    return student_config(arch["width"], arch["enc_hidden"], arch["dec_hidden"], arch["dec_mid"],
                          rank=s["rank"], dt=s["dt"], input_len=input_len,
                          output_len=output_len, dropout=s["dropout"], signals=signals)


class LiquidCell(nn.Module):
    def __init__(self, width, coupling, rank, steps, dt):
        super().__init__()
        self.coupling, self.steps, self.dt = coupling, steps, dt
        if coupling == "full":
            self.W = nn.Linear(width, width)
        elif coupling == "lowrank":
            self.d = nn.Parameter(torch.zeros(width))
            self.U = nn.Parameter(torch.randn(width, rank) / width ** 0.5)
            self.V = nn.Parameter(torch.randn(width, rank) / width ** 0.5)
            self.b = nn.Parameter(torch.zeros(width))
        else:
            raise ValueError(f"unknown coupling '{coupling}'; use full or lowrank")
        self.alpha = nn.Parameter(torch.ones(width))
        self.beta = nn.Parameter(torch.ones(width))
        self.w_u = nn.Parameter(torch.zeros(width))

    def couple(self, h):  # (B, W) -> (B, W)
        if self.coupling == "full":
            return self.W(h)
        return self.d * h + (h @ self.V) @ self.U.T + self.b

    def forward(self, h, u):  # h (B, W), u (B, 1)
        for _ in range(self.steps):
            dh = -self.alpha * h + self.beta * torch.tanh(self.couple(h) + self.w_u * u)
            h = h + self.dt * dh
        return h


class LiquidNet(nn.Module):
    def __init__(self, cfg: NetConfig):
        super().__init__()
        self.cfg = cfg
        self.enc_in = nn.Linear(cfg.n_inputs, cfg.enc_hidden)
        self.enc_norm = nn.LayerNorm(cfg.enc_hidden)
        self.enc_out = nn.Linear(cfg.enc_hidden, cfg.width)
        self.lat_norm = nn.LayerNorm(cfg.width)
        self.cell = LiquidCell(cfg.width, cfg.coupling, cfg.rank, cfg.steps, cfg.dt)
        self.r = nn.Parameter(torch.full((1,), 0.1))
        self.dec_in = nn.Linear(cfg.width, cfg.dec_hidden)
        self.dec_norm = nn.LayerNorm(cfg.dec_hidden)
        self.dec_inner = nn.Linear(cfg.dec_hidden, cfg.dec_mid)
        self.dec_out = nn.Linear(cfg.dec_mid, cfg.output_len)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x):  # x (B, input_len + signals), scaled: the window, then the signals
        u = x[:, :self.cfg.input_len].mean(dim=1, keepdim=True)  # (B, 1)
        z = self.drop(F.relu(self.enc_norm(self.enc_in(x))))    # (B, E)
        h0 = torch.tanh(self.lat_norm(self.enc_out(z)))         # (B, W)
        h = self.cell(h0, u) + self.r * h0                      # (B, W)
        z = self.drop(F.relu(self.dec_norm(self.dec_in(h))))    # (B, D1)
        z = F.relu(self.dec_inner(z))                             # (B, D2)
        return self.dec_out(z)                                  # (B, output_len)


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def checkpoint(model, scaler, **extra):
    """What model.pt holds: enough to rebuild the model and its scaling without the workflow."""
    return {"config": asdict(model.cfg), "state_dict": model.state_dict(),
            "scaler": scaler.to_dict(), **extra}


def load(path):
    """Rebuild (model in eval mode, scaler, checkpoint dict) from a model.pt."""
    from dlnet.errors import InputError
    from dlnet.scaling import Scaler

    import pickle

    try:
        ck = torch.load(path, map_location="cpu", weights_only=False)
        model = LiquidNet(NetConfig(**ck["config"]))
        model.load_state_dict(ck["state_dict"])
    except FileNotFoundError:
        raise InputError(path, "the model file does not exist",
                         "run the rule that writes it, or fix the path") from None
    except (pickle.UnpicklingError, KeyError, TypeError, ValueError, RuntimeError, EOFError,
            OSError) as e:
        raise InputError(path, f"is not a DLNet checkpoint ({type(e).__name__}: {e})",
                         "delete it and run snakemake again, which rebuilds it and what "
                         "depends on it") from None
    return model.eval(), Scaler.from_dict(ck["scaler"]), ck
