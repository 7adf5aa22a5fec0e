"""A finalist's extra seeds trained one after another or together, stacked: seconds and
validation MAE, on real data.

    python benchmarks/stacked_seeds.py [--protocol cells] [--models h16-tiny h4-tiny]
                                       [--seeds 43 44] [--teacher results/cells/teacher/model.pt]

Trains in-process with the seed jobs' recipe (config.yaml `training` with the protocol's
changes): each student distilled from one teacher (`--teacher`: a run's checkpoint; otherwise
one is trained first, with the workflow's seed), once per seed with training.fit and once with
all seeds in one training.fit_members. A student's initial weights are drawn right after its
seed is set (the workflow's follow the draws of loading the teacher), so these runs are other
draws than the workflow's seeds. Prints, per model, the seconds of each way and their ratio,
and each seed's epochs and validation MAE both ways: a stacked seed is the run its seed makes
alone up to float rounding, which a long run can amplify as another machine's rounding would.
Validation only: no test window is read. Seconds depend on the machine and on what else runs on
it.
"""

import dlnet  # noqa: F401  first: pins the numerical kernels before NumPy loads (dlnet/numerics.py)
import argparse
import time
from pathlib import Path

import numpy as np
import torch

from dlnet import model as net
from dlnet.config import load as load_config, student_settings
from dlnet.run.train_common import train_config
from dlnet.seeds import run_seeds
from dlnet.training import fit, fit_members, predict_scaled, set_determinism
from seed_change import val_mae, windows   # benchmarks/seed_change.py

ROOT = Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--protocol", default="cells")
    ap.add_argument("--models", nargs="+", default=["h16-tiny", "h4-tiny"])
    ap.add_argument("--seeds", nargs="+", type=int,
                    help="the seeds (default: the extra seeds of the selection, pareto.seeds)")
    ap.add_argument("--teacher", help="a teacher checkpoint of this protocol's run")
    args = ap.parse_args()
    config = load_config(ROOT / "config.yaml")
    seeds = args.seeds or run_seeds(config["seed"], config["pareto"]["seeds"])[1:]
    if len(seeds) < 2:
        raise SystemExit(f"--seeds {seeds}: stacking needs at least two seeds")
    if args.teacher and not Path(args.teacher).exists():
        raise SystemExit(f"--teacher {args.teacher}: no such file (run the workflow's teacher "
                         "rule, or leave --teacher out to train one)")
    training = {**config["training"], **config["protocols"][args.protocol].get("training", {})}
    splits, scaler, train, val, archs, dims = windows(config, args.protocol, ROOT)
    s = config["students"]
    set_determinism(config["seed"], 1)
    if args.teacher:
        teacher, _, _ = net.load(args.teacher)
    else:
        teacher = net.LiquidNet(net.teacher_from_config(config["teacher"], *dims))
        fit(teacher, train_config(training, config["seed"]), train, val, scaler.span,
            log=lambda _: None)
    teacher_train = predict_scaled(teacher, train[0]).astype(np.float32)
    distill = student_settings(s)[1]
    print(f"protocol {args.protocol}: {len(train[0])} training windows, 1 thread, batch "
          f"{training['batch_size']}, patience {training['patience']}, seeds {seeds}; "
          f"teacher val MAE {val_mae(teacher, scaler, splits['val']):.5f}")
    print(f"{'model':>10s} {'how':>8s} {'seconds':>8s} {'epochs':>16s} {'val MAE per seed':>30s}")

    def built(name):
        models = []
        for seed in seeds:
            torch.manual_seed(seed)
            models.append(net.LiquidNet(net.student_from_config(archs[name], s, *dims)))
        return models

    for name in args.models:
        rows = {}
        models = built(name)
        start = time.perf_counter()
        runs = [fit(m, train_config(training, seed, distill=distill), train, val, scaler.span,
                    teacher_train, log=lambda _: None)
                for m, seed in zip(models, seeds)]
        rows["alone"] = (time.perf_counter() - start, runs, models)
        models = built(name)
        start = time.perf_counter()
        runs = fit_members(models, train_config(training, seeds[0], distill=distill), seeds,
                           train, val, scaler.span, teacher_train,
                           logs=[lambda _: None] * len(seeds))
        rows["stacked"] = (time.perf_counter() - start, runs, models)
        for how, (seconds, runs, models) in rows.items():
            epochs = " ".join(str(len(h)) for h, _ in runs)
            maes = " ".join(f"{val_mae(m, scaler, splits['val']):.5f}" for m in models)
            print(f"{name:>10s} {how:>8s} {seconds:8.1f} {epochs:>16s} {maes:>30s}")
        print(f"{name:>10s} stacked / alone seconds: {rows['stacked'][0] / rows['alone'][0]:.2f}")


if __name__ == "__main__":
    main()
