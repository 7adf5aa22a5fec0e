"""The training loop of the teacher, the students (stage 1) and the pruned students (stage 2).

AdamW (dlnet/optim.py), cosine learning-rate schedule over the epochs, gradient clipping,
mini-batches in a seeded order. The checkpoint kept is the epoch with the lowest validation MSE
against the true targets; the held-out test windows are never looked at here. With `patience`,
training stops once that many epochs have passed without a lower validation loss; the schedule
stays the one of `epochs`, so an early-stopped run is the full run cut short, epoch for epoch.

`fit` trains one model. `fit_members` trains several seeds of one architecture at once, stacked
(dlnet/stacked.py), each as `fit` would with its seed; `fit_seeds` stacks the models of a list
that share a shape and hands a model of its own shape to `fit`.
"""

import copy
import time
import warnings
from dataclasses import astuple, dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F

from dlnet import numerics
from dlnet.distill import distill_loss, lambda_at, member_losses
from dlnet.optim import FlatAdamW, cosine_lr
from dlnet.stacked import StackedLiquidNet


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


def schedule(cfg, epoch, distilled):
    """(lambda, learning rate) of 0-based `epoch`."""
    lam = lambda_at(epoch, cfg.epochs, cfg.lambda_start, cfg.lambda_end) if distilled else 1.0
    return lam, cosine_lr(cfg.lr, epoch, cfg.epochs)


def record(history, log, cfg, epoch, lam, lr, train_loss, val_loss, val_mae, seconds):
    """Append 0-based `epoch`'s row to `history` and log it."""
    history.append({"epoch": epoch + 1, "lambda": lam, "lr": lr, "train_loss": train_loss,
                    "val_loss": val_loss, "val_mae": val_mae, "seconds": seconds})
    log(f"epoch {epoch + 1:4d}/{cfg.epochs} lambda {lam:.2f} train_loss {train_loss:.3e} "
        f"val_loss {val_loss:.3e} val_mae {val_mae:.5f} lr {lr:.2e} {seconds:.2f}s")


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
        lam, lr = schedule(cfg, epoch, t is not None)
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
        record(history, log, cfg, epoch, lam, lr, total / max(count, 1), val_loss, val_mae,
               time.perf_counter() - start)
        if val_loss < best[0]:
            best = (val_loss, copy.deepcopy(model.state_dict()), epoch + 1)
        if stops(epoch + 1, best[2], cfg.patience):
            log(f"stopped: {cfg.patience} epochs without a lower validation loss")
            break
    opt.release()
    model.load_state_dict(best[1])
    model.eval()
    log(f"best epoch {best[2]} (val_loss {best[0]:.3e})")
    return history, best[2]


def fit_members(models, cfg, seeds, train, val, span, teacher_train=None, logs=None):
    """Train models of one NetConfig together, model k as `fit` trains it with cfg's seed set to
    seeds[k]: its own batch order, dropout masks and stopping, one op for all of them
    (dlnet/stacked.py). Every model ends with its best epoch's weights; returns
    [(history, best epoch)] in the models' order. A member that meets its patience is done: its
    history and best epoch end there while the others go on. logs: one log function per model.

    Not the same bits as `fit`: batched matrix products and an unfused LayerNorm round
    differently, which over a run moves a member as far as another machine's rounding moves a
    run (tests/test_stacked.py bounds the difference over a few epochs).
    """
    if len(seeds) != len(models):
        raise ValueError(f"{len(models)} models need as many seeds, got {seeds}")
    k_all = range(len(models))
    logs = logs or [print] * len(models)
    net = StackedLiquidNet(models)
    x, y = as_tensor(train[0]), as_tensor(train[1])
    t = as_tensor(teacher_train) if teacher_train is not None else None
    xv, yv = as_tensor(val[0]), as_tensor(val[1])
    dropout = [torch.Generator().manual_seed(s) for s in seeds]
    orders = [torch.Generator().manual_seed(s) for s in seeds]
    opt = FlatAdamW(net.parameters(), weight_decay=cfg.weight_decay, members=len(models))
    best = [(np.inf, None, -1) for _ in k_all]
    histories = [[] for _ in k_all]
    # a member that has stopped still trains with the others (one op for all), but its history
    # and best checkpoint end where its run alone would stop
    running = list(k_all)
    for epoch in range(cfg.epochs):
        start = time.perf_counter()
        lam, lr = schedule(cfg, epoch, t is not None)
        net.train()
        order = torch.stack([torch.randperm(len(x), generator=g) for g in orders])  # (K, n)
        xs, ys = x[order], y[order]                                                 # (K, n, .)
        ts = t[order] if t is not None else None
        total = torch.zeros(len(models), dtype=torch.float64)
        for i in range(0, len(x), cfg.batch_size):
            batch = slice(i, i + cfg.batch_size)
            pred = net(xs[:, batch], dropout)                                       # (K, B, out)
            losses = member_losses(pred, ys[:, batch], ts[:, batch] if ts is not None else None,
                                   lam, cfg.divergence)                              # (K,)
            opt.zero_grad()
            with warnings.catch_warnings():
                # the gradients are strided row slices of the (K, N) flat buffer, which autograd
                # accumulates into in place, and warns about
                warnings.filterwarnings("ignore", message="grad and param do not obey")
                losses.sum().backward()  # member k's parameters see member k's loss only
            opt.clip_grad_norm(cfg.clip)
            opt.step(lr)
            total += losses.detach().double() * pred.shape[1]
        net.eval()
        with torch.no_grad():
            pv = net(xv.expand(len(models), -1, -1))
        seconds = time.perf_counter() - start
        for k in list(running):
            val_loss = float(F.mse_loss(pv[k], yv))
            record(histories[k], logs[k], cfg, epoch, lam, lr, float(total[k]) / len(x),
                   val_loss, float(span * (pv[k] - yv).abs().mean()), seconds)
            if val_loss < best[k][0]:
                best[k] = (val_loss, net.state_of(k), epoch + 1)
            if stops(epoch + 1, best[k][2], cfg.patience):
                logs[k](f"stopped: {cfg.patience} epochs without a lower validation loss")
                running.remove(k)
        if not running:
            break
    results = []
    for k, model in enumerate(models):
        model.load_state_dict(best[k][1])
        model.eval()
        logs[k](f"best epoch {best[k][2]} (val_loss {best[k][0]:.3e})")
        results.append((histories[k], best[k][2]))
    return results


def fit_seeds(models, seeds, cfg, train, val, span, teacher_train=None, logs=None):
    """Train model k with seed seeds[k] (cfg's seed replaced): the models that share a NetConfig
    stacked together (fit_members), a model alone as `fit` trains it. Returns
    [(history, best epoch, seconds)] in the models' order; seconds are its group's."""
    logs = logs or [print] * len(models)
    groups = {}
    for k, model in enumerate(models):
        groups.setdefault(astuple(model.cfg), []).append(k)
    results = [None] * len(models)
    for ks in groups.values():
        start = time.perf_counter()
        if len(ks) == 1:
            k = ks[0]
            trained = [fit(models[k], replace(cfg, seed=seeds[k]), train, val, span,
                           teacher_train, logs[k])]
        else:
            trained = fit_members([models[k] for k in ks], cfg, [seeds[k] for k in ks], train,
                                  val, span, teacher_train, [logs[k] for k in ks])
        seconds = time.perf_counter() - start
        for k, (history, best) in zip(ks, trained):
            results[k] = (history, best, seconds)
    return results
