"""Full-integer post-training quantization with PT2E: which ops get int8, and on what data.

litert-torch's PT2EQuantizer annotates Linear, add, mul, cat and a few more; every other op
(mean, rsqrt, tanh, relu, ...) would stay float between DEQUANTIZE and QUANTIZE, and the model
would no longer be int8 only. `Int8Quantizer` gives those ops int8 inputs and outputs too.
Activations are per-tensor affine int8 with ranges from a histogram observer, weights per-tensor
symmetric int8, as in the paper's deployed model.
"""

import torch
from litert_torch.quantize.pt2e_quantizer import PT2EQuantizer, get_symmetric_quantization_config
from torchao.quantization.pt2e.observer import MinMaxObserver
from torchao.quantization.pt2e.quantizer import (FixedQParamsQuantizationSpec, QuantizationAnnotation,
                                                 QuantizationSpec, SharedQuantizationSpec)

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


# 16x8: int16 activations (symmetric, zero point 0, as TFLite's int16 kernels require) with int8
# weights. Min/max ranges: 16 bits leave room to cover the whole calibration range unclipped.
ACT16 = QuantizationSpec(dtype=torch.int16, quant_min=-32768, quant_max=32767,
                         qscheme=torch.per_tensor_symmetric, is_dynamic=False,
                         observer_or_fake_quant_ctr=MinMaxObserver.with_args(eps=1e-12))
# TFLite's int16 TANH writes its output on this grid.
TANH_OUTPUT_16 = FixedQParamsQuantizationSpec(dtype=torch.int16, scale=1.0 / 32768, zero_point=0,
                                              quant_min=-32768, quant_max=32767,
                                              qscheme=torch.per_tensor_symmetric)


class Int16Quantizer(Int8Quantizer):
    """Every activation int16, every weight int8 (TFLite's 16x8 scheme). The int8 model's
    LayerNorms lose far more than any other op: the variance sits on the grid of d * d and the
    normalized d * rsqrt(var) is re-rounded onto a grid about as fine as d's, so the rounding
    errors are a systematic per-window gain error rather than noise."""

    def annotate(self, model):
        model = super().annotate(model)
        for node in model.graph.nodes:
            annotation = node.meta.get("quantization_annotation")
            if annotation is None:
                continue
            linear = node.target == torch.ops.aten.linear.default
            params = set(node.args[1:3]) if linear else set()
            for src in node.args:  # scalar constants (get_attr without a value) need a spec too
                if isinstance(src, torch.fx.Node) and src.op == "get_attr" \
                        and src not in annotation.input_qspec_map and src not in params:
                    annotation.input_qspec_map[src] = ACT16
            for src, spec in list(annotation.input_qspec_map.items()):
                if src not in params and isinstance(spec, QuantizationSpec):
                    annotation.input_qspec_map[src] = ACT16
            if isinstance(annotation.output_qspec, FixedQParamsQuantizationSpec):
                annotation.output_qspec = TANH_OUTPUT_16
            elif isinstance(annotation.output_qspec, QuantizationSpec):
                annotation.output_qspec = ACT16
        return model


# The weight grid the quantizer above gives a Linear: per tensor, symmetric, [-127, 127] steps of
# max|w| / 127, never finer than 2^-12 (litert-torch's MinMaxObserver with eps=2^-12).
WEIGHT_LEVELS, WEIGHT_EPS = 127, 2.0 ** -12


def weight_step(weight):
    return max(float(weight.abs().max()) / WEIGHT_LEVELS, WEIGHT_EPS)


def round_weights(net, calibration, damping=0.01):
    """Every Linear of `net` with its weights already on the int8 grid the converter will give
    them, rounded to keep the layer's outputs on the calibration windows (GPTQ: columns rounded in
    turn, each rounding error compensated on the columns not yet rounded, weighted by the inverse
    of H = X^T X of the layer's float inputs). The converter's own rounding of these weights is
    then the identity. Rounding each weight to its nearest level instead leaves each window an
    offset: the windows are a level (~0.9) with a small shape (std ~0.01), so a Linear's output
    carries level x (the sum of a row's rounding errors), as large as the shape's signal, which
    the LayerNorm after it scales up (benchmarks/tflite_rounding.py: the `paper` finalists' runs
    -3% to +14% of validation MAE in TFLite Micro with nearest rounding, within 1.4% with this)."""
    linears = {name: mod for name, mod in net.named_modules() if isinstance(mod, torch.nn.Linear)}
    inputs = {name: [] for name in linears}

    def keep(name):
        def hook(module, args, output):
            inputs[name].append(args[0].detach().reshape(-1, args[0].shape[-1]).double())
        return hook

    hooks = [mod.register_forward_hook(keep(name)) for name, mod in linears.items()]
    try:
        with torch.no_grad():
            net(calibration)
    finally:
        for h in hooks:
            h.remove()
    with torch.no_grad():
        for name, mod in linears.items():
            x = torch.cat(inputs[name])
            mod.weight.copy_(gptq(mod.weight.double(), x.T @ x, damping).to(mod.weight.dtype))
    return net


def gptq(weight, hessian, damping=0.01):
    """`weight` (out, in) rounded onto its per-tensor int8 grid, minimizing the output error
    ||(W_q - W) X^T|| for inputs with H = X^T X (Frantar et al. 2022, GPTQ, without blocking)."""
    step = weight_step(weight)
    w = weight.clone()
    n = w.shape[1]
    h = hessian.clone()
    dead = torch.diag(h) == 0
    h[dead, dead] = 1.0
    h += damping * torch.diag(h).mean() * torch.eye(n, dtype=h.dtype)
    # The column that holds the largest |w| goes first: nothing is added to it before it is
    # rounded, so it lands on +-127 steps and the converter derives the same step from it.
    first = int(w.abs().max(dim=0).values.argmax())
    order = torch.tensor([first] + [i for i in range(n) if i != first])
    w, h = w[:, order], h[order][:, order]
    u = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(h)), upper=True)
    q = torch.zeros_like(w)
    for i in range(n):
        q[:, i] = torch.clamp(torch.round(w[:, i] / step), -WEIGHT_LEVELS, WEIGHT_LEVELS)
        err = (w[:, i] - q[:, i] * step) / u[i, i]
        w[:, i + 1:] -= err[:, None] * u[i, i + 1:][None, :]
    out = torch.empty_like(q)
    out[:, order] = q * step
    return out
