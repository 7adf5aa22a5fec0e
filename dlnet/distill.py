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
