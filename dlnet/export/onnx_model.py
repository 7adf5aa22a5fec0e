"""Float ONNX export of a LiquidNet, checked against PyTorch with onnxruntime.

The graph is LiquidNet as it is (ONNX has LayerNormalization from opset 17), with a free batch
dimension. It uses the TorchScript-based exporter (`dynamo=False`): the torch.export-based one
needs `onnxscript`, which the project does not install.
"""

import warnings

import numpy as np
import torch

from dlnet.io import atomic_path
from dlnet.training import predict_scaled


def export(model, path, n_inputs, opset, metadata=None):
    """The model as ONNX: input x (batch, n_inputs), the scaled window and then the scaled
    signals, as the LiquidNet reads them. `metadata` (str -> str) goes into the file's
    metadata_props: the scaling the graph leaves out travels with it."""
    import onnx

    example = torch.zeros(1, n_inputs)
    with atomic_path(path) as tmp, warnings.catch_warnings():
        # The exporter warns that it is the legacy one on every call; that is known and chosen.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model.eval(), (example,), str(tmp), dynamo=False, opset_version=opset,
                          input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
        if metadata:
            graph = onnx.load(str(tmp))
            onnx.helper.set_model_props(graph, {k: str(v) for k, v in metadata.items()})
            onnx.save(graph, str(tmp))


def max_abs_diff(path, model, windows, threads=1):
    """{name: max |onnxruntime - PyTorch|} over scaled inputs {name: (n, n_inputs) array}."""
    import onnx
    import onnxruntime as ort

    onnx.checker.check_model(str(path))
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    out = {}
    for name, x in windows.items():
        x = np.asarray(x, np.float32)
        y = session.run(None, {"x": x})[0]
        out[name] = float(np.abs(y - predict_scaled(model, x)).max())
    return out
