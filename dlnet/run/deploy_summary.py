"""Rule deploy_summary: the deployed model's numbers in one place.

metrics.json: MAE and the other errors per split of the float model, the int8 model as the native C
core computes it (the NumPy reference, bit-exact with C), and the int8 TFLite model as TFLite
Micro's kernels compute it, with each int8 model's MAE change against float.
size.json: every size figure of both int8 paths.
"""

import os

from dlnet.io import read_json, write_json
from dlnet.logs import Log


def mae_change(quantized, reference):
    """Percent change of MAE per split (the native core's is in int8_metrics.json already)."""
    return {s: 100.0 * (quantized[s]["mae"] / reference[s]["mae"] - 1.0)
            for s in quantized if s in reference and reference[s].get("mae")}


def run(input, output, params, log, threads=1):
    log = Log(log)
    native, size = read_json(input.int8_metrics), read_json(input.int8_size)
    tflite, onnx = read_json(input.tflite_metrics), read_json(input.onnx_check)
    splits = [s for s in native["float"] if s != "train"]
    metrics = {
        "model": native["model"],
        "float": {s: native["float"][s] for s in splits},
        "int8": {s: native["int8"][s] for s in splits},
        "tflite": {s: tflite["tflite_micro"][s] for s in splits if s in tflite["tflite_micro"]},
        "int8_mae_change_percent": {s: native["agreement"][s]["mae_change_percent"] for s in splits},
        "tflite_mae_change_percent": mae_change(tflite["tflite_micro"], tflite["float"]),
        "quantization": native["quantization"],
        "seed": native["seed"],
        "versions": {**native["versions"], **tflite["versions"]},
    }
    sizes = {
        "model": native["model"],
        "params": size["params"],
        "macs": size["macs"],
        "weight_bytes": size["weight_bytes"],
        "native_model_bytes": size["model_bytes"],
        "native_header_bytes": os.path.getsize(input.header),
        "native_peak_activation_bytes": size["scratch_bytes"],
        "tflite_flatbuffer_bytes": tflite["flatbuffer_bytes"],
        "tflite_header_bytes": os.path.getsize(input.tflite_header),
        "tflite_arena_bytes": tflite["arena_bytes"],
        "onnx_bytes": onnx["onnx_bytes"],
        "float32_bytes": size["float32_bytes"],
    }
    for s in splits:
        tfl = metrics["tflite"].get(s, {}).get("mae")
        log(f"{s}: MAE float {metrics['float'][s]['mae']:.5f}, int8 {metrics['int8'][s]['mae']:.5f}"
            + (f", TFLite {tfl:.5f}" if tfl is not None else ""))
    log(f"native model {sizes['native_model_bytes']} B + {sizes['native_peak_activation_bytes']} B "
        f"scratch; TFLite {sizes['tflite_flatbuffer_bytes']} B + {sizes['tflite_arena_bytes']} B arena")
    write_json(output.metrics, metrics)
    write_json(output.sizes, sizes)
