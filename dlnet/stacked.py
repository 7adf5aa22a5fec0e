"""Several training runs of one LiquidNet architecture as one model: the seeds of a finalist.

A tiny student's training step is almost all PyTorch's per-op overhead (dlnet/optim.py), so
training K seeds one after another pays that overhead K times. Stacked, every parameter gains a
leading axis of K members and each op runs once for all of them on (K, B, ...) tensors: a Linear
layer becomes a batched matrix product, a LayerNorm normalizes each member's rows and applies
that member's weight and bias. Member by member the equations are LiquidNet.forward's
(dlnet/model.py), and state_of(k) gives member k back as a LiquidNet state_dict;
tests/test_stacked.py checks the two against each other, dropout included.

Dropout draws each member's mask from that member's own generator, seeded as training.fit seeds
the global one, so member k sees the masks a run of its seed alone would see. The members share
no parameter and no gradient: each member's loss reaches only its own slice of every tensor.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


def _key(name):
    return name.replace(".", "__")  # a parameter's name may not hold a dot


class StackedLiquidNet(nn.Module):
    def __init__(self, models):
        super().__init__()
        if any(m.cfg != models[0].cfg for m in models):
            raise ValueError("stacked members must share one NetConfig: "
                             f"{[m.cfg for m in models]}")
        self.cfg, self.members = models[0].cfg, len(models)
        self.shapes = {name: t.shape for name, t in models[0].state_dict().items()}
        self.names = list(self.shapes)
        states = [m.state_dict() for m in models]
        for name in self.names:
            stacked = torch.stack([_to_stacked(name, s[name].detach()) for s in states])
            self.register_parameter(_key(name), nn.Parameter(stacked))

    def p(self, name):
        return getattr(self, _key(name))

    def linear(self, name, z):  # z (K, B, n_in) -> (K, B, n_out)
        return torch.baddbmm(self.p(f"{name}.bias"), z, self.p(f"{name}.weight"))

    def norm(self, name, z):  # LayerNorm over the last axis, each member its own weight and bias
        z = F.layer_norm(z, z.shape[-1:], eps=1e-5)
        return torch.addcmul(self.p(f"{name}.bias"), z, self.p(f"{name}.weight"))

    def drop(self, z, generators):
        """Inverted dropout as F.dropout does it (bernoulli_(1 - p), divided by 1 - p), each
        member's mask from its generator. Identity in eval mode."""
        q = 1.0 - self.cfg.dropout
        if not self.training or self.cfg.dropout == 0:
            return z
        if generators is None or len(generators) != self.members:
            raise ValueError(f"training draws dropout masks from one generator per member "
                             f"({self.members}); got {generators!r}")
        masks = torch.stack([torch.empty(z.shape[1:]).bernoulli_(q, generator=g)
                             for g in generators])
        return z * masks.div_(q)

    def couple(self, h):  # (K, B, W) -> (K, B, W)
        if self.cfg.coupling == "full":
            return self.linear("cell.W", h)
        lowrank = torch.bmm(torch.bmm(h, self.p("cell.V")), self.p("cell.U"))
        return torch.addcmul(self.p("cell.b") + lowrank, self.p("cell.d"), h)

    def forward(self, x, generators=None):  # x (K, B, input_len + signals)
        cfg, p = self.cfg, self.p
        u = x[..., :cfg.input_len].mean(dim=-1, keepdim=True)                       # (K, B, 1)
        z = self.drop(F.relu(self.norm("enc_norm", self.linear("enc_in", x))), generators)
        h0 = torch.tanh(self.norm("lat_norm", self.linear("enc_out", z)))          # (K, B, W)
        h = h0
        for _ in range(cfg.steps):
            dh = -p("cell.alpha") * h + p("cell.beta") * torch.tanh(
                self.couple(h) + p("cell.w_u") * u)
            h = h + cfg.dt * dh
        h = h + p("r") * h0
        z = self.drop(F.relu(self.norm("dec_norm", self.linear("dec_in", h))), generators)
        z = F.relu(self.linear("dec_inner", z))                                     # (K, B, D2)
        return self.linear("dec_out", z)                                            # (K, B, out)

    def state_of(self, k):
        """Member k's parameters as a LiquidNet state_dict (copies)."""
        return {name: _from_stacked(name, self.p(name)[k].detach(), self.shapes[name]).clone()
                for name in self.names}


# A member's tensors in the shapes its ops want, so that the forward needs no transpose or
# unsqueeze: Linear weights as (in, out) for z @ W, the cell's U as (rank, W), every vector
# (biases, LayerNorm's weight and bias, the cell's per-unit vectors, r) as a row (1, n) that
# broadcasts over the batch.
def _transposed(name, shape):
    return len(shape) == 2 and name != "cell.V"


def _to_stacked(name, t):
    if _transposed(name, t.shape):
        return t.T.contiguous()
    return t.reshape(1, -1) if t.dim() == 1 else t


def _from_stacked(name, t, shape):
    """The inverse of _to_stacked, to the LiquidNet parameter's `shape`."""
    return (t.T if _transposed(name, shape) else t).reshape(shape)
