"""A protocol's own training recipe against the paper's: seconds and validation MAE, on real data.

    python benchmarks/batch_size.py [--protocol cells] [--models h8-tiny h4-tiny] [--seeds 3]
                                    [--batch 128 --lr 0.004]

Trains in-process, as the workflow does, once with config.yaml's `training` section (the
paper's recipe: batch 32, lr 0.001) and once with the protocol's changes to it
(`protocols.<name>.training`, e.g. batch 128, lr 0.004; `--batch` and `--lr` replace them, to
try a recipe on a protocol that has none): per recipe a teacher with the
workflow's seed, then each student distilled from that teacher with `--seeds` seeds (seed,
seed + 1, ...). Early stopping (`patience`) is the protocol's in both, so that only the batch
and the learning rate differ. Prints, per model and recipe, the seconds and epochs of each run
and the validation MAE over the seeds (mean and sd), then the change of the mean with its
standard error: a change within about two standard errors is within the seed noise. Validation
only: no test window is read. Seconds depend on the machine and on what else runs on it.
"""

import dlnet  # noqa: F401  first: pins the numerical kernels before NumPy loads (dlnet/numerics.py)
import argparse
import time
from pathlib import Path

import numpy as np

from dlnet import model as net
from dlnet.config import load as load_config, student_settings
from dlnet.run.train_common import train_config
from dlnet.training import fit, predict_scaled, set_determinism
from seed_change import print_changes, spread, val_mae, windows   # benchmarks/seed_change.py

ROOT = Path(__file__).resolve().parents[1]


def run(cfg, build, train, val, span, teacher_train=None):
    """(model, seconds, epochs trained) of one training run."""
    model = net.LiquidNet(build())
    start = time.perf_counter()
    history, _ = fit(model, cfg, train, val, span, teacher_train=teacher_train,
                     log=lambda _: None)
    return model, time.perf_counter() - start, len(history)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--protocol", default="cells")
    ap.add_argument("--models", nargs="+", default=["h8-tiny", "h4-tiny"])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--batch", type=int, help="the batch to try (default: the protocol's)")
    ap.add_argument("--lr", type=float, help="the learning rate to try (default: the protocol's)")
    args = ap.parse_args()
    config = load_config(ROOT / "config.yaml")
    own = dict(config["protocols"][args.protocol]["training"])
    own.update({k: v for k, v in (("batch_size", args.batch), ("lr", args.lr)) if v is not None})
    recipes = {"paper": {**config["training"], "patience": own.get("patience")},
               "protocol": {**config["training"], **own}}
    if recipes["paper"] == recipes["protocol"]:
        raise SystemExit(f"protocol {args.protocol} trains with the paper's batch and learning "
                         "rate: nothing to compare")
    splits, scaler, train, val, archs, dims = windows(config, args.protocol, ROOT)
    s = config["students"]
    seed = config["seed"]
    print(f"protocol {args.protocol}: {len(train[0])} training windows, 1 thread, "
          f"patience {own.get('patience')}, {args.seeds} seeds per student")
    print(f"{'model':>10s} {'recipe':>8s} {'batch':>5s} {'lr':>7s} {'seconds':>20s} "
          f"{'epochs':>14s} {'val MAE mean +- sd':>22s}")
    maes = {}
    for label, training in recipes.items():
        set_determinism(seed, 1)
        teacher, sec, n = run(train_config(training, seed),
                              lambda: net.teacher_from_config(config["teacher"], *dims),
                              train, val, scaler.span)
        mae = val_mae(teacher, scaler, splits["val"])
        maes[("teacher", label)] = [mae]
        print(f"{'teacher':>10s} {label:>8s} {training['batch_size']:5d} {training['lr']:7.4f} "
              f"{sec:20.0f} {n:14d} {mae:13.5f} (1 seed)")
        teacher_train = predict_scaled(teacher, train[0]).astype(np.float32)
        for name in args.models:
            secs, epochs, errors = [], [], []
            for k in range(args.seeds):
                set_determinism(seed + k, 1)
                model, sec, n = run(train_config(training, seed + k, distill=student_settings(s)[1]),
                                    lambda: net.student_from_config(archs[name], s, *dims),
                                    train, val, scaler.span, teacher_train)
                secs.append(sec)
                epochs.append(n)
                errors.append(val_mae(model, scaler, splits["val"]))
            maes[(name, label)] = errors
            print(f"{name:>10s} {label:>8s} {training['batch_size']:5d} {training['lr']:7.4f} "
                  f"{' '.join(f'{x:.0f}' for x in secs):>20s} "
                  f"{' '.join(map(str, epochs)):>14s} {spread(errors)}")
    print_changes(maes, ["teacher", *args.models], "paper", "protocol",
                  "protocol's recipe against the paper's")


if __name__ == "__main__":
    main()
