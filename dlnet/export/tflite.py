"""Conversion of a LiquidNet to a full-integer int8 TFLite flatbuffer with litert-torch (PT2E).

export (free batch) -> prepare_pt2e with Int8Quantizer -> one calibration pass -> convert_pt2e
-> litert_torch.convert. With every op annotated, the converter folds the quantize/dequantize
pairs into int8 kernels, including the first and last, so the model's input and output are int8.
"""

import litert_torch
import torch
from litert_torch.quantize.quant_config import QuantConfig
from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

from dlnet.export.flatbuffer import float_tensors
from dlnet.export.integer_net import IntegerNet
from dlnet.export.quantize import Int8Quantizer


def convert(model, calibration):
    """int8-in, int8-out flatbuffer bytes of `model` (a LiquidNet), calibrated on `calibration`
    (scaled windows, a float tensor of shape (n, input_len))."""
    litert_torch.config.show_progress = False
    net = IntegerNet(model)
    # Traced with a free batch size so that one call observes every calibration window; the
    # converted model's batch is then fixed to 1 by the example given to litert_torch.convert.
    batch = torch.export.Dim("batch", min=1)
    graph = torch.export.export(net, (calibration[:2],), dynamic_shapes=({0: batch},)).module()
    quantizer = Int8Quantizer()
    prepared = prepare_pt2e(graph, quantizer)
    with torch.no_grad():
        prepared(calibration)
    quantized = convert_pt2e(prepared, fold_quantize=False)
    data = litert_torch.convert(quantized, (calibration[:1],),
                                quant_config=QuantConfig(pt2e_quantizer=quantizer)).model_content()
    left = float_tensors(data)
    if left:
        raise RuntimeError(f"conversion left float tensors {left[:5]}: an op of IntegerNet has no "
                           "int8 lowering in litert-torch; rewrite it in dlnet/export/integer_net.py")
    return data
