"""AdamW over one flat buffer: the optimizer of training.fit.

Every parameter of the model becomes a view of one flat tensor and its gradient a view of
another, so that zeroing, clipping and the update are a handful of operations on one tensor,
however many parameters the model has. The models here are small and PyTorch's CPU per-op
overhead dominates their training: with torch.optim.AdamW (fused) and clip_grad_norm_, a tiny
student's epoch took 30% longer (benchmarks/optimizer.py), and the first call of any
torch.optim optimizer imports the compiler (torch._dynamo: 2-3 s of every training job).

    m = beta1 m + (1 - beta1) g                     first moment
    v = beta2 v + (1 - beta2) g^2                   second moment
    p = p (1 - lr wd) - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

which is torch.optim.AdamW's update (decoupled weight decay, bias-corrected moments), with one
difference in the last bit: sqrt(v) is NumPy's, correctly rounded as IEEE specifies. torch's
float32 sqrt rounds about one value in five the other way, and which ones depends on the
processor: this AMD EPYC and QEMU's emulated Intel and AMD CPUs disagree on them (an
approximate instruction, whose result the ISA leaves to each vendor), so the same training ended
with other weights there. tests/test_numerics.py trains on the emulated CPUs to keep it so.

With `members` (dlnet/stacked.py: K training runs stacked, every parameter (K, ...)), the flat
buffers are (K, N), each member's parameters one row, and gradient clipping takes each row's
own norm: a member's update is what it would be alone.
"""

import math

import numpy as np
import torch


class FlatAdamW:
    def __init__(self, params, weight_decay, betas=(0.9, 0.999), eps=1e-8, members=None):
        self.params = list(params)
        self.weight_decay, self.betas, self.eps = weight_decay, betas, eps
        rows = members or 1
        with torch.no_grad():
            self.flat = torch.cat([p.detach().reshape(rows, -1) for p in self.params], dim=1)
        if members is None:
            self.flat = self.flat[0]
        self.grad = torch.zeros_like(self.flat)
        start = 0
        for p in self.params:
            end = start + p.numel() // rows
            # backward accumulates into an existing .grad in place: into the flat buffer
            p.data = self.flat[..., start:end].view(p.shape)
            p.grad = self.grad[..., start:end].view(p.shape)
            start = end
        self.m = torch.zeros_like(self.flat)
        self.v = torch.zeros_like(self.flat)
        self.denom = torch.empty_like(self.flat)
        self.t = 0

    def zero_grad(self):
        self.grad.zero_()

    @torch.no_grad()
    def clip_grad_norm(self, max_norm):
        """Scale the gradient (each member's) to an L2 norm of at most max_norm (as
        clip_grad_norm_ does)."""
        norm = torch.linalg.vector_norm(self.grad, dim=-1, keepdim=True)
        self.grad.mul_((max_norm / (norm + 1e-6)).clamp(max=1.0))

    @torch.no_grad()
    def step(self, lr):
        beta1, beta2 = self.betas
        self.t += 1
        self.flat.mul_(1.0 - lr * self.weight_decay)
        self.m.lerp_(self.grad, 1.0 - beta1)
        self.v.mul_(beta2).addcmul_(self.grad, self.grad, value=1.0 - beta2)
        # NumPy's sqrt, the same on every CPU (see above), written through a view of the buffer
        np.sqrt(self.v.numpy(), out=self.denom.numpy())
        denom = self.denom.div_(math.sqrt(1.0 - beta2 ** self.t)).add_(self.eps)
        self.flat.addcdiv_(self.m, denom, value=-lr / (1.0 - beta1 ** self.t))

    def release(self):
        """Give every parameter its own storage again and drop the gradients: a checkpoint then
        holds each tensor alone, not the flat buffer behind it."""
        for p in self.params:
            p.data = p.data.clone()
            p.grad = None


def cosine_lr(base, epoch, epochs):
    """Learning rate of 0-based `epoch`: cosine annealing from `base` to 0 over `epochs`."""
    return base * (1.0 + math.cos(math.pi * epoch / max(1, epochs))) / 2.0
