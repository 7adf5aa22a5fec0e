"""Signals beside the SOH window (dlnet/signals.py): computed causally, scaled on training
windows, read by the encoder only, and carried by the int8 model bit for bit."""

import numpy as np
import pandas as pd
import pytest
import torch

from dlnet import model as net
from dlnet import protocols, signals
from dlnet.data.sources import Source
from dlnet.errors import InputError
from dlnet.quant import blob, qmodel, reference
from dlnet.quant.fixedpoint import INT16, INT32
from dlnet.scaling import Scaler
from dlnet.windows import WindowSet

CELLS = {"kind": "cells", "exclude_cells": [], "smoothing": {"method": "none"}, "anchor_len": 5,
         "input_len": 20, "output_len": 10, "train_step": 3, "eval_step": 5,
         "split": {"source": "config", "test_cells": ["c08", "c09"], "val_cells": ["c07"],
                   "seed": 42},
         "scaling": "quadratic", "trend_len": 10, "signals": ["cycle"]}


def source():
    """Cells whose cycle numbers skip (as after cleaning): the signal must read the cycle
    column, not the position."""
    rows = [{"cell_id": f"c{i:02d}", "cycle": 3 * k + i + 1, "soh": 1.0 - 0.0004 * (i + 1) * k}
            for i in range(10) for k in range(80 + 5 * i)]
    return Source(pd.DataFrame(rows), "synthetic.csv")


def test_the_cycle_signal_is_the_cycle_of_the_windows_last_input():
    splits, scaler, _ = protocols.build("p", CELLS, source())
    for w in splits.values():
        cell_index = np.array([int(c[1:]) for c in w.cell])
        assert w.s.shape == (len(w), 1)
        # cycle = 3 * position + cell index + 1 at position start + input_len - 1
        assert np.array_equal(w.s[:, 0], 3 * (w.start + 19) + cell_index + 1)
        assert np.array_equal(w.inputs, np.c_[w.s, w.x])
    train = splits["train"].s[:, 0]
    (g,) = scaler.signals
    assert g["name"] == "cycle" and g["offset"] == round(train.mean())
    assert g["scale"] == np.abs(train - g["offset"]).max()
    assert np.abs(scaler.transform(splits["train"].inputs)[:, 20]).max() == 1.0


def test_a_signal_the_dataset_lacks_or_an_unknown_one_fails_naming_the_fix():
    src = source()
    src.series = src.series.rename(columns={"cycle": "cyc"})
    with pytest.raises((InputError, KeyError)):
        protocols.build("p", CELLS, src)
    with pytest.raises(InputError, match="unknown signal 'ir'"):
        protocols.build("p", {**CELLS, "signals": ["ir"]}, source())


def test_the_scaler_scales_the_window_and_the_signals_apart():
    splits, scaler, _ = protocols.build("p", CELLS, source())
    w = splits["val"]
    z = scaler.transform(w.inputs)
    alone = Scaler.from_dict({**scaler.to_dict(), "signals": []})
    assert np.allclose(z[:, :20], alone.transform(w.x))
    g = scaler.signals[0]
    assert np.allclose(z[:, 20], (w.s[:, 0] - g["offset"]) / g["scale"])
    # the forecast anchor reads the SOH values at the end of the row, never the signal
    assert np.allclose(scaler.inverse(w.inputs, np.zeros_like(w.y)),
                       alone.inverse(w.x, np.zeros_like(w.y)))


def test_npz_round_trip_keeps_the_signals(tmp_path):
    splits, _, _ = protocols.build("p", CELLS, source())
    protocols.save(tmp_path / "d.npz", splits)
    back = protocols.load(tmp_path / "d.npz")
    assert all(np.array_equal(back[s].inputs, w.inputs) for s, w in splits.items())


def test_only_the_encoder_reads_the_signals():
    torch.manual_seed(0)
    model = net.LiquidNet(net.student_config(4, 8, 8, 8, input_len=20, output_len=10,
                                             signals=2)).eval()
    assert model.enc_in.in_features == 22
    x = torch.randn(3, 22)
    moved = x.clone()
    moved[:, 20:] += 1.0
    with torch.no_grad():
        model.enc_in.weight[:, 20:] = 0.0
        assert torch.equal(model(x), model(moved))        # the drive u averages the window only


