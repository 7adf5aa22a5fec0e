"""Signals beside the SOH window (dlnet/signals.py): computed causally, scaled on training
windows, read by the encoder only, and carried by the int8 model bit for bit."""

import copy

import numpy as np
import pandas as pd
import pytest
import torch

from dlnet.config import load as load_config
from dlnet import model as net
from dlnet import protocols, signals
from dlnet.data.sources import Source, load_source
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
    column, not the position. IR rises with the cycle (Ohm); cell c03 never records it (0, as
    the study writes), c05 only from its 40th value on."""
    rows = [{"cell_id": f"c{i:02d}", "cycle": 3 * k + i + 1, "soh": 1.0 - 0.0004 * (i + 1) * k,
             "IR": 0.0 if i == 3 or (i == 5 and k < 40) else 0.015 + 1e-5 * k,
             "Tavg": 30.0 + 0.01 * i, "chargetime": 13.0 if k % 7 else 99.0}
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
    src.series = src.series.drop(columns=["IR"])          # as dlnet_soh: SOH and cycle only
    with pytest.raises(InputError, match="has no column 'IR'.*remove 'ir_level'"):
        protocols.build("p", {**CELLS, "signals": ["cycle", "ir_level"]}, src)
    with pytest.raises(InputError, match="unknown signal 'ir'"):
        protocols.build("p", {**CELLS, "signals": ["ir"]}, source())


def test_a_protocol_on_a_dataset_without_the_column_fails_before_any_job():
    from dlnet import config as config_module

    config = config_module.load()
    signals.check_datasets(config)                        # the shipped config asks for what exists
    asks = copy.deepcopy(config)
    asks["protocols"]["paper_residual"]["signals"] = ["cycle", "charge_time"]
    with pytest.raises(InputError, match="protocols.paper_residual.signals has 'charge_time'.*"
                       "'chargetime'.*dlnet_soh.*Fix: remove 'charge_time'"):
        signals.check_datasets(asks)
    asks = copy.deepcopy(config)
    asks["ablation"]["signals"] = ["cycle", "ir_level"]
    with pytest.raises(InputError, match="ablation.signals has 'ir_level'.*paper_residual.ablation"):
        signals.check_datasets(asks)
    asks["protocols"]["paper_residual"]["ablation"] = False  # then cells alone runs it: it has IR
    signals.check_datasets(asks)


def test_a_user_csv_names_its_own_signal_columns(tmp_path):
    rows = [{"cell": f"c{i:02d}", "n": k, "ah": 1.1 - 0.0004 * (i + 1) * k,
             "r_ohm": 0.015 + 1e-5 * k, "IR": 0.0}
            for i in range(10) for k in range(1, 81)]
    path = tmp_path / "mine.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    dataset = {"adapter": "csv", "file": str(path), "soh_reference_ah": 1.1,
               "cell_column": "cell", "cycle_column": "n", "capacity_column": "ah",
               "signal_columns": {"IR": "r_ohm"}}
    cleaning = load_config()["cleaning"]
    src = load_source(dataset, cleaning)
    # the mapped column replaces the file's own IR column (all zeros: no record)
    splits, _, _ = protocols.build("p", {**CELLS, "signals": ["ir_level"]}, src)
    w = splits["train"]
    assert np.array_equal(w.s[:, 0], np.rint(1e6 * (0.015 + 1e-5 * (w.start + 1 + 14.5))))
    with pytest.raises(InputError, match="mine.csv.*'resistance'.*signal_columns: IR"):
        load_source({**dataset, "signal_columns": {"IR": "resistance"}}, cleaning)


def test_resistance_temperature_and_charge_time_read_valid_cycles_only():
    src = source()
    names = ["ir_level", "ir_change", "temperature", "charge_time"]
    left_out = []
    splits, scaler, series = protocols.build("p", {**CELLS, "signals": names}, src,
                                             left_out=left_out)
    everything = [(c, s) for w in splits.values() for c, s in zip(w.cell, w.start)]
    # c03 has no IR at all; c05's windows before its 40th value have no IR in their last 10
    assert not any(c == "c03" for c, _ in everything)
    assert not any(c == "c05" and s + 20 <= 40 for c, s in everything)
    assert any(c == "c05" for c, _ in everything)
    gaps = [w.row for w in left_out if "has no valid ir_level" in w.row["reason"]]
    assert {g["cell_id"] for g in gaps} == {"c03", "c05"}
    assert {w.why for w in left_out} == {"signal"}
    w = splits["train"]
    k = w.start + np.arange(20)[:, None]                  # (20, n) value positions in the cell
    ir = 0.015 + 1e-5 * k
    assert np.array_equal(w.s[:, 0], np.rint(1e6 * np.median(ir[10:], axis=0)))
    # 10 cycles of 1e-5 Ohm: 100 uOhm, but for c05's windows whose first cycles lack IR
    full = (w.cell != "c05") | (w.start >= 40)
    assert (w.s[full, 1] == 100).all() and (w.s[~full, 1] < 100).all()
    cell_index = np.array([int(c[1:]) for c in w.cell])
    assert np.array_equal(w.s[:, 2], np.rint(100 * (30.0 + 0.01 * cell_index)))
    assert (w.s[:, 3] == 13 * 60).all()                    # the 99-minute charges are implausible
    assert {"IR", "Tavg", "chargetime"} <= set(series.columns)


def test_the_ablation_compares_every_group_on_the_same_windows():
    from dlnet import ablation

    splits, scaler, series = protocols.build("p", {**CELLS, "signals": []}, source())
    tried = ["cycle", "ir_level"]
    alone, _ = ablation.with_signals(splits, scaler, series, [], tried)
    both, fitted = ablation.with_signals(splits, scaler, series, tried, tried)
    for s in splits:
        assert np.array_equal(alone[s].start, both[s].start)
        assert np.array_equal(alone[s].cell, both[s].cell)
    assert len(alone["train"]) < len(splits["train"])      # c03 and c05 train, without IR
    assert alone["train"].s.shape[1] == 0 and both["train"].s.shape[1] == 2
    assert [g["name"] for g in fitted.signals] == tried


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


def test_the_shipped_sources_carry_what_they_record():
    """severson2019 records IR, temperature and charge time for some cells and never for the
    secondary test cells (data/README.md); the DLNet paper's series records none of them."""
    from conftest import ROOT

    from dlnet.config import load as load_config
    from dlnet.data.severson import load_summary
    from dlnet.standalone import build_protocol

    table = load_summary(ROOT / "data/severson2019/severson_summary.csv.gz")
    assert {"IR", "Tavg", "chargetime"} <= set(table.columns)
    recorded = table.groupby("cell_id")["IR"].apply(lambda v: np.isfinite(signals.valid("IR", v)).any())
    assert 0 < recorded.sum() < len(recorded)
    config = load_config(ROOT / "config.yaml")
    config["protocols"]["paper"]["signals"] = ["temperature"]
    with pytest.raises(InputError, match="has no column 'Tavg'"):
        build_protocol(config, "paper", ROOT)


