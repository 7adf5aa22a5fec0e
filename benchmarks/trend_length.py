"""Why the core's parabola reads its SOH inputs in Q7.24, and what each fit length buys a protocol
with quadratic scaling.

    python benchmarks/trend_length.py [--protocol paper_residual] [--lengths 30 10 5 3]
                                      [--models h4-tiny h8-tiny h16-tiny] [--seeds 3]
                                      [--bits 14 18 20 22 24]

A parabola through the last few values of a smoothed series, extrapolated 100 steps, multiplies
the rounding of its inputs by up to ~2e4 (k = 3). Through Q1.14 inputs (6.1e-5 SOH) only long
fits survive, so the core's trend reads the Q7.24 input (dlnet/quant/fixedpoint.py) and
`trend_len: validation` chooses among short fits too. This prints two tables:

1. the quadratic baseline's MAE per fit length with its inputs rounded to 2^-bits SOH (and
   unrounded), and the length validation chooses as the core computes it (Q7.24);
2. per fit length, the teacher (the configured seed) and each student (`--seeds` seeds, each
   distilled from that teacher) trained with the protocol's recipe in float, their MAE on every
   split: what the networks learn on top of each parabola.

Validation chooses; the held-out and segment columns are printed, never used.
"""

import dlnet  # noqa: F401  first: pins the numerical kernels before NumPy loads (dlnet/numerics.py)
import argparse
import copy
import time
from pathlib import Path

import numpy as np

from dlnet import model as net
from dlnet.baselines import best_fit_length, int8_forecast
from dlnet.config import load as load_config, student_settings
from dlnet.run.train_common import train_config
from dlnet.scaling import trend_matrix
from dlnet.training import fit, predict, predict_scaled, set_determinism
from seed_change import windows   # benchmarks/seed_change.py

ROOT = Path(__file__).resolve().parents[1]


def baseline_table(splits, lengths, bits):
    print("quadratic baseline, MAE with inputs rounded to 2^-bits SOH (exact: unrounded)")
    grids = [*bits, None]
    print(f"{'split':>9s} {'k':>4s} " + " ".join(f"{'exact' if b is None else b:>8}" for b in grids))
    for name, split in splits.items():
        for k in lengths:
            p = trend_matrix(k, split.y.shape[1])
            row = []
            for b in grids:
                x = split.x if b is None else np.floor(split.x * 2.0 ** b + 0.5) / 2.0 ** b
                row.append(np.abs(x[:, -k:] @ p.T - split.y).mean())
            print(f"{name:>9s} {k:4d} " + " ".join(f"{e:8.5f}" for e in row))


def mae(model, scaler, split):
    return float(np.mean(np.abs(predict(model, scaler, split.inputs) - split.y)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--protocol", default="paper_residual")
    ap.add_argument("--lengths", nargs="*", type=int, default=[30, 10, 5, 3])
    ap.add_argument("--models", nargs="*", default=["h4-tiny", "h8-tiny", "h16-tiny"])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--bits", nargs="*", type=int, default=[14, 18, 20, 22, 24])
    args = ap.parse_args()
    config = load_config(ROOT / "config.yaml")
    pcfg = config["protocols"][args.protocol]
    if pcfg["scaling"] != "quadratic":
        ap.error(f"protocol {args.protocol} has {pcfg['scaling']} scaling: no parabola to fit")
    recipe = {**config["training"], **pcfg.get("training", {})}
    shape, distillation = student_settings(config["students"])
    seed = config["seed"]
    held = None
    for k in args.lengths:
        cfg = copy.deepcopy(config)
        cfg["protocols"][args.protocol]["trend_len"] = k
        splits, scaler, train, val, archs, dims = windows(cfg, args.protocol, ROOT)
        if held is None:
            held = [s for s in splits if s not in ("train",)]
            baseline_table({s: splits[s] for s in held}, args.lengths, args.bits)
            usable = [n for n in config["baselines"]["fit_lengths"] if 3 <= n <= pcfg["input_len"]]
            chosen = best_fit_length(splits["val"], usable, 2, pcfg["output_len"], int8_forecast)[0]
            print(f"trend_len: validation chooses {chosen} of {usable} (Q7.24 inputs)")
            print(f"\nnetworks in float, {len(train[0])} training windows, batch "
                  f"{recipe['batch_size']}, lr {recipe['lr']}, 1 thread; MAE per split")
            print(f"{'k':>4s} {'model':>10s} {'seed':>5s} {'seconds':>8s} "
                  + " ".join(f"{s:>9s}" for s in held))
        set_determinism(seed, 1)
        teacher = net.LiquidNet(net.teacher_from_config(config["teacher"], *dims))
        start = time.perf_counter()
        fit(teacher, train_config(recipe, seed), train, val, scaler.span, log=lambda _: None)
        print(f"{k:4d} {'teacher':>10s} {seed:5d} {time.perf_counter() - start:8.0f} "
              + " ".join(f"{mae(teacher, scaler, splits[s]):9.5f}" for s in held))
        targets = predict_scaled(teacher, train[0]).astype(np.float32)
        for name in args.models:
            for s in range(seed, seed + args.seeds):
                set_determinism(s, 1)
                model = net.LiquidNet(net.student_from_config(archs[name], shape, *dims))
                start = time.perf_counter()
                fit(model, train_config(recipe, s, distill=distillation), train, val,
                    scaler.span, teacher_train=targets, log=lambda _: None)
                print(f"{k:4d} {name:>10s} {s:5d} {time.perf_counter() - start:8.0f} "
                      + " ".join(f"{mae(model, scaler, splits[x]):9.5f}" for x in held))


if __name__ == "__main__":
    main()
