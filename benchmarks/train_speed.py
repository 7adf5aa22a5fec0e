"""Per-epoch training time of the teacher and of every student in config.yaml, on real data.

    python benchmarks/train_speed.py [--protocol cells] [--epochs 3] [--threads 1]

Builds the protocol's windows in-process (no Snakemake), then times `--epochs` epochs of each
model with the training settings of config.yaml and prints one line per model. Numbers depend on
the machine and on what else runs on it; the command is the measurement.
"""

import dlnet  # noqa: F401  first: pins the numerical kernels before NumPy loads (dlnet/numerics.py)
import argparse
import time
from pathlib import Path

import numpy as np

from dlnet.config import load as load_config, student_settings
from dlnet import model as net
from dlnet.names import student_architectures
from dlnet.standalone import build_protocol
from dlnet.run.train_common import scaled, train_config
from dlnet.training import fit, predict_scaled, set_determinism

ROOT = Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--protocol", default="cells")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    config = load_config(ROOT / "config.yaml")
    splits, scaler, _ = build_protocol(config, args.protocol, ROOT)
    train, val = scaled(splits["train"], scaler), scaled(splits["val"], scaler)
    t, s = config["teacher"], config["students"]
    dims = (splits["train"].x.shape[1], splits["train"].y.shape[1], splits["train"].s.shape[1])
    models = {"teacher": net.teacher_from_config(t, *dims)}
    for name, arch in student_architectures(s["families"]).items():
        models[name] = net.student_from_config(arch, s, *dims)
    print(f"protocol {args.protocol}: {len(train[0])} training windows, batch "
          f"{config['training']['batch_size']}, {args.threads} thread(s), {args.epochs} epochs each")
    print(f"{'model':>10s} {'params':>8s} {'s/epoch':>8s} {'x200 epochs':>12s}")
    teacher_out = None
    for name, cfg in models.items():
        set_determinism(config["seed"], args.threads)
        m = net.LiquidNet(cfg)
        distill = None if name == "teacher" else teacher_out
        start = time.perf_counter()
        fit(m, train_config(config["training"], config["seed"], args.epochs,
                            student_settings(s)[1] if distill is not None else None),
            train, val, scaler.span, teacher_train=distill, log=lambda _: None)
        per_epoch = (time.perf_counter() - start) / args.epochs
        if name == "teacher":
            teacher_out = predict_scaled(m, train[0]).astype(np.float32)
        print(f"{name:>10s} {net.n_params(m):8d} {per_epoch:8.3f} {200 * per_epoch:11.0f}s")


if __name__ == "__main__":
    main()
