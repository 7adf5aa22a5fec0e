"""What the TFLite export's weight rounding and activation width cost, on a finished run.

For every finalist run of a protocol (pareto/seeds.csv: every seed of every finalist), exports
the model as `export_tflite` does, with each variant given, and prints its validation MAE in
TFLite Micro against the float model's on the same int8 input grid (what the check_tflite gate
compares). Validation only.

    python benchmarks/tflite_rounding.py [--results results] [--protocol paper]
        [--variants int16/gptq int16/nearest int8/gptq]
"""

import dlnet  # noqa: F401  first: pins the numerical kernels before NumPy loads (dlnet/numerics.py)
import argparse
import tempfile
from pathlib import Path

import pandas as pd
import torch
import yaml

from dlnet import deployable, protocols
from dlnet.export.micro import Micro, arena_size
from dlnet.export.tflite import convert
from dlnet.quant import calibrate
from dlnet.run.check_tflite import gate_record
from dlnet.training import set_determinism


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default="results")
    ap.add_argument("--protocol", default="paper")
    ap.add_argument("--config", default="config.yaml")
    ap.add_argument("--variants", nargs="+", default=["int16/gptq", "int16/nearest"])
    args = ap.parse_args()
    set_determinism(0, 1)
    d = Path(args.results) / args.protocol
    splits, scaler = protocols.load_with_scaler(d / "data/dataset.npz", d / "data/dataset.json")
    windows = yaml.safe_load(Path(args.config).read_text())["deploy"]["calibration_windows"]
    calibration = torch.as_tensor(calibrate.sample(scaler.transform(splits["train"].inputs), windows),
                                  dtype=torch.float32)
    val = splits["val"]
    runs = pd.read_csv(d / "pareto/seeds.csv")
    print(f"{args.protocol}: {len(runs)} finalist runs; validation MAE change in TFLite Micro "
          "against float on the int8 input grid")
    print(f"{'model':>16s} {'seed':>5s}" + "".join(f"{v:>15s}" for v in args.variants))
    changes = {v: [] for v in args.variants}
    for _, r in runs.iterrows():
        model = deployable.Liquid(r["model"]).model
        row = f"{r['name']:>16s} {r['seed']:5d}"
        for variant in args.variants:
            activations, rounding = variant.split("/")
            data = convert(model, calibration, activations, rounding)
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "model.tflite"
                path.write_bytes(data)
                micro = Micro(data, arena_size(path)[0])
            changes[variant].append(gate_record(model, scaler, micro, val)["quantization"])
            row += f"{changes[variant][-1]:+15.2%}"
        print(row)
    for variant, c in changes.items():
        c = pd.Series(c)
        print(f"{variant}: {c.min():+.2%} to {c.max():+.2%}, {(c > 0.05).sum()} of {len(c)} above +5%")


if __name__ == "__main__":
    main()
