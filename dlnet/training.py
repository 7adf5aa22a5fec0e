"""One training loop for the teacher, the students (stage 1) and the pruned students (stage 2).

AdamW (dlnet/optim.py), cosine learning-rate schedule over the epochs, gradient clipping,
mini-batches in a seeded order. The checkpoint kept is the epoch with the lowest validation MSE
against the true targets; the held-out test windows are never looked at here. With `patience`,
training stops once that many epochs have passed without a lower validation loss; the schedule
stays the one of `epochs`, so an early-stopped run is the full run cut short, epoch for epoch.
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
from dlnet.optim import FlatAdamW, cosine_lr


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
    # the same flag as torch.use_deterministic_algorithms(True), which also imports the
    # compiler (torch._inductor, 3.4 s per job here) to set its config; nothing here compiles
    torch.set_deterministic_debug_mode("error")


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
    opt = FlatAdamW(model.parameters(), weight_decay=cfg.weight_decay)
    order_rng = torch.Generator().manual_seed(cfg.seed)
    best = (np.inf, None, -1)
    history = []
    for epoch in range(cfg.epochs):
        start = time.perf_counter()
        lam = lambda_at(epoch, cfg.epochs, cfg.lambda_start, cfg.lambda_end) if t is not None else 1.0
        lr = cosine_lr(cfg.lr, epoch, cfg.epochs)
        model.train()
        total, count = 0.0, 0
        # the epoch's order gathered once: each batch is then a slice, not a gather
        order = torch.randperm(len(x), generator=order_rng)
        xs, ys = x[order], y[order]
        ts = t[order] if t is not None else None
        for i in range(0, len(x), cfg.batch_size):
            xb, yb = xs[i:i + cfg.batch_size], ys[i:i + cfg.batch_size]
            pred = model(xb)
            if t is None:
                loss = F.mse_loss(pred, yb)
            else:
                loss = distill_loss(pred, yb, ts[i:i + cfg.batch_size], lam, cfg.divergence)
            opt.zero_grad()
            loss.backward()
            opt.clip_grad_norm(cfg.clip)
            opt.step(lr)
            total += loss.item() * len(xb)
            count += len(xb)
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
    opt.release()
    model.load_state_dict(best[1])
    model.eval()
    log(f"best epoch {best[2]} (val_loss {best[0]:.3e})")
    return history, best[2]
