"""The training loop's optimizer against torch.optim's: seconds and validation MAE, on real data.

    python benchmarks/optimizer.py [--protocol cells] [--models h64 h8-tiny] [--seeds 3]
                                   [--teacher-seeds 1]

training.fit updates the parameters with dlnet/optim.py's FlatAdamW (every parameter a view of
one flat buffer). Until it did, fit used torch.optim.AdamW (fused), torch.nn.utils.clip_grad_norm_
(foreach) and CosineAnnealingLR. This runs fit with both, in one process, with the protocol's
training recipe: per optimizer `--teacher-seeds` teachers (seed, seed + 1, ...), then each
student distilled from the first (the workflow's seed) with `--seeds` seeds. Prints per model
and optimizer the seconds per epoch, the epochs and the validation MAE over the seeds (mean and
sd), then the change of the mean with its standard error: a change within about two standard
errors is within the seed noise. A job's start-up is not in these seconds: the first use of a
torch.optim optimizer also imports torch._dynamo (printed first). Validation only: no test
window is read.
"""

import dlnet  # noqa: F401  first: pins the numerical kernels before NumPy loads (dlnet/numerics.py)
import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from dlnet import model as net, training
from dlnet.config import load as load_config, student_settings
from dlnet.run.train_common import train_config
from dlnet.training import fit, predict_scaled, set_determinism
from seed_change import print_changes, spread, val_mae, windows   # benchmarks/seed_change.py

ROOT = Path(__file__).resolve().parents[1]


class TorchAdamW:
    """The loop's optimizer before FlatAdamW, behind FlatAdamW's interface."""

    def __init__(self, params, weight_decay):
        self.params = list(params)
        self.opt = torch.optim.AdamW(self.params, lr=0.0, weight_decay=weight_decay, fused=True)

    def zero_grad(self):
        self.opt.zero_grad(set_to_none=True)

    def clip_grad_norm(self, max_norm):
        torch.nn.utils.clip_grad_norm_(self.params, max_norm, foreach=True)

    def step(self, lr):
        self.opt.param_groups[0]["lr"] = lr
        self.opt.step()

    def release(self):
        pass


OPTIMIZERS = {"torch": TorchAdamW, "flat": training.FlatAdamW}


def dynamo_import_seconds():
    code = ("import time, torch; m = torch.nn.Linear(2, 2); s = time.perf_counter(); "
            "torch.optim.AdamW(m.parameters()); print(time.perf_counter() - s)")
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True).stdout)


def run(optimizer, cfg, build, train, val, span, teacher_train=None):
    """(model, seconds per epoch, epochs trained) of one training run with `optimizer`."""
    training.FlatAdamW = OPTIMIZERS[optimizer]
    model = net.LiquidNet(build())
    start = time.perf_counter()
    history, _ = fit(model, cfg, train, val, span, teacher_train=teacher_train,
                     log=lambda _: None)
    return model, (time.perf_counter() - start) / len(history), len(history)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--protocol", default="cells")
    ap.add_argument("--models", nargs="*", default=["h64", "h8-tiny"])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--teacher-seeds", type=int, default=1)
    args = ap.parse_args()
    config = load_config(ROOT / "config.yaml")
    recipe = {**config["training"], **config["protocols"][args.protocol].get("training", {})}
    splits, scaler, train, val, archs, dims = windows(config, args.protocol, ROOT)
    s = config["students"]
    seed = config["seed"]

    print(f"first torch.optim optimizer of a process (imports torch._dynamo): "
          f"{dynamo_import_seconds():.1f} s")
    print(f"protocol {args.protocol}: {len(train[0])} training windows, batch "
          f"{recipe['batch_size']}, lr {recipe['lr']}, patience {recipe['patience']}, 1 thread")
    print(f"{'model':>10s} {'optimizer':>9s} {'s/epoch':>22s} {'epochs':>14s} "
          f"{'val MAE mean +- sd':>22s}")
    maes = {}
    for optimizer in OPTIMIZERS:
        teachers, secs, epochs, errors = [], [], [], []
        for k in range(args.teacher_seeds):
            set_determinism(seed + k, 1)
            model, sec, n = run(optimizer, train_config(recipe, seed + k),
                                lambda: net.teacher_from_config(config["teacher"], *dims),
                                train, val, scaler.span)
            teachers.append(model)
            secs.append(sec)
            epochs.append(n)
            errors.append(val_mae(model, scaler, splits["val"]))
        maes[("teacher", optimizer)] = errors
        print(f"{'teacher':>10s} {optimizer:>9s} {' '.join(f'{x:.3f}' for x in secs):>22s} "
              f"{' '.join(map(str, epochs)):>14s} {spread(errors)} "
              f"({' '.join(f'{x:.5f}' for x in errors)})")
        teacher_train = predict_scaled(teachers[0], train[0]).astype(np.float32)
        for name in args.models:
            secs, epochs, errors = [], [], []
            for k in range(args.seeds):
                set_determinism(seed + k, 1)
                model, sec, n = run(optimizer,
                                    train_config(recipe, seed + k, distill=student_settings(s)[1]),
                                    lambda: net.student_from_config(archs[name], s, *dims),
                                    train, val, scaler.span, teacher_train)
                secs.append(sec)
                epochs.append(n)
                errors.append(val_mae(model, scaler, splits["val"]))
            maes[(name, optimizer)] = errors
            print(f"{name:>10s} {optimizer:>9s} {' '.join(f'{x:.3f}' for x in secs):>22s} "
                  f"{' '.join(map(str, epochs)):>14s} {spread(errors)}")
    print_changes(maes, ["teacher", *args.models], "torch", "flat",
                  "flat against torch")


if __name__ == "__main__":
    main()
