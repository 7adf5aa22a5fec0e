"""int8 TFLite export: the integer form, conversion, TFLite Micro on real windows, the C header,
and clear errors for a bad flatbuffer. One small student is trained and converted per module."""

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
from dlnet.training import predict

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


def test_the_whole_graph_is_int8(exported):
    *_, data = exported
    ops = flatbuffer.op_counts(data)
    assert not {"QUANTIZE", "DEQUANTIZE"} & set(ops), ops
    assert flatbuffer.float_tensors(data) == []
    assert {"FULLY_CONNECTED", "RSQRT", "TANH", "MEAN"} <= set(ops)


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
