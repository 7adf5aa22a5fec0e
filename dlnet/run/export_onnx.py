"""Rule export_onnx: the selected model as float ONNX, checked against PyTorch with onnxruntime."""

import json
from importlib.metadata import version
from pathlib import Path

from dlnet.export.onnx_model import export, max_abs_diff
from dlnet.io import read_json, versions, write_json
from dlnet.logs import Log
from dlnet.run import selected
from dlnet.training import set_determinism


def run(input, output, params, log, threads=1):
    log = Log(log)
    set_determinism(params.seed, threads)
    splits, model, scaler, model_path = selected.load_network(input)
    picked = read_json(input.selected)
    export(model, output.onnx, model.cfg.n_inputs, params.opset, metadata={
        "dlnet.model": picked["name"], "dlnet.seed": picked.get("seed"),
        "dlnet.version": versions()["dlnet"],
        "dlnet.input": "x: the window scaled (oldest first), then the signals scaled; y: the "
                       "scaled forecast (dlnet.scaling.Scaler, README: Running the exports "
                       "yourself)",
        "dlnet.scaler": json.dumps(scaler.to_dict())})
    windows = {s: scaler.transform(w.inputs) for s, w in splits.items() if len(w)}
    diff = max_abs_diff(output.onnx, model, windows, threads)
    worst = max(diff.values())
    log(f"{model_path}: {Path(output.onnx).stat().st_size} bytes; max |onnxruntime - PyTorch| "
        f"{worst:.2e} (scaled) over {sum(len(x) for x in windows.values())} windows")
    if worst > params.tolerance:
        raise RuntimeError(f"{output.onnx} differs from PyTorch by {worst:.2e} > tolerance "
                           f"{params.tolerance:.1e} (scaled units)")
    write_json(output.check, {
        "name": read_json(input.selected)["name"], "model": model_path,
        "onnx_bytes": Path(output.onnx).stat().st_size,
        "opset": params.opset, "tolerance": params.tolerance,
        "max_abs_diff": diff, "max_abs_diff_soh": {s: d * scaler.span for s, d in diff.items()},
        "windows": {s: len(x) for s, x in windows.items()},
        "versions": {**versions(), "onnx": version("onnx"), "onnxruntime": version("onnxruntime")}})
