"""Full-integer post-training quantization with PT2E: which ops get int8, and on what data.

litert-torch's PT2EQuantizer annotates Linear, add, mul, cat and a few more; every other op
(mean, rsqrt, tanh, relu, ...) would stay float between DEQUANTIZE and QUANTIZE, and the model
would no longer be int8 only. `Int8Quantizer` gives those ops int8 inputs and outputs too.
Activations are per-tensor affine int8 with ranges from a histogram observer, weights per-tensor
symmetric int8, as in the paper's deployed model.
"""

import torch
from litert_torch.quantize.pt2e_quantizer import PT2EQuantizer, get_symmetric_quantization_config
from torchao.quantization.pt2e.quantizer import (FixedQParamsQuantizationSpec, QuantizationAnnotation,
                                                 SharedQuantizationSpec)

# TFLite Micro's int8 TANH writes its output on this grid whatever scale the output tensor claims;
# with an observed output range instead, the converted model runs and is silently wrong.
TANH_OUTPUT = FixedQParamsQuantizationSpec(dtype=torch.int8, scale=1.0 / 128, zero_point=0,
                                           quant_min=-128, quant_max=127,
                                           qscheme=torch.per_tensor_affine)


def _is_float(node):
    val = node.meta.get("val")
    return isinstance(val, torch.Tensor) and val.is_floating_point()


class Int8Quantizer(PT2EQuantizer):
    def __init__(self):
        super().__init__()
        self.set_global(get_symmetric_quantization_config(is_per_channel=False))

    def annotate(self, model):
        model = super().annotate(model)
        act = self.global_config.input_activation
        for node in model.graph.nodes:
            if node.op != "call_function" or "quantization_annotation" in node.meta \
                    or not _is_float(node):
                continue
            inputs = {a: act for a in node.all_input_nodes if _is_float(a)}
            output = TANH_OUTPUT if node.target == torch.ops.aten.tanh.default else act
            node.meta["quantization_annotation"] = QuantizationAnnotation(
                input_qspec_map=inputs, output_qspec=output, _annotated=True)
        _read_fixed_outputs_as_they_are(model)
        return model


def _read_fixed_outputs_as_they_are(model):
    """Consumers of a fixed-grid output (tanh) take its grid rather than observing their own:
    two grids on one edge would ask the converter for a requantization it then drops."""
    for node in model.graph.nodes:
        annotation = node.meta.get("quantization_annotation")
        if annotation is None:
            continue
        for src in list(annotation.input_qspec_map):
            produced = src.meta.get("quantization_annotation")
            if produced is not None and isinstance(produced.output_qspec,
                                                   FixedQParamsQuantizationSpec):
                annotation.input_qspec_map[src] = SharedQuantizationSpec(src)
