"""Rule check_tflite: the int8 TFLite model run in TFLite Micro's interpreter on every split,
beside the float model; what quantization alone costs."""

from importlib.metadata import version

from dlnet import metrics
from dlnet.export import flatbuffer
from dlnet.export.micro import Micro, arena_size
from dlnet.io import read_json, versions, write_json
from dlnet.logs import Log
from dlnet.quant import gate
from dlnet.run import selected
from dlnet.training import predict, predict_scaled, set_determinism
from dlnet.windows import WindowSet


def run(input, output, params, log, threads=1):
    log = Log(log)
    set_determinism(params.seed, threads)
    splits, model, scaler, model_path = selected.load_network(input)
    data = flatbuffer.read(input.tflite)
    arena, recorded = arena_size(input.tflite)
    log(f"{input.tflite}: {len(data)} bytes; smallest arena {arena} bytes; after allocation the "
        f"interpreter holds {recorded['total']} ({recorded['head']} activations, "
        f"{recorded['tail']} persistent)")
    micro = Micro(data, arena)

    def float_soh(x):
        return predict(model, scaler, x)

    def int8_soh(x):
        return scaler.inverse(x, micro.predict_scaled(scaler.transform(x)))

    result = {"name": read_json(input.selected)["name"], "model": model_path,
              "flatbuffer_bytes": len(data),
              "arena_bytes": arena, "arena_recorded": recorded,
              "ops": flatbuffer.op_counts(data), "input": micro.input, "output": micro.output,
              # as the file holds it: deploy.weights and calibration set the native core's
              # model only (README, "The TFLite export")
              "quantization": flatbuffer.quantization(data),
              "float": metrics.all_splits(splits, float_soh),
              "tflite_micro": metrics.all_splits(splits, int8_soh)}
    # The int8 model scored against the float model's forecasts: what quantization alone costs.
    as_float = {s: WindowSet(w.x, float_soh(w.inputs), w.cell, w.start, w.s)
                for s, w in splits.items()
                if s != "train" and len(w)}
    gap = metrics.all_splits(as_float, int8_soh)
    result["int8_vs_float"] = {
        s: {"mae_increase": result["tflite_micro"][s]["mae"] - result["float"][s]["mae"],
            "mean_abs_diff": gap[s]["mae"],
            "inputs_clipped": micro.quantize(scaler.transform(w.inputs))[1]}
        for s, w in as_float.items()}
    for s in result["float"]:
        log(f"{s:>9s}: float MAE {result['float'][s]['mae']:.5f}, TFLite Micro int8 MAE "
            f"{result['tflite_micro'][s]['mae']:.5f}, mean |int8 - float| "
            f"{result['int8_vs_float'][s]['mean_abs_diff']:.5f}")
    record = gate_record(model, scaler, micro, splits["val"])
    log(f"gate: validation MAE float {record['float_mae']:.6f}, float on the int8 input grid "
        f"{record['float_on_inputs_mae']:.6f} ({record['input_grid']:+.2%}), TFLite Micro "
        f"{record['int8_mae']:.6f} ({record['quantization']:+.2%} from quantizing the model; "
        f"tolerance {params.int8_tolerance})")
    result["gate"] = gate.check(record, params.int8_tolerance, model_path,
                                output.metrics, gate.TFLITE_FIX)
    result["versions"] = {**versions(), "litert_torch": version("litert-torch"),
                          "tflite_micro": version("tflite-micro")}
    write_json(output.metrics, result)


def gate_record(model, scaler, micro, windows):
    """The gate's record on `windows` (validation): MAE of the float model, of the float model on
    the int8 input tensor's grid, and of TFLite Micro (dlnet.quant.gate.measure)."""
    z = scaler.transform(windows.inputs)

    def mae(scaled):
        return metrics.errors(windows.y, scaler.inverse(windows.inputs, scaled))["mae"]

    return gate.measure(mae(predict_scaled(model, z)), mae(predict_scaled(model, micro.on_grid(z))),
                        mae(micro.predict_scaled(z)))