def quantized(k=1, seed=0):
    """A small student with k signals, quantized on synthetic inputs."""
    torch.manual_seed(seed)
    model = net.LiquidNet(net.student_config(4, 8, 8, 8, input_len=20, output_len=10,
                                             signals=k)).eval()
    scaler = Scaler("quadratic", 0.05, anchor_len=5, trend_len=10,
                    signals=[{"name": f"s{j}", "unit": "u", "offset": 400 + j, "scale": 250.0}
                             for j in range(k)])
    rng = np.random.default_rng(seed)
    soh = 1.0 - np.cumsum(rng.uniform(0, 2e-3, (300, 20)), axis=1)
    raw = rng.integers(1, 1500, (300, k)).astype(float)
    inputs = np.c_[raw, soh]
    return model, scaler, inputs, qmodel.quantize(model, scaler, inputs)


def test_the_int8_model_follows_the_float_model_with_signals():
    from dlnet.training import predict

    model, scaler, inputs, qm = quantized(k=2)
    assert qm.dims["signals"] == 2 and qm.dims["n_inputs"] == 22
    gap = np.abs(predict(model, scaler, inputs) - reference.predict(qm, inputs))
    assert gap.mean() < 2e-3
    # and it does read them: another cycle number, another forecast
    moved = inputs.copy()
    moved[:, 0] += 500
    assert not np.array_equal(reference.predict(qm, moved), reference.predict(qm, inputs))


def test_scale_signals_saturates_any_int32():
    sig = qmodel.Signals(np.array([INT32[1]]), *map(np.array, qmodel.quantize_multipliers([3.0])))
    raw = np.array([[INT32[0]], [INT32[1]], [0], [5]])
    q = reference.scale_signals(sig, raw)
    assert q.min() >= INT16[0] and q.max() <= INT16[1]
    assert q[0, 0] == INT16[0] and q[1, 0] == 0


def test_blob_round_trip_and_refusals_with_signals():
    from dlnet.cost import int8_bytes

    model, scaler, inputs, qm = quantized(k=1)
    data = blob.to_bytes(qm)
    assert int8_bytes(model, scaler) == len(data)          # the Pareto table counts these bytes
    back = blob.from_bytes(data)
    assert np.array_equal(back.signals.mult, qm.signals.mult)
    assert np.array_equal(reference.predict(back, inputs), reference.predict(qm, inputs))
    assert len(data) == blob.size_of({**qm.dims, "coupling": qm.cell.coupling})
    too_many = qmodel.Signals(*(np.zeros(qmodel.MAX_SIGNALS + 1, np.int64) for _ in range(3)))
    with pytest.raises(ValueError, match="signals"):
        qmodel.check(qmodel.QuantModel(qm.network, qm.input_len, qm.output_len, qm.anchor,
                                       layers=qm.layers, trend=qm.trend, signals=too_many))
    poly = qmodel.quantize_polynomial(20, 10, 10, 2)
    poly.signals = qm.signals
    with pytest.raises(ValueError, match="no signals"):
        qmodel.check(poly)


def test_a_model_with_signals_needs_them():
    _, _, inputs, qm = quantized(k=1)
    with pytest.raises(ValueError, match="1 signals"):
        reference.run(qm, np.zeros((2, 20), np.int64))


def test_split_reads_the_soh_at_the_end_of_a_row():
    rows = np.array([[7.4, 0.9, 0.8], [3.0, 0.7, 0.6]])
    raw, soh = signals.split(rows, 2, 1)
    assert raw.tolist() == [[7], [3]] and soh.tolist() == [[0.9, 0.8], [0.7, 0.6]]
    raw, soh = signals.split(rows, 2, 0)
    assert raw.shape == (2, 0) and soh.shape == (2, 2)


def test_windowset_without_signals_is_unchanged():
    w = WindowSet(np.ones((2, 3)), np.ones((2, 1)), ["a", "b"], [0, 1])
    assert w.s.shape == (2, 0) and w.inputs is w.x
