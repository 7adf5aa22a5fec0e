"""dlnet/layers.py declares the LiquidNet's layer sequence that the float reference, the quantizer,
the int8 reference, the blob and the cost model walk: it must be the sequence model.py runs, and
its codes the ones the C core reads from the blob's layer records."""

import re

import numpy as np
import torch

from dlnet import layers
from dlnet.cost import macs
from dlnet.firmware import core_files
from dlnet.layers import SEQUENCE
from dlnet.model import LiquidNet, student_config, teacher_config
from dlnet.quant import floatref, qmodel


def test_the_sequence_is_liquidnets_modules_in_order_with_their_sizes():
    for cfg in (student_config(5, 24, 20, 12, rank=2), teacher_config(enc_hidden=20, width=6,
                                                                        dec_hidden=18, dec_mid=10)):
        model = LiquidNet(cfg)
        modules = dict(model.named_children())
        declared = [layer.name for layer in SEQUENCE if layer.name in modules]
        assert declared == [name for name in modules if name in declared]
        for layer in SEQUENCE:
            m = modules.get(layer.name)
            if layer.op == "linear":
                assert (m.in_features, m.out_features) == (getattr(cfg, layer.n_in),
                                                            getattr(cfg, layer.n_out))
            elif layer.op == "layer_norm":
                assert m.normalized_shape[0] == getattr(cfg, layer.n_out)


def test_walking_the_sequence_is_liquidnet_forward():
    torch.manual_seed(0)
    for cfg in (student_config(5, 24, 20, 12, rank=2, dropout=0.0),
                teacher_config(enc_hidden=20, width=6, dec_hidden=18, dec_mid=10, dropout=0.0)):
        model = LiquidNet(cfg).eval()
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.1 * torch.randn_like(p))
        x = np.random.default_rng(1).normal(size=(7, cfg.input_len))
        y, trace = floatref.forward(floatref.params(model), x)
        with torch.no_grad():
            expected = model(torch.as_tensor(x, dtype=torch.float32)).double().numpy()
        np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5)
        assert len(trace["h"]) == cfg.steps + 1 and len(trace["pre"]) == cfg.steps


def test_the_cost_walk_counts_every_layer():
    cfg = student_config(4, 16, 12, 8, rank=2)
    linear = 100 * 16 + 16 * 4 + 4 * 12 + 12 * 8 + 8 * 100
    norms = 2 * (16 + 4 + 12)
    cell = 1 * ((4 + 2 * 4 * 2) + 4 + 2 * 4)
    assert macs(LiquidNet(cfg)) == linear + norms + cell + 4


def test_the_c_core_reads_the_same_codes_and_limits():
    """The C core's op codes, layer types and limits are the Python ones, and room for the
    sequence."""
    text = (core_files.DIR / "dlnet_core.h").read_text()
    define = {k: int(v) for k, v in re.findall(r"#define (DLNET_\w+) (-?\d+)\b", text)}
    assert [define[f"DLNET_OP_{op.upper()}"] for op in layers.OPS] == list(range(len(layers.OPS)))
    assert define["DLNET_OP_COUNT"] == len(layers.OPS)
    assert (define["DLNET_S8"], define["DLNET_S16"], define["DLNET_SOH"]) == (
        layers.S8, layers.S16, layers.SOH)
    assert define["DLNET_MAX_LAYERS"] >= len(SEQUENCE)
    assert (define["DLNET_MAX_DIM"], define["DLNET_MAX_NORM_DIM"], define["DLNET_MAX_STEPS"]) == (
        qmodel.MAX_DIM, qmodel.MAX_NORM_DIM, qmodel.MAX_STEPS)
    assert {layer.op for layer in SEQUENCE} <= set(layers.OPS)
