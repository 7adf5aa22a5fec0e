"""Rule deploy_summary: the deployed model's numbers in one place.

metrics.json: MAE and the other errors per split of the float model, the int8 model as the native C
core computes it (the NumPy reference, bit-exact with C), and the int8 TFLite model as TFLite
Micro's kernels compute it, with each int8 model's MAE change against float and the record of
its accuracy gate (dlnet/quant/gate.py).
size.json: every size figure of both int8 paths.
"""

import os

from dlnet.errors import InputError
from dlnet.io import read_json, write_json
from dlnet.logs import Log
from dlnet.run import REPLAN


def mae_change(quantized, reference):
    """Percent change of MAE per split (the native core's is in int8_metrics.json already)."""
    return {s: 100.0 * (quantized[s]["mae"] / reference[s]["mae"] - 1.0)
            for s in quantized if s in reference and reference[s].get("mae")}


def run(input, output, params, log, threads=1):
    log = Log(log)
    native, size = read_json(input.int8_metrics), read_json(input.int8_size)
    if native["kind"] == "liquid" and not getattr(input, "tflite_metrics", None):
        raise InputError(input.int8_metrics, "deploys a liquid network, but the job was not "
                         "handed its TFLite and ONNX checks", REPLAN)
    splits = [s for s in native["float"] if s != "train"]
    metrics = {
        "model": native["model"], "kind": native["kind"],
        "float": {s: native["float"][s] for s in splits},
        "int8": {s: native["int8"][s] for s in splits},
        "int8_mae_change_percent": {s: native["agreement"][s]["mae_change_percent"] for s in splits},
        "quantization": native["quantization"],
        "gates": {"native": native["gate"]},
        "seed": native["seed"],
        "versions": native["versions"],
    }
    sizes = {
        "model": native["model"], "kind": native["kind"],
        "params": size["params"],
        "macs": size["macs"],
        "weight_bytes": size["weight_bytes"],
        "native_model_bytes": size["model_bytes"],
        "native_header_bytes": os.path.getsize(input.header),
        "native_peak_activation_bytes": size["scratch_bytes"],
        "float32_bytes": size["float32_bytes"],
    }
    if getattr(input, "tflite_metrics", None):
        tflite, onnx = read_json(input.tflite_metrics), read_json(input.onnx_check)
        metrics["tflite"] = {s: tflite["tflite_micro"][s] for s in splits
                             if s in tflite["tflite_micro"]}
        metrics["tflite_mae_change_percent"] = mae_change(tflite["tflite_micro"], tflite["float"])
        metrics["gates"]["tflite"] = tflite["gate"]
        metrics["versions"] = {**metrics["versions"], **tflite["versions"]}
        sizes.update(tflite_flatbuffer_bytes=tflite["flatbuffer_bytes"],
                     tflite_header_bytes=os.path.getsize(input.tflite_header),
                     tflite_arena_bytes=tflite["arena_bytes"], onnx_bytes=onnx["onnx_bytes"])
    else:
        metrics["exports"] = sizes["exports"] = (
            f"no TFLite or ONNX export: the selected model is {native['kind']}, which the native "
            "core runs; the exports take liquid networks")
    for s in splits:
        tfl = metrics.get("tflite", {}).get(s, {}).get("mae")
        log(f"{s}: MAE float {metrics['float'][s]['mae']:.5f}, int8 {metrics['int8'][s]['mae']:.5f}"
            + (f", TFLite {tfl:.5f}" if tfl is not None else ""))
    for path, g in metrics["gates"].items():
        log(f"gate {path}: validation MAE {g['quantization']:+.2%} from quantizing the model, "
            f"{g['input_grid']:+.2%} from its input grid (tolerance {g['tolerance']})")
    log(f"native model {sizes['native_model_bytes']} B + {sizes['native_peak_activation_bytes']} B "
        f"scratch" + (f"; TFLite {sizes['tflite_flatbuffer_bytes']} B + "
                      f"{sizes['tflite_arena_bytes']} B arena" if "tflite" in metrics else ""))
    write_json(output.metrics, metrics)
    write_json(output.sizes, sizes)