def test_the_summary_says_which_signals_validation_prefers():
    from dlnet import summary

    def record(group, names, maes):
        return {"group": group, "signals": names, "model": "h4-tiny",
                "runs": [{"windows": {"val": 9}, "val_mae": m, "test_mae": 1.0} for m in maes]}

    records = [record("soh", [], [0.0100, 0.0102]), record("cycle", ["cycle"], [0.0090, 0.0092]),
               record("ir_level", ["ir_level"], [0.0098, 0.0099]),
               record("ir_change", ["ir_change"], [0.0089, 0.0095])]
    table = summary.signals_table(records, ["cycle"])
    assert table["val_change"].round(3).tolist() == [0.0, -0.099, -0.025, -0.089]
    text = summary.signals_text(["cycle"], table, 0.05)
    assert "Validation prefers cycle: -9.9%" in text and "read just that" in text
    # ir_change gains enough and is within the seeds' noise of cycle; ir_level gains too little
    assert "read ir_change (-8.9%), within the seeds' noise" in summary.signals_text(
        ["ir_change"], table, 0.05)
    assert "read ir_level: change its `signals`" in summary.signals_text(["ir_level"], table, 0.05)
    assert "read no signal: change its `signals`" in summary.signals_text([], table, 0.05)
    assert "no group of exactly the protocol's signals (cycle, ir_level)" in \
        summary.signals_text(["cycle", "ir_level"], table, 0.05)
    # a gain below min_gain does not count: the SOH window alone is the choice
    text = summary.signals_text(["cycle"], table, 0.12)
    assert "No group lowers validation MAE by 12%" in text and "change its `signals`" in text
    assert "read just that" in summary.signals_text([], table, 0.12)


def test_a_split_emptied_by_a_signal_says_so_and_zero_is_no_reading():
    src = source()
    src.series.loc[src.series["cell_id"] == "c07", "IR"] = 0.0       # the validation cell
    with pytest.raises(InputError, match=r"no val windows \(\d+ left out for lack of a signal"):
        protocols.build("p", {**CELLS, "signals": ["ir_level"]}, src)
    assert np.isnan(signals.valid("Tavg", [0.0, -41.0, 81.0])).all()
    assert signals.valid("Tavg", [-5.0, 25.0]).tolist() == [-5.0, 25.0]
    assert signals.window_values(["ir_level"], {}, [], np.zeros(0, int), 20).shape == (0, 1)


def test_the_ablation_refuses_a_signal_its_series_lacks():
    from dlnet import ablation

    splits, scaler, series = protocols.build("p", {**CELLS, "signals": []}, source())
    with pytest.raises(InputError, match="s.csv.gz.*has no column 'IR'.*ablation.signals"):
        ablation.with_signals(splits, scaler, series.drop(columns=["IR"]), [], ["ir_level"],
                              "results/p/data/s.csv.gz")
    no_ir = series.assign(IR=0.0)
    with pytest.raises(InputError, match="no train window has a value of every signal"):
        ablation.with_signals(splits, scaler, no_ir, [], ["ir_level"])
