"""How often the failed-run rule of dlnet/seeds.py flags a clean selection, and how often it
finds a failed run: simulated finalists' runs, no data.

    python benchmarks/failed_runs.py [--noise 0.04] [--draws 300] [--z 4 5 6]

Each draw is 6 finalists x 3 seeds whose validation MAE varies by `noise` per run (normal,
relative). Printed per z: the share of clean draws where some run is flagged, and the share of
draws where a planted failure is found: one run 38% worse, one run 80% worse, two runs of one
finalist 80% worse (a residual network collapsed to its parabola scores about that).
"""

import dlnet  # noqa: F401  first: pins the numerical kernels before NumPy loads (dlnet/numerics.py)
import argparse

import numpy as np
import pandas as pd

from dlnet.seeds import failed_runs

NAMES = [f"m{i}" for i in range(6)]


def draw(rng, noise):
    return pd.DataFrame([{"name": n, "seed": s, "val_mae": 1e-3 * (1 + noise * rng.standard_normal())}
                         for n in NAMES for s in (42, 43, 44)])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--noise", type=float, default=0.04)
    ap.add_argument("--draws", type=int, default=300)
    ap.add_argument("--z", type=float, nargs="+", default=[4.0, 5.0, 6.0])
    args = ap.parse_args()
    planted = {"one run +38%": ([4], 1.38), "one run +80%": ([4], 1.8),
               "two runs of three +80%": ([3, 4], 1.8)}
    for z in args.z:
        rng = np.random.default_rng(1)
        clean = np.mean([bool(failed_runs(draw(rng, args.noise), z)) for _ in range(args.draws)])
        found = {}
        for label, (rows, factor) in planted.items():
            hits = 0
            for _ in range(args.draws):
                t = draw(rng, args.noise)
                t.loc[rows, "val_mae"] *= factor
                hits += set(rows) <= set(failed_runs(t, z))
            found[label] = hits / args.draws
        print(f"z {z:g}, noise {args.noise:.0%}: a clean selection flagged in {clean:.1%}; found "
              + ", ".join(f"{k} {v:.0%}" for k, v in found.items()))


if __name__ == "__main__":
    main()
