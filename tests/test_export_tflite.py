"""int8 TFLite export: the integer form, conversion, TFLite Micro on real windows, the C header,
and clear errors for a bad flatbuffer. One small student is trained and converted per module."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch


from dlnet import model as net
from dlnet.errors import InputError
from dlnet.export import c_array, flatbuffer
from dlnet.export.integer_net import IntegerNet, LowRank
from dlnet.export.micro import Micro, arena_size
from dlnet.export.tflite_quantization import round_weights, weight_step
from dlnet.training import predict, predict_scaled

ROOT = Path(__file__).resolve().parents[1]
# Bound on mean |int8 - float| of the forecasts, SOH units. Measured: 0.0007-0.0009 for this
# student (seeds 0-2), 0.0014-0.0018 for width-4 students trained 30 epochs; the output's int8
# step alone is about 0.0009 SOH.
TRACKING_BOUND = 0.002


@pytest.mark.parametrize("cfg", [
    net.student_config(4, enc_hidden=16, dec_hidden=16, dec_mid=16),   # coupling folded dense
    net.student_config(16, enc_hidden=16, dec_hidden=16, dec_mid=16),  # coupling kept low rank
    net.teacher_config(enc_hidden=32, width=8, dec_hidden=32, dec_mid=16, steps=3, dt=1 / 3),
], ids=["student-dense", "student-lowrank", "teacher"])
def test_integer_form_computes_the_same_function(cfg):
    torch.manual_seed(0)
    model = net.LiquidNet(cfg).eval()
    with torch.no_grad():                # move every parameter off its initial value
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
        x = torch.rand(64, cfg.input_len)
        diff = (IntegerNet(model)(x) - model(x)).abs().max().item()
    assert diff < 1e-5
    assert isinstance(IntegerNet(model).couple, LowRank) == (cfg.width == 16)


def test_the_whole_graph_is_integer_with_int8_weights_and_io(exported):
    """16x8: int16 activations, int8 weights, and a QUANTIZE at each end for int8 I/O."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    *_, data = exported
    ops = flatbuffer.op_counts(data)
    assert ops.get("QUANTIZE") == 2 and "DEQUANTIZE" not in ops, ops
    assert flatbuffer.float_tensors(data) == []
    assert {"FULLY_CONNECTED", "RSQRT", "TANH", "MEAN"} <= set(ops)
    graph = flatbuffer.parse(data).subgraphs[0]
    first, last = graph.operators[0], graph.operators[-1]
    assert [graph.tensors[i].type for i in (*first.inputs, *first.outputs)] == \
        [schema.TensorType.INT8, schema.TensorType.INT16]
    assert [graph.tensors[i].type for i in (*last.inputs, *last.outputs)] == \
        [schema.TensorType.INT16, schema.TensorType.INT8]
    model = flatbuffer.parse(data)
    fc = [op for op in graph.operators if model.operatorCodes[op.opcodeIndex].builtinCode
          == schema.BuiltinOperator.FULLY_CONNECTED]
    assert fc and {graph.tensors[op.inputs[1]].type for op in fc} == {schema.TensorType.INT8}
    assert {graph.tensors[op.inputs[0]].type for op in fc} == {schema.TensorType.INT16}


def test_weights_are_rounded_for_the_layer_outputs():
    """Inputs like SOH windows (a level near 0.9, a shape of std 0.01): weights rounded for the
    layer's outputs are on the converter's grid (integer steps, the largest at 127) and keep the
    outputs far closer to the float layer's than rounding each weight to its nearest level."""
    torch.manual_seed(0)
    layer = torch.nn.Linear(100, 64)
    x = 0.8 + 0.2 * torch.rand(2000, 1) + 0.01 * torch.randn(2000, 100)
    w = layer.weight.detach().clone()
    step = weight_step(w)
    q = round_weights(torch.nn.Sequential(layer), x)[0].weight.detach() / step
    assert torch.allclose(q, q.round(), atol=1e-4) and q.abs().max().round() == 127
    nearest = torch.clamp(torch.round(w / step), -127, 127) * step

    def error(weight):
        return (x @ (weight - w).T).pow(2).mean()

    assert error(q * step) < 0.1 * error(nearest)


