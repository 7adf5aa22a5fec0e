"""Do the signals a battery management system already has help the liquid network?

    python benchmarks/bms_signals.py [--protocol cells] [--models h8-tiny] [--seeds 42 43 44]
                                     [--groups soh cycle ir temperature charge cycle_ir all]

An exploration on validation cells only, of signals beyond those of dlnet/signals.py (whose own
ablation the workflow runs: rule signals_ablation, in every summary.md).
Each window gets, from the cycles inside its input window only (causal), the signals of a group:
  cycle        the cycle number of the window's last value (every cell has it)
  ir           median internal resistance of the last 10 cycles, and its change from the
               median of the first 10
  temperature  mean cell temperature (Tavg) over the window
  charge       median charge time of the last 10 cycles
(cycle_ir: cycle and ir together; all: every signal above.)
In the shipped severson2019 summary, IR, temperature and charge time exist for 47 of the 124
cells, none of them a secondary test cell (data/README.md), and the DLNet paper's series
(`paper`, `paper_residual`) have the cycle only; zero and empty values count as
missing, and a window without any value takes the training windows' median (printed: how many
windows, per split). The signals are standardized on the training windows and appended to the
scaled SOH window as inputs of the encoder's first layer (the cell's drive u then averages them
in with the SOH values: close to, not exactly, the workflow's LiquidNet). Each model trains
as the workflow's students do (config.yaml's training settings and the protocol's patience) but
without distillation, once per seed and group; printed: the mean and spread of validation MAE
per group, and its change against the SOH window alone. No test window is read.
"""

import dlnet  # noqa: F401  first: pins the numerical kernels before NumPy loads (dlnet/numerics.py)
import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from dlnet import model as net
from dlnet.config import load as load_config
from dlnet.names import student_architectures
from dlnet.run.train_common import scaled, train_config
from dlnet.standalone import build_protocol
from dlnet.training import fit, predict_scaled, set_determinism

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ["cycle", "ir_level", "ir_change", "temperature", "charge"]
GROUPS = {"soh": [], "cycle": ["cycle"], "ir": ["ir_level", "ir_change"],
          "temperature": ["temperature"], "charge": ["charge"],
          "cycle_ir": ["cycle", "ir_level", "ir_change"], "all": COLUMNS}


def signals(windows, series, summary, input_len):
    """One row of COLUMNS per window, NaN where the summary (None: none) has no valid value."""
    cycles = {c: g.sort_values("index")["cycle"].to_numpy() for c, g in series.groupby("cell_id")}
    rows = []
    for cell, start in zip(windows.cell, windows.start):
        cyc = cycles[cell][start:start + input_len]
        if summary is None:
            rows.append([cyc[-1]] + [np.nan] * (len(COLUMNS) - 1))
            continue
        s = summary.reindex(pd.MultiIndex.from_arrays([[cell] * len(cyc), cyc]))
        ir, temp, charge = (s[k].to_numpy(float) for k in ("IR", "Tavg", "chargetime"))
        with np.errstate(invalid="ignore"):
            ir, temp, charge = (np.where(v > 0, v, np.nan) for v in (ir, temp, charge))
        rows.append([cyc[-1], _median(ir[-10:]), _median(ir[-10:]) - _median(ir[:10]),
                     _mean(temp), _median(charge[-10:])])
    return np.array(rows, float)


def _median(v):
    return np.median(v[np.isfinite(v)]) if np.isfinite(v).any() else np.nan


def _mean(v):
    return v[np.isfinite(v)].mean() if np.isfinite(v).any() else np.nan


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--protocol", default="cells")
    ap.add_argument("--models", nargs="*", default=["h8-tiny"])
    ap.add_argument("--seeds", nargs="*", type=int, default=[42, 43, 44])
    ap.add_argument("--groups", nargs="*", default=list(GROUPS), choices=list(GROUPS))
    args = ap.parse_args()
    config = load_config(ROOT / "config.yaml")
    pcfg = config["protocols"][args.protocol]
    pcfg["signals"] = []             # the window alone; each group below adds its own
    dataset = config["datasets"][pcfg["dataset"]]
    summary = None
    if dataset["adapter"] == "severson2019":
        summary = pd.read_csv(ROOT / dataset["summary"], low_memory=False)
        summary = summary.set_index(["cell_id", "cycle"])[["IR", "Tavg", "chargetime"]]
    elif set(args.groups) - {"soh", "cycle"}:
        raise SystemExit(f"{args.protocol} reads {dataset['adapter']}, which has the cycle only: "
                         "use --groups soh cycle")
    splits, scaler, series = build_protocol(config, args.protocol, ROOT)
    n_in = pcfg["input_len"]
    raw = {s: signals(splits[s], series, summary, n_in) for s in ("train", "val")}
    for s, v in raw.items():
        missing = np.isnan(v).any(axis=1) if summary is not None else np.zeros(len(v), bool)
        print(f"{s}: {len(v)} windows of {len(set(splits[s].cell))} cells, {missing.sum()} "
              f"without IR, temperature or charge time (given the training median)")
    known = np.isfinite(raw["train"])
    fill = np.array([np.median(raw["train"][known[:, j], j]) if known[:, j].any() else 0.0
                     for j in range(len(COLUMNS))])
    filled = {s: np.where(np.isnan(v), fill, v) for s, v in raw.items()}
    mu, sd = filled["train"].mean(axis=0), filled["train"].std(axis=0)
    z = {s: ((v - mu) / np.where(sd > 0, sd, 1.0)).astype(np.float32) for s, v in filled.items()}
    train, val = scaled(splits["train"], scaler), scaled(splits["val"], scaler)
    students = config["students"]
    arches = student_architectures(students["families"])
    training = {**config["training"], **pcfg["training"]}
    for name in args.models:
        print(f"\n{name}, {len(args.seeds)} seeds, validation MAE (SOH units)")
        alone = None
        for group in args.groups:
            cols = [COLUMNS.index(c) for c in GROUPS[group]]
            maes = []
            for seed in args.seeds:
                set_determinism(seed, 1)
                cfg = net.student_from_config(arches[name], students, input_len=n_in + len(cols),
                                              output_len=pcfg["output_len"])
                model = net.LiquidNet(cfg)
                tr = (np.c_[train[0], z["train"][:, cols]], train[1])
                va = (np.c_[val[0], z["val"][:, cols]], val[1])
                fit(model, train_config(training, seed), tr, va, scaler.span, log=lambda _: None)
                forecast = scaler.inverse(splits["val"].x, predict_scaled(model, va[0]))
                maes.append(float(np.abs(forecast - splits["val"].y).mean()))
            mean = float(np.mean(maes))
            alone = mean if group == "soh" else alone
            change = f"{mean / alone - 1:+.1%} vs soh" if alone and group != "soh" else ""
            print(f"  {group:>11s}  {mean:.6f} +- {np.std(maes):.6f}  {change}", flush=True)


if __name__ == "__main__":
    main()
