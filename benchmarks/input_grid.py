"""What the core's Q1.14 SOH inputs cost the deployed model, and what finer inputs would buy.

On a finished run, for each protocol it quantizes the selected model as the quantize rule does
and scores it on every split three ways: in float; as the int8 core computes it (reference.py,
SOH rounded to Q1.14, 6.1e-5); and as a core would that took finer SOH values for its anchor and
its parabola only, the network still reading the Q1.14 window. The last one is an estimate,
not a core: the parabola's coefficients are computed from the exact inputs and rounded once
to the trend's grid (qmodel.Trend), the anchor kept exactly in them; everything else is the
reference's integer arithmetic. A parabola fitted to a smoothed series and extrapolated 100
steps multiplies the input's rounding, which is where the Q1.14 grid costs accuracy; models
without a parabola (min-max or anchored scaling) are scored the first two ways only.

    python benchmarks/input_grid.py [--results results] [--protocols paper_residual ...]

Run from the project folder after `snakemake`. The test columns are printed, never used.
"""

import dlnet  # noqa: F401  first: pins the numerical kernels before NumPy loads (dlnet/numerics.py)
import argparse
import types
from pathlib import Path

import numpy as np

from dlnet import signals
from dlnet.config import load as load_config
from dlnet.layers import SEQUENCE
from dlnet.quant import blob as fmt
from dlnet.quant import calibrate, reference
from dlnet.quant.fixedpoint import SOH_FRAC_BITS, TREND_FRAC_BITS, q_to_soh, soh_to_q
from dlnet.run import selected


def quantized(splits, model, deploy):
    s = {k: v for k, v in deploy.items() if k not in ("verify", "int8_tolerance")}
    x_cal = calibrate.sample(splits["train"].inputs, int(s["calibration_windows"]))
    return fmt.from_bytes(fmt.to_bytes(model.quantize(x_cal, s)), source="the quantized model")


def with_exact_trend(qm, inputs):
    """The reference's forecast, but the anchor and the parabola from the unrounded inputs."""
    s, soh = signals.split(inputs, qm.input_len, qm.dims["signals"])
    z, _, _, u_sum = reference.scaled_inputs(qm, soh_to_q(soh), s if qm.signals else None)
    if qm.network == "liquid":
        state = {"u_sum": u_sum, "state_offset": qm.cell.state_offset}
        for layer in SEQUENCE[:-1]:
            z = reference.OPS[layer.op](qm.layers[layer.name], z, state)
        y = reference.output_soh(qm.layers[SEQUENCE[-1].name], z, 0)
    elif qm.network == "linear":
        y = reference.fully_connected(qm.linear, z)
    else:
        y = np.zeros((len(soh), qm.output_len), np.int64)
    one = 2.0 ** SOH_FRAC_BITS
    a = soh[:, -qm.anchor.length:].mean(axis=1, keepdims=True) * one     # Q1.14 units, unrounded
    d = soh[:, -qm.trend.length:] * one - a
    c = d @ qm.trend.weight.T.astype(np.float64) / 2.0 ** np.asarray(qm.trend.shift, np.float64)
    a_int = np.round(a).astype(np.int64)
    c[:, 0] += (a[:, 0] - a_int[:, 0]) * 2.0 ** TREND_FRAC_BITS[0]       # the anchor's fraction
    return q_to_soh(reference.add_trend(np.round(c).astype(np.int64), a_int, y))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default="results")
    ap.add_argument("--protocols", nargs="*")
    ap.add_argument("--config", default="config.yaml")
    args = ap.parse_args()
    config = load_config(args.config)
    root = Path(args.results)
    names = args.protocols or sorted(p.parent.parent.name for p in root.glob("*/pareto/selected.json"))
    for name in names:
        r = root / name
        rule_input = types.SimpleNamespace(dataset=r / "data/dataset.npz", info=r / "data/dataset.json",
                                           selected=r / "pareto/selected.json")
        splits, model, path = selected.load(rule_input)
        qm = quantized(splits, model, config["deploy"])
        trend = qm.trend is not None
        print(f"\n{name}: {path} ({model.kind}), "
              + (f"parabola through the last {qm.trend.length} inputs" if trend else "no parabola"))
        for split, w in splits.items():
            if split == "train" or not len(w):
                continue
            mae = {"float": np.abs(model.predict(w.inputs) - w.y).mean(),
                   "int8, Q1.14 inputs": np.abs(reference.predict(qm, w.inputs) - w.y).mean()}
            if trend:
                mae["int8, exact anchor and parabola"] = np.abs(with_exact_trend(qm, w.inputs) - w.y).mean()
            print(f"  {split:9s} " + "   ".join(
                f"{k} {v:.6f}" + ("" if k == "float" else f" ({v / mae['float'] - 1:+.1%})")
                for k, v in mae.items()))


if __name__ == "__main__":
    main()
