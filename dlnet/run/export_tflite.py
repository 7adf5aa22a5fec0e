"""Rule export_tflite: the selected model as an integer TFLite flatbuffer (int8 weights, input
and output; int16 or int8 activations) with its C array header (check_tflite runs it in TFLite
Micro)."""

import time

import torch

from dlnet.export import c_array, flatbuffer
from dlnet.io import atomic_path, write_text
from dlnet.logs import Log
from dlnet.quant import calibrate
from dlnet.run import selected
from dlnet.training import set_determinism


def run(input, output, params, log, threads=1):
    from dlnet.export.tflite import convert  # imports litert-torch, which takes seconds

    log = Log(log)
    set_determinism(params.seed, threads)
    splits, model, scaler, model_path = selected.load_network(input)
    train = splits["train"]
    # the same windows as the native core's calibration (rule quantize)
    calibration = torch.as_tensor(calibrate.sample(scaler.transform(train.inputs),
                                                   params.calibration_windows), dtype=torch.float32)
    log(f"{model_path}: {params.activations} activations, calibrating on {len(calibration)} of "
        f"{len(train)} training windows")
    start = time.perf_counter()
    data = convert(model, calibration, params.activations)
    log(f"converted in {time.perf_counter() - start:.1f}s: {len(data)} bytes, "
        f"ops {flatbuffer.op_counts(data)}")
    q = flatbuffer.quantization(data)
    weights = q["weights"].replace("_", " ")
    about = (f"{q['input'].lower()} input and output, int8 weights ({weights}, rounded by GPTQ), "
             "activations "
             + ", ".join(f"{t.lower()} ({n} tensors)" for t, n in q["activations"].items())
             + f"; ranges observed on {len(calibration)} training windows")
    log(about)
    with atomic_path(output.tflite) as tmp:
        tmp.write_bytes(data)
    write_text(output.header, c_array.header(data, output.tflite, about))
