"""Reading an int8 TFLite flatbuffer back, with a clear error when it is not a whole model.

The flatbuffer is what the firmware embeds, so a file that is truncated or is not a TFLite model
must fail here with a message that names it: TFLite Micro itself does not verify a flatbuffer
and may crash on one.
"""

from collections import Counter
from pathlib import Path

import numpy as np
from tflite_micro.python.tflite_micro import runtime
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from dlnet.errors import InputError

REWRITE = "rerun the rule that writes it (snakemake --forcerun export_tflite)"


def parse(data, path="<bytes>"):
    """The flatbuffer as TFLite Micro's schema objects; InputError if it is not a whole model."""
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise InputError(path, "is not a TFLite flatbuffer (no TFL3 identifier at byte 4)", REWRITE)
    try:
        # Unpacking every table and buffer reads the whole file, so a cut anywhere shows up.
        model = runtime.convert_bytearray_to_object(bytearray(data))
    except Exception as e:  # the flatbuffers reader raises whatever struct/numpy raise
        raise InputError(path, f"is a truncated or corrupt flatbuffer ({type(e).__name__}: {e})",
                         REWRITE) from None
    if not model.subgraphs or len(model.subgraphs) != 1:
        raise InputError(path, "does not hold exactly one subgraph", REWRITE)
    return model


def read(path):
    """Bytes of a .tflite file, checked to be a whole TFLite model with one int8 input and output."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "does not exist", "run the rule that writes it (export_tflite)")
    data = path.read_bytes()
    graph = parse(data, path).subgraphs[0]
    for kind, ids in (("input", graph.inputs), ("output", graph.outputs)):
        if ids is None or len(ids) != 1 or graph.tensors[ids[0]].type != schema.TensorType.INT8:
            raise InputError(path, f"does not have exactly one int8 {kind} tensor", REWRITE)
    return data


def op_counts(data):
    """{builtin op name: count} of the model's graph, in the order the ops first appear."""
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    model = parse(data)
    return dict(Counter(
        names[runtime.get_builtin_code_from_operator_code(model.operatorCodes[op.opcodeIndex])]
        for op in model.subgraphs[0].operators))


def float_tensors(data):
    """Names of the model's float32 tensors: none in a full-integer model."""
    graph = parse(data).subgraphs[0]
    return [t.name.decode() for t in graph.tensors if t.type == schema.TensorType.FLOAT32]


def fully_connected_macs(data):
    """Multiply-accumulates of the graph's FULLY_CONNECTED ops: the size of each weight matrix."""
    fc = schema.BuiltinOperator.FULLY_CONNECTED
    model = parse(data)
    graph = model.subgraphs[0]
    return int(sum(
        int(np.prod(graph.tensors[op.inputs[1]].shape)) for op in graph.operators
        if runtime.get_builtin_code_from_operator_code(model.operatorCodes[op.opcodeIndex]) == fc))


def quantization(data):
    """How the file's integers are laid out, read from the file itself: "weights" per_tensor or
    per_channel (the FULLY_CONNECTED weights' scales), the "input" and "output" tensor types, and
    "activations" {tensor type: count} of the other tensors no buffer holds (what the ops
    compute)."""
    fc = schema.BuiltinOperator.FULLY_CONNECTED
    types = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    model = parse(data)
    graph = model.subgraphs[0]
    weights = [graph.tensors[op.inputs[1]] for op in graph.operators
               if runtime.get_builtin_code_from_operator_code(model.operatorCodes[op.opcodeIndex])
               == fc]
    channels = {len(w.quantization.scale) for w in weights if w.quantization is not None
                and w.quantization.scale is not None}
    ends = {int(i) for i in (*graph.inputs, *graph.outputs)}
    computed = [t for i, t in enumerate(graph.tensors) if i not in ends and (
        model.buffers[t.buffer].data is None or not len(model.buffers[t.buffer].data))]
    return {"weights": "per_channel" if max(channels, default=1) > 1 else "per_tensor",
            "input": types[graph.tensors[graph.inputs[0]].type],
            "output": types[graph.tensors[graph.outputs[0]].type],
            "activations": dict(Counter(types[t.type] for t in computed))}
