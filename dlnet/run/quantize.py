"""Rule quantize: the selected model as an int8 model blob in a C header, scored on every split
as the C core computes it (verify_native checks the core itself)."""

import time

import numpy as np

from dlnet.errors import InputError
from dlnet.io import read_json, versions, write_json, write_text
from dlnet.logs import Log
from dlnet.metrics import all_splits, errors
from dlnet.quant import blob as fmt
from dlnet.quant import calibrate, gate, header, qmodel, reference
from dlnet.run import selected
from dlnet.training import set_determinism


def run(input, output, params, log, threads=1):
    log = Log(log)
    set_determinism(params.seed, threads)
    s = params.quantization
    splits, model, model_path = selected.load(input)
    x_cal = calibrate.sample(splits["train"].inputs, int(s["calibration_windows"]))
    log(f"quantizing {model_path} ({model.kind}): {s['weights']} weights, {s['calibration']} "
        f"calibration on {len(x_cal)} training windows")
    try:
        draft = model.quantize(x_cal, s)
    except ValueError as e:
        raise InputError(model_path, f"cannot be quantized ({e})",
                         "check the model for non-finite or extreme parameters") from None
    data = fmt.to_bytes(draft)
    qm = fmt.from_bytes(data, source="the generated model")      # the header's exact bytes
    picked = read_json(input.selected)
    text = header.text(draft, source=model_path, comment_lines=[
        f"Deployed: {picked['name']}"
        + (f", trained with seed {picked['seed']}" if picked.get("seed") is not None else "")
        + f"; dlnet {versions()['dlnet']}.",
        *([f"Quantization: {s['weights']} int8 weights, activations calibrated by "
           f"{s['calibration']}"
           + (f" ({s['percentile']} percentile)" if s["calibration"] == "percentile" else "")
           + f" on {len(x_cal)} training windows, ranges widened x{s['headroom']}."]
          if model.kind == "liquid" else []),
        *(signal_lines(read_json(input.info)["scaler"]["signals"], splits["train"].s)
          if draft.dims["signals"] else []),
        "SOH to Q7.24 as q = floor(soh * 2^24 + 0.5), as the sketch does."])

    start = time.perf_counter()
    float_m = all_splits(splits, model.predict, skip=())
    int8_m = all_splits(splits, lambda x: reference.predict(qm, x), skip=())
    seconds = time.perf_counter() - start
    agreement = {}
    for name, w in splits.items():
        if not len(w):
            continue
        gap = np.abs(model.predict(w.inputs) - reference.predict(qm, w.inputs))
        change = 100.0 * (int8_m[name]["mae"] / float_m[name]["mae"] - 1.0)
        agreement[name] = {"mean_abs_float_int8": float(gap.mean()),
                           "max_abs_float_int8": float(gap.max()), "mae_change_percent": change}
        log(f"{name}: MAE float {float_m[name]['mae']:.5f} int8 {int8_m[name]['mae']:.5f} "
            f"({agreement[name]['mae_change_percent']:+.2f}%), mean |float - int8| "
            f"{agreement[name]['mean_abs_float_int8']:.5f} over {len(w)} windows")
    val = splits["val"]
    on_inputs = errors(val.y, model.predict(gate.core_inputs(val)))["mae"]
    record = gate.measure(float_m["val"]["mae"], on_inputs, int8_m["val"]["mae"])
    log(f"gate: validation MAE float {record['float_mae']:.6f}, float on the Q7.24 inputs "
        f"{on_inputs:.6f} ({record['input_grid']:+.2%}), int8 {record['int8_mae']:.6f} "
        f"({record['quantization']:+.2%} from quantizing the model; tolerance "
        f"{params.int8_tolerance})")
    record = gate.check(record, params.int8_tolerance, model_path, output.header,
                        gate.NATIVE_FIX)
    metrics = {
        "model": model_path, "kind": model.kind, "n_windows": {n: len(w) for n, w in splits.items()},
        "quantization": quantization_record(model.kind, s, len(x_cal), draft),
        "float": float_m, "int8": int8_m, "agreement": agreement, "gate": record,
        # the seed that trained the deployed model (None: a baseline), beside the run's own
        "eval_seconds": seconds, "seed": read_json(input.selected).get("seed"),
        "config_seed": params.seed, "versions": versions(),
    }
    size = {
        "model": model_path, "kind": model.kind, **model.costs(),
        "weight_bytes": qmodel.weight_bytes(qm),
        "model_bytes": len(data),
        "header_file_bytes": len(text.encode()),
        "scratch_bytes": qmodel.scratch_bytes(qm.dims),
        "dims": qm.dims, "coupling": qm.cell.coupling if qm.network == "liquid" else None,
        "notes": {"weight_bytes": "int8 matrices (Linear weights, coupling W or U and V)",
                  "model_bytes": "the whole const blob in flash: weights, int32 biases and "
                                 "multipliers, shifts, tables, header",
                  "scratch_bytes": "peak activation RAM of dlnet_run (DLNET_SCRATCH_BYTES); "
                                   "plus sizeof(dlnet_model_t) for the model handle"},
    }
    log(f"{size['weight_bytes']} weight bytes, {size['model_bytes']} model bytes, "
        f"{size['scratch_bytes']} scratch bytes, {size['macs']} MACs")
    write_text(output.header, text)
    write_json(output.size, size)
    write_json(output.metrics, metrics)


def signal_lines(signals, train_s):
    """What each of the signals[] the core takes is, and the range training saw: beyond it the
    model extrapolates, and nothing checks."""
    return [f"signals[{i}]: {g['name']}, a raw integer in {g['unit']} (dlnet/signals.py); "
            f"training windows {int(train_s[:, i].min()):,} to {int(train_s[:, i].max()):,}."
            for i, g in enumerate(signals)]


def quantization_record(kind, s, calibration_windows, qm):
    """What the quantization of this model used: the whole scheme for a liquid network; for
    ridge its int8 weights; for a polynomial baseline, only the integer trend."""
    if kind == "polynomial":
        return {"io": quantization_scheme()["io"], "trend": "int32 weights, one rounding per "
                "coefficient (qmodel.polynomial_trend)", "weights": None, "calibration": None}
    if kind == "linear":
        return {"io": quantization_scheme()["io"], "weights": s["weights"], "calibration": None,
                "layer": "int16 scaled input, int8 weights, int32 accumulator, Q1.14 output"}
    return {**quantization_scheme(), "weights": s["weights"], "calibration": s["calibration"],
            "percentile": s["percentile"] if s["calibration"] == "percentile" else None,
            "headroom": float(s["headroom"]), "calibration_windows": int(calibration_windows),
            "calibration_split": "train", "activation_scales": qm_scales(qm)}


def quantization_scheme():
    return {"io": "int32 Q7.24 SOH in (the network reads it rounded to Q1.14, the trend all of "
                  "it), int16 Q1.14 SOH out; the core computes the Scaler in integers",
            "hidden": "int8 asymmetric (scale, zero point) per tensor",
            "layer_norm_input": "int16 symmetric, calibrated peak at half range",
            "accumulators": "int32 (LayerNorm sum of squares int64)",
            "requantization": "x * M * 2^(s-31), one 64-bit product, round half up, saturate",
            "tanh": "256-entry int8 tables", "liquid_state": "int8, one scale for all steps"}


def qm_scales(qm):
    sc = qm.scales
    return {k: {"scale": float(v), "zero_point": int(sc["zero_point"].get(k, 0))}
            for k, v in sc.get("scale", {}).items()}