def test_the_converter_keeps_the_rounded_weights(exported):
    """The flatbuffer's int8 FULLY_CONNECTED weights are round_weights' values, not re-rounded."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    from dlnet.quant.calibrate import sample

    model, scaler, splits, _, data = exported
    calibration = torch.as_tensor(sample(scaler.transform(splits["train"].x), 500),
                                  dtype=torch.float32)
    net = round_weights(IntegerNet(model), calibration)
    expected = [m.weight.detach().numpy() for m in net.modules() if isinstance(m, torch.nn.Linear)]
    fb = flatbuffer.parse(data)
    graph = fb.subgraphs[0]
    found = []
    for op in graph.operators:
        if fb.operatorCodes[op.opcodeIndex].builtinCode == schema.BuiltinOperator.FULLY_CONNECTED:
            t = graph.tensors[op.inputs[1]]
            raw = bytes(np.asarray(fb.buffers[t.buffer].data, np.uint8))
            found.append(np.frombuffer(raw, np.int8).reshape(t.shape) * t.quantization.scale[0])
    assert [f.shape for f in found] == [e.shape for e in expected]
    for f, e in zip(found, expected):
        assert np.abs(f - e).max() < 1e-3 * weight_step(torch.as_tensor(e))


def test_int8_activations_stay_available(exported):
    from dlnet.export.tflite import convert

    model, scaler, splits, *_ = exported
    data = convert(model, torch.as_tensor(scaler.transform(splits["train"].x[:200]),
                                          dtype=torch.float32), activations="int8")
    ops = flatbuffer.op_counts(data)
    assert not {"QUANTIZE", "DEQUANTIZE"} & set(ops), ops
    assert flatbuffer.float_tensors(data) == []


def test_tflite_micro_tracks_the_float_model_on_real_windows(exported):
    model, scaler, splits, path, data = exported
    arena, recorded = arena_size(path)
    assert recorded["head"] + recorded["tail"] == recorded["total"] < arena < 64 * 1024
    micro = Micro(data, arena)           # the smallest arena found runs every window
    assert micro.input["dtype"] == micro.output["dtype"] == "int8"
    for name in ("val", "test", "segments"):
        w = splits[name]
        y_float = predict(model, scaler, w.x)
        y_int8 = scaler.inverse(w.x, micro.predict_scaled(scaler.transform(w.x)))
        gap = np.abs(y_int8 - y_float).mean()
        assert gap < TRACKING_BOUND, f"{name}: mean |int8 - float| {gap:.5f}"


def test_c_header_round_trips_to_the_flatbuffer(exported):
    *_, path, data = exported
    text = c_array.header(data, path)
    assert "alignas(16) const unsigned char model_int8_tflite[]" in text
    body = text[text.index("{"):text.index("}")]
    assert bytes(int(b, 16) for b in re.findall(r"0x([0-9a-f]{2})", body)) == data
    assert re.search(r"model_int8_tflite_len = (\d+);", text).group(1) == str(len(data))


@pytest.mark.parametrize("damage", ["truncated", "not_tflite", "missing"])
def test_bad_flatbuffer_is_a_clear_error(exported, tmp_path, damage):
    *_, data = exported
    bad = tmp_path / "model_int8.tflite"
    if damage == "truncated":
        bad.write_bytes(data[:len(data) // 2])
    elif damage == "not_tflite":
        bad.write_bytes(b"\x00" * 64)
    with pytest.raises(InputError) as err:
        flatbuffer.read(bad)
    assert str(bad) in str(err.value) and "Fix:" in str(err.value)


def test_check_tflite_fails_above_its_tolerance_and_writes_nothing(exported, tmp_path):
    """Rule check_tflite's gate: validation MAE in TFLite Micro against the float model on the
    int8 input grid. A tolerance just below what it measures fails the rule, naming the numbers
    and the fix; no tolerance records the same numbers."""
    from types import SimpleNamespace

    from dlnet import metrics, protocols
    from dlnet.io import save_torch, write_json
    from dlnet.run.check_tflite import run

    model, scaler, splits, path, _ = exported
    protocols.save(tmp_path / "dataset.npz", splits)
    write_json(tmp_path / "dataset.json", {"scaler": scaler.to_dict()})
    save_torch(tmp_path / "model.pt", net.checkpoint(model, scaler))
    write_json(tmp_path / "selected.json", {"name": "h4", "kind": "liquid",
                                            "model": str(tmp_path / "model.pt")})
    inputs = SimpleNamespace(tflite=str(path), selected=str(tmp_path / "selected.json"),
                             model=str(tmp_path / "model.pt"),
                             dataset=str(tmp_path / "dataset.npz"),
                             info=str(tmp_path / "dataset.json"))
    out = SimpleNamespace(metrics=str(tmp_path / "tflite_metrics.json"))
    run(inputs, out, SimpleNamespace(seed=0, int8_tolerance=None), str(tmp_path / "check.log"))
    result = json.loads(Path(out.metrics).read_text())
    # what the file holds: int8 at the ends, int16 activations between (the default)
    q = result["quantization"]
    assert (q["weights"], q["input"], q["output"]) == ("per_tensor", "INT8", "INT8")
    assert set(q["activations"]) == {"INT16"} and q["activations"]["INT16"] > 10
    gate = result["gate"]
    assert gate["int8_mae"] == result["tflite_micro"]["val"]["mae"]
    assert gate["float_mae"] == result["float"]["val"]["mae"]
    micro = Micro(path.read_bytes(), arena_size(path)[0])
    val = splits["val"]
    on_grid = scaler.inverse(val.x, predict_scaled(model, micro.on_grid(scaler.transform(val.x))))
    assert gate["float_on_inputs_mae"] == metrics.errors(val.y, on_grid)["mae"]
    Path(out.metrics).unlink()
    with pytest.raises(InputError) as err:
        run(inputs, out, SimpleNamespace(seed=0, int8_tolerance=gate["quantization"] - 0.001),
            str(tmp_path / "check.log"))
    assert "deploy.int8_tolerance allows" in str(err.value) and "on the same inputs" in str(err.value)
    assert "export.tflite_activations" in str(err.value)
    assert not Path(out.metrics).exists()
