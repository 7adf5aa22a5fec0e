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


def divergence(student, teacher, kind):
    if kind == "mse":
        return F.mse_loss(student, teacher)
    if kind == "cosine":
        return (1.0 - F.cosine_similarity(student, teacher, dim=1)).mean()
    raise ValueError(f"unknown distillation divergence '{kind}'; use mse or cosine")


def distill_loss(student, target, teacher, lam, kind="mse"):
    return lam * F.mse_loss(student, target) + (1.0 - lam) * divergence(student, teacher, kind)


def member_losses(student, target, teacher, lam, kind="mse"):
    """The loss of each member of stacked training runs (dlnet/stacked.py): (K, B, n) -> (K,),
    member k's entry the loss above of its (B, n) slice (the MSE alone without a teacher)."""
    mse = (student - target).square().mean(dim=(1, 2))
    if teacher is None:
        return mse
    if kind == "mse":
        div = (student - teacher).square().mean(dim=(1, 2))
    elif kind == "cosine":
        div = (1.0 - F.cosine_similarity(student, teacher, dim=2)).mean(dim=1)
    else:
        raise ValueError(f"unknown distillation divergence '{kind}'; use mse or cosine")
    return lam * mse + (1.0 - lam) * div
