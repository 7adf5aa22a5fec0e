"""Early stopping on validation: what a `patience` saves and what it costs, on real data.

    python benchmarks/early_stopping.py [--protocol cells] [--models teacher h8 h4-tiny]
                                        [--patience 20 30 40 50 60]
    python benchmarks/early_stopping.py --histories 'results/paper/**/train_log.csv'

Trains each model once in-process with every epoch of config.yaml's training section (the
paper's recipe, no patience), with the workflow's seed and distillation from a teacher trained
first. An early-stopped run is that run cut short (training.fit keeps the schedule of `epochs`),
so for each patience the epoch it stops at and the checkpoint it keeps follow exactly from the
full run's history, without training again. Prints, per model, the full run beside each
patience: epochs trained, seconds, best epoch, validation MAE and its change. `--histories`
reads the train_log.csv files of a finished run instead (those a patience already cut short are
listed and left out). Validation only: no test window is read. Seconds depend on the machine.
"""

import dlnet  # noqa: F401  first: pins the numerical kernels before NumPy loads (dlnet/numerics.py)
import argparse
import glob
from pathlib import Path

import numpy as np
import pandas as pd

from dlnet.config import load as load_config, student_settings
from dlnet.training import stops

ROOT = Path(__file__).resolve().parents[1]


def cut_short(history, patience):
    """(epochs trained, seconds, best epoch, val MAE kept) of the run stopped at `patience`."""
    best, best_epoch = np.inf, 0
    for i, row in enumerate(history.itertuples(), start=1):
        if row.val_loss < best:
            best, best_epoch = row.val_loss, i
        if stops(i, best_epoch, patience):
            break
    return i, float(history["seconds"][:i].sum()), best_epoch, \
        float(history["val_mae"].iloc[best_epoch - 1])


def train_histories(config, protocol, names):
    from dlnet import model as net
    from dlnet.names import student_architectures
    from dlnet.run.train_common import scaled, train_config
    from dlnet.standalone import build_protocol
    from dlnet.training import fit, predict_scaled, set_determinism

    splits, scaler, _ = build_protocol(config, protocol, ROOT)
    train, val = scaled(splits["train"], scaler), scaled(splits["val"], scaler)
    training = {**config["training"], "patience": None}
    s = config["students"]
    archs = student_architectures(s["families"])
    set_determinism(config["seed"], 1)
    dims = (splits["train"].x.shape[1], splits["train"].y.shape[1], splits["train"].s.shape[1])
    teacher = net.LiquidNet(net.teacher_from_config(config["teacher"], *dims))
    histories = {"teacher": fit(teacher, train_config(training, config["seed"]), train, val,
                                scaler.span, log=lambda _: None)[0]}
    teacher_train = predict_scaled(teacher, train[0]).astype(np.float32)
    for name in names:
        if name == "teacher":
            continue
        set_determinism(config["seed"], 1)
        model = net.LiquidNet(net.student_from_config(archs[name], s, *dims))
        histories[name] = fit(model, train_config(training, config["seed"],
                                                  distill=student_settings(s)[1]), train,
                              val, scaler.span, teacher_train=teacher_train,
                              log=lambda _: None)[0]
    return {name: pd.DataFrame(h) for name, h in histories.items() if name in names}


def read_histories(pattern, epochs):
    histories, cut = {}, []
    for path in sorted(glob.glob(pattern, recursive=True)):
        h = pd.read_csv(path)
        if len(h) >= epochs:
            histories[path] = h
        else:
            cut.append(path)
    return histories, cut


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--protocol", default="cells")
    ap.add_argument("--models", nargs="+", default=["teacher", "h8", "h4-tiny"])
    ap.add_argument("--patience", nargs="+", type=int, default=[20, 30, 40, 50, 60])
    ap.add_argument("--histories", help="glob of train_log.csv files of a finished run")
    args = ap.parse_args()
    config = load_config(ROOT / "config.yaml")
    epochs = config["training"]["epochs"]
    if args.histories:
        histories, cut = read_histories(args.histories, epochs)
        for path in cut:
            print(f"left out (stopped before epoch {epochs}): {path}")
        if not histories:
            raise SystemExit(f"no full-length history matches {args.histories}: run the "
                             "workflow with patience null, or train here (without --histories)")
    else:
        histories = train_histories(config, args.protocol, args.models)
        print(f"protocol {args.protocol}, {epochs} epochs, batch {config['training']['batch_size']}, "
              f"seed {config['seed']}, 1 thread")
    print(f"{'model':>24s} {'patience':>8s} {'epochs':>6s} {'seconds':>8s} {'best':>5s} "
          f"{'val MAE':>8s} {'change':>7s}")
    totals = {p: [0, 0, []] for p in [None, *args.patience]}
    for name, h in histories.items():
        full = cut_short(h, None)
        for p in [None, *args.patience]:
            n, seconds, best, mae = cut_short(h, p)
            change = mae / full[3] - 1
            totals[p][0] += n
            totals[p][1] += seconds
            totals[p][2].append(change)
            print(f"{name[-24:]:>24s} {p or 'none':>8} {n:6d} {seconds:8.1f} {best:5d} "
                  f"{mae:8.5f} {100 * change:+6.2f}%")
    print(f"all {len(histories)} models:")
    for p, (n, seconds, changes) in totals.items():
        print(f"  patience {p or 'none':>4}: {n / totals[None][0]:5.2f} of the epochs, "
              f"{seconds:7.1f} s; val MAE change mean {100 * np.mean(changes):+.2f}%, "
              f"worst {100 * np.max(changes):+.2f}%")


if __name__ == "__main__":
    main()
