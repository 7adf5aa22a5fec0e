"""Distillation loss: lambda * MSE(student, target) + (1 - lambda) * D(student, teacher).

lambda rises linearly from `start` to `end` over training: early epochs follow the teacher's
smooth outputs, late epochs the ground truth.
"""

import torch.nn.functional as F


def lambda_at(epoch, epochs, start=0.1, end=0.9):
    """lambda for 0-based `epoch` of `epochs`: start at the first epoch, end at the last."""
    if epochs <= 1:
        return float(start)
    return float(start + (end - start) * epoch / (epochs - 1))


def divergence(student, teacher, kind, members=False):
    """D(student, teacher) over a batch (B, n); with `members`, over each member's batch of
    stacked runs (K, B, n) -> (K,) (dlnet/stacked.py)."""
    if kind == "mse":
        return (student - teacher).square().mean(dim=(1, 2)) if members \
            else F.mse_loss(student, teacher)
    if kind == "cosine":
        distance = 1.0 - F.cosine_similarity(student, teacher, dim=-1)
        return distance.mean(dim=1) if members else distance.mean()
    raise ValueError(f"unknown distillation divergence '{kind}'; use mse or cosine")


def distill_loss(student, target, teacher, lam, kind="mse"):
    return lam * F.mse_loss(student, target) + (1.0 - lam) * divergence(student, teacher, kind)


def member_losses(student, target, teacher, lam, kind="mse"):
    """The loss of each member of stacked training runs: (K, B, n) -> (K,), member k's entry
    the loss above of its (B, n) slice (the MSE alone without a teacher)."""
    mse = (student - target).square().mean(dim=(1, 2))
    if teacher is None:
        return mse
    return lam * mse + (1.0 - lam) * divergence(student, teacher, kind, members=True)
