"""What the first stage's distillation, and the teacher's draw, do to a student's validation MAE.

    python benchmarks/distillation.py [--protocol cells] [--models h4-tiny h16-tiny]
                                      [--seeds 3] [--teacher-seeds 2]

Every candidate of a run distils from one teacher, so the teacher's seed is a draw that all of
them share and that the finalists' seeds (pareto.seeds) do not see. This trains, with the
protocol's recipe, `--teacher-seeds` teachers (seed, seed + 1, ...), then each student with
`--seeds` seeds three ways or more: on the targets alone (no teacher), and distilled from each
teacher. A student's seed fixes its initial weights, its batches and its dropout, so the setups
differ in the loss alone and their differences are paired by seed. Prints per model and setup
the validation MAE over the seeds (mean and sd), then the change of the mean from no teacher to
the first teacher (what distillation buys) and from the first teacher to each other one (what
the teacher's draw moves), each with its standard error, unpaired and paired: a change within
about two standard errors is within the seed noise. Validation only: no test window is read.
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--protocol", default="cells")
    ap.add_argument("--models", nargs="*", default=["h4-tiny", "h16-tiny"])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--teacher-seeds", type=int, default=2)
    args = ap.parse_args()
    if args.teacher_seeds < 1:
        ap.error("--teacher-seeds must be at least 1: the comparison distils from a teacher")
    config = load_config(ROOT / "config.yaml")
    recipe = {**config["training"], **config["protocols"][args.protocol].get("training", {})}
    splits, scaler, train, val, archs, dims = windows(config, args.protocol, ROOT)
    shape, distillation = student_settings(config["students"])
    seed = config["seed"]

    print(f"protocol {args.protocol}: {len(train[0])} training windows, batch "
          f"{recipe['batch_size']}, lr {recipe['lr']}, patience {recipe['patience']}, "
          f"distillation {distillation}, 1 thread")
    print(f"{'model':>10s} {'setup':>12s} {'seconds':>8s} {'val MAE mean +- sd':>22s}  per seed")
    maes, targets = {}, {"no teacher": None}
    for k in range(args.teacher_seeds):
        set_determinism(seed + k, 1)
        teacher = net.LiquidNet(net.teacher_from_config(config["teacher"], *dims))
        start = time.perf_counter()
        fit(teacher, train_config(recipe, seed + k), train, val, scaler.span, log=lambda _: None)
        setup = f"teacher {seed + k}"
        maes[("teacher", setup)] = [val_mae(teacher, scaler, splits["val"])]
        print(f"{'teacher':>10s} {setup:>12s} {time.perf_counter() - start:8.0f} "
              f"{spread(maes[('teacher', setup)])}")
        targets[setup] = predict_scaled(teacher, train[0]).astype(np.float32)
    for name in args.models:
        for setup, teacher_train in targets.items():
            errors, start = [], time.perf_counter()
            for s in range(seed, seed + args.seeds):
                set_determinism(s, 1)
                model = net.LiquidNet(net.student_from_config(archs[name], shape, *dims))
                fit(model, train_config(recipe, s, distill=distillation), train, val,
                    scaler.span, teacher_train=teacher_train, log=lambda _: None)
                errors.append(val_mae(model, scaler, splits["val"]))
            maes[(name, setup)] = errors
            print(f"{name:>10s} {setup:>12s} {time.perf_counter() - start:8.0f} {spread(errors)}  "
                  f"{' '.join(f'{e:.5f}' for e in errors)}")
    teachers = [t for t in targets if t != "no teacher"]
    print_changes(maes, args.models, "no teacher", teachers[0], f"distilled from {teachers[0]}")
    for other in teachers[1:]:
        print_changes(maes, args.models, teachers[0], other,
                      f"distilled from {other} instead of {teachers[0]}")


if __name__ == "__main__":
    main()
