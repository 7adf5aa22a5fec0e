"""One training loop for the teacher, the students (stage 1) and the pruned students (stage 2).

AdamW, cosine learning-rate schedule over the epochs, gradient clipping, mini-batches in a seeded
order. The checkpoint kept is the epoch with the lowest validation MSE against the true targets;
the held-out test windows are never looked at here. With `patience`, training stops once that
many epochs have passed without a lower validation loss; the schedule stays the one of `epochs`,
so an early-stopped run is the full run cut short, epoch for epoch.
"""

import copy
import time
import warnings
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from dlnet import numerics
from dlnet.distill import distill_loss, lambda_at


@dataclass
class TrainConfig:
    epochs: int = 200
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    clip: float = 1.0
    patience: int | None = None
    seed: int = 42
    lambda_start: float = 0.1
    lambda_end: float = 0.9
    divergence: str = "mse"


def set_determinism(seed, threads):
    off = numerics.mismatch(numerics.in_force())
    if off:
        warnings.warn(f"numerical kernels not pinned ({'; '.join(off)}): import dlnet before "
                      "NumPy and PyTorch, or the numbers depend on this CPU (dlnet/numerics.py)")
    torch.manual_seed(seed)
    torch.set_num_threads(max(1, int(threads)))
    torch.use_deterministic_algorithms(True)


def as_tensor(a):
    return torch.as_tensor(np.asarray(a), dtype=torch.float32)


@torch.no_grad()
def predict_scaled(model, x, batch=4096):
    model.eval()
    x = as_tensor(x)
    return torch.cat([model(x[i:i + batch]) for i in range(0, len(x), batch)]).numpy().astype(np.float64)


def predict(model, scaler, x):
    """SOH forecast for raw input rows x (n, signals + input_len; dlnet/signals.py)."""
    return scaler.inverse(x, predict_scaled(model, scaler.transform(x)))


@torch.no_grad()
def mc_dropout_predict(model, scaler, x, passes, seed):
    """Mean and std over `passes` forward passes with dropout on (MC dropout)."""
    torch.manual_seed(seed)
    model.train()
    xs = as_tensor(scaler.transform(x))
    runs = np.stack([scaler.inverse(x, model(xs).numpy().astype(np.float64)) for _ in range(passes)])
    model.eval()
    return runs.mean(axis=0), runs.std(axis=0)


def stops(epoch, best_epoch, patience):
    """Whether training ends after (1-based) `epoch`: `patience` epochs have passed since the
    lowest validation loss, at `best_epoch`. No patience: never early."""
    return bool(patience) and epoch - best_epoch >= patience


def fit(model, cfg, train, val, span, teacher_train=None, log=print):
    """Train `model` in place on scaled (x, y) pairs; return the per-epoch history.

    train, val: (x, y) arrays already scaled. teacher_train: the teacher's scaled predictions on
    the training inputs, which turns on the distillation loss. span converts scaled errors back to
    SOH units for the log (the scaling is affine with the same anchor for prediction and target).
    """
    x, y = as_tensor(train[0]), as_tensor(train[1])
    t = as_tensor(teacher_train) if teacher_train is not None else None
    xv, yv = as_tensor(val[0]), as_tensor(val[1])
    # dropout draws from the seed, not from whatever was built or loaded before this call
    torch.manual_seed(cfg.seed)
    # fused: one kernel for the whole update, a third faster per step on small CPU models
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, cfg.epochs))
    order_rng = torch.Generator().manual_seed(cfg.seed)
    best = (np.inf, None, -1)
    history = []
    for epoch in range(cfg.epochs):
        start = time.perf_counter()
        lam = lambda_at(epoch, cfg.epochs, cfg.lambda_start, cfg.lambda_end) if t is not None else 1.0
        model.train()
        total, count = 0.0, 0
        for idx in torch.randperm(len(x), generator=order_rng).split(cfg.batch_size):
            pred = model(x[idx])
            if t is None:
                loss = F.mse_loss(pred, y[idx])
            else:
                loss = distill_loss(pred, y[idx], t[idx], lam, cfg.divergence)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip, foreach=True)
            opt.step()
            total += loss.item() * len(idx)
            count += len(idx)
        lr = opt.param_groups[0]["lr"]
        sched.step()
        pv = torch.as_tensor(predict_scaled(model, xv))
        val_loss = float(F.mse_loss(pv.float(), yv))
        val_mae = float(span * (pv.float() - yv).abs().mean())
        row = {"epoch": epoch + 1, "lambda": lam, "lr": lr, "train_loss": total / max(count, 1),
               "val_loss": val_loss, "val_mae": val_mae, "seconds": time.perf_counter() - start}
        history.append(row)
        if val_loss < best[0]:
            best = (val_loss, copy.deepcopy(model.state_dict()), epoch + 1)
        log(f"epoch {epoch + 1:4d}/{cfg.epochs} lambda {lam:.2f} train_loss {row['train_loss']:.3e} "
            f"val_loss {val_loss:.3e} val_mae {val_mae:.5f} lr {lr:.2e} {row['seconds']:.2f}s")
        if stops(epoch + 1, best[2], cfg.patience):
            log(f"stopped: {cfg.patience} epochs without a lower validation loss")
            break
    model.load_state_dict(best[1])
    model.eval()
    log(f"best epoch {best[2]} (val_loss {best[0]:.3e})")
    return history, best[2]
