"""The int8 range guards derived from training windows and validation cells, never test cells.

    python benchmarks/quantization_constants.py --model results/cells/students/h4-tiny/model.pt
                                               [--protocol cells] [--headroom 1.0 1.1 1.25 1.5 2]

The int8 model's activation ranges come from training windows (rule quantize calibrates on
`deploy.calibration_windows` of them). Two constants guard against windows of cells the model
never saw, whose activations may leave those ranges: `deploy.headroom` widens every int8 range
(config.yaml, 1.25) and HEADROOM_16 (dlnet/quant/calibrate.py, 2) puts the training peak of the
int16 Linear outputs at half their range. This measures what they must cover on the protocol's
validation cells, which are unseen cells chosen like the test cells but open to choices: per
activation, the factor by which validation windows reach beyond the training range (a factor
above the guard means clipped values), and the int8 model's validation MAE at each headroom.
No test window is read.
"""

import dlnet  # noqa: F401  first: pins the numerical kernels before NumPy loads (dlnet/numerics.py)
import argparse
from pathlib import Path

import numpy as np

from dlnet import model as net
from dlnet.config import load as load_config
from dlnet.quant import calibrate, floatref, qmodel, reference
from dlnet.standalone import build_protocol

ROOT = Path(__file__).resolve().parents[1]
INT8_POINTS = ("enc_norm", "lat_norm", "h", "pre", "res", "dec_norm", "dec_inner", "low")
INT16_POINTS = ("enc_in", "enc_out", "dec_in")


def reach(train, val):
    """How far val's range reaches beyond train's, as a factor of train's (both contain 0, as
    int8_params widens them): 1 or less means no validation value would clip."""
    (t_lo, t_hi), (v_lo, v_hi) = (calibrate.value_range(train), calibrate.value_range(val))
    factors = [v_hi / t_hi if t_hi > 0 else (np.inf if v_hi > 0 else 0.0),
               v_lo / t_lo if t_lo < 0 else (np.inf if v_lo < 0 else 0.0)]
    return max(factors)


def peak_reach(train, val):
    """The int16 points are symmetric: val's largest magnitude as a factor of train's."""
    return float(np.max(np.abs(val)) / max(np.max(np.abs(train)), 1e-12))


def clipped(train, val, factor, symmetric=False):
    """Share of val's values outside train's range widened by `factor`."""
    lo, hi = calibrate.value_range(train)
    if symmetric:
        lo, hi = -max(-lo, hi), max(-lo, hi)
    v = np.concatenate([np.ravel(a) for a in val]) if isinstance(val, list) else np.ravel(val)
    return float(((v < factor * min(lo, 0.0)) | (v > factor * max(hi, 0.0))).mean())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="a model.pt of the protocol (a LiquidNet)")
    ap.add_argument("--protocol", default="cells")
    ap.add_argument("--headroom", nargs="+", type=float, default=[1.0, 1.1, 1.25, 1.5, 2.0])
    args = ap.parse_args()
    config = load_config(ROOT / "config.yaml")
    deploy = config["deploy"]
    splits, scaler, _ = build_protocol(config, args.protocol, ROOT)
    model, model_scaler, _ = net.load(args.model)
    if model_scaler.to_dict() != scaler.to_dict():
        raise SystemExit(f"{args.model} was trained with another scaling than protocol "
                         f"{args.protocol} in config.yaml: pass a model of this protocol")
    train, val = splits["train"], splits["val"]
    x_cal = calibrate.sample(train.inputs, int(deploy["calibration_windows"]))
    p = floatref.params(model)
    _, t_train = floatref.forward(p, scaler.transform(x_cal))
    _, t_val = floatref.forward(p, scaler.transform(val.inputs))
    print(f"protocol {args.protocol}, model {args.model}: calibration {len(x_cal)} training "
          f"windows, {len(val.x)} validation windows of {len(set(val.cell))} unseen cells")
    print(f"{'activation':>10s} {'bits':>4s} {'val reach':>9s} {'clipped at guard':>16s}")
    for k in INT8_POINTS + INT16_POINTS:
        if not len(t_train.get(k, [])):
            continue                                 # no low-rank projection in a full coupling
        int16 = k in INT16_POINTS
        guard = calibrate.HEADROOM_16 if int16 else deploy["headroom"]
        factor = peak_reach(t_train[k], t_val[k]) if int16 else reach(t_train[k], t_val[k])
        print(f"{k:>10s} {16 if int16 else 8:4d} {factor:9.3f} "
              f"{100 * clipped(t_train[k], t_val[k], guard, int16):15.4f}% (guard {guard:g})")
    float_mae = float(np.abs(scaler.inverse(val.inputs, floatref.forward(p, scaler.transform(val.inputs))[0])
                             - val.y).mean())
    print(f"validation MAE: float {float_mae:.6f}")
    for h in args.headroom:
        qm = qmodel.quantize(model, scaler, x_cal, deploy["weights"], deploy["calibration"],
                             float(deploy["percentile"]), h)
        mae = float(np.abs(reference.predict(qm, val.inputs) - val.y).mean())
        print(f"  headroom {h:4g}: int8 {mae:.6f} ({100 * (mae / float_mae - 1):+.2f}% of float)")


if __name__ == "__main__":
    main()
