"""Rules quantize and verify_native, called as their scripts call them, on shipped-data windows."""

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml

from conftest import shipped_splits
from dlnet import model as net
from dlnet import protocols
from dlnet.errors import InputError
from dlnet.firmware import core_files
from dlnet.io import save_torch, write_json
from dlnet.quant import header, host
from dlnet.quant.random_models import randomized
from dlnet.run.train_common import scaled
from dlnet.training import TrainConfig, fit, set_determinism
from dlnet.run.quantize import run
from dlnet.run.verify_native import run as run_verify
from dlnet.windows import WindowSet


ROOT = Path(__file__).resolve().parents[1]


class Input(SimpleNamespace):
    """Stands in for Snakemake's input object (attribute access and .get)."""

    def get(self, key, default=None):
        return getattr(self, key, default)


def small_cells():
    """Every 20th window of the shipped cells splits (with their signals: config.yaml gives the
    protocol the cycle number), and the protocol's scaler."""
    splits, scaler = shipped_splits("cells")
    return {s: WindowSet(w.x[::20], w.y[::20], w.cell[::20], w.start[::20], w.s[::20])
            for s, w in splits.items()}, scaler


def n_signals():
    """The signals the shipped cells protocol reads (config.yaml)."""
    return len(shipped_splits("cells")[1].signals)


def selected_model(d, model):
    """A deploy folder as rule quantize reads it: the small cells windows, `model` as the
    selected checkpoint; (windows, rule params from config.yaml)."""
    small, scaler = small_cells()
    protocols.save(d / "dataset.npz", small)
    write_json(d / "dataset.json", {"scaler": scaler.to_dict()})
    save_torch(d / "model.pt", net.checkpoint(model, scaler))
    write_json(d / "selected.json", {"name": "h4", "kind": "liquid", "model": str(d / "model.pt")})
    config = yaml.safe_load((ROOT / "config.yaml").read_text())["deploy"]
    params = SimpleNamespace(seed=1, quantization={k: v for k, v in config.items()
                                                   if k not in ("verify", "int8_tolerance")},
                             int8_tolerance=config["int8_tolerance"],
                             verify={"random_models": 2, "random_windows": 50})
    return small, params


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    d = tmp_path_factory.mktemp("deploy")
    model = randomized(net.LiquidNet(net.student_config(4, 16, 16, 16, signals=n_signals())),
                       np.random.default_rng(8))
    small, params = selected_model(d, model)
    quantize_into(d, d, params)
    return d, params, small


def quantize_into(d, out_dir, params):
    """Rule quantize on the `deployed` model, writing into `out_dir`; the output namespace."""
    inputs = Input(selected=str(d / "selected.json"), model=str(d / "model.pt"),
                   dataset=str(d / "dataset.npz"), info=str(d / "dataset.json"))
    out = SimpleNamespace(header=str(out_dir / "dlnet_model.h"),
                          metrics=str(out_dir / "int8_metrics.json"),
                          size=str(out_dir / "int8_size.json"))
    run(inputs, out, params, str(out_dir / "quantize.log"))
    return out


def test_quantize_writes_header_metrics_and_sizes(deployed):
    d, _, small = deployed
    metrics = json.loads((d / "int8_metrics.json").read_text())
    assert set(metrics["float"]) == set(metrics["int8"]) == set(small)
    for s, w in small.items():
        assert metrics["int8"][s]["n_windows"] == metrics["n_windows"][s] == len(w)
        assert abs(metrics["agreement"][s]["mae_change_percent"]) < 5
    q = metrics["quantization"]
    assert q["weights"] == "per_channel" and q["calibration"] == "minmax" and q["headroom"] == 1.25
    # selected.json names no seed here; the run's own seed is recorded beside
    assert "versions" in metrics and metrics["seed"] is None and metrics["config_seed"] == 1
    size = json.loads((d / "int8_size.json").read_text())
    k = n_signals()
    assert size["weight_bytes"] == (100 + k) * 16 + 16 * 4 + 4 * 2 * 2 + 4 * 16 + 16 * 16 + 16 * 100
    # scratch, from the C core's three regions (qmodel.scratch_bytes): the int16 input window and
    # signals; the int16 output of the widest Linear before a LayerNorm; h0, h, the tanh input
    # and V^T h
    input_len, hidden, width, rank = 100, 16, 4, 2
    assert size["scratch_bytes"] == (-(-2 * (input_len + k) // 4) * 4 + 2 * hidden
                                     + -(-(3 * width + rank) // 4) * 4)
    assert size["model_bytes"] < size["float32_bytes"]
    assert header.read(d / "dlnet_model.h").dims["width"] == 4
    # what a firmware engineer needs beside the bytes: which model, each signal's unit and the
    # range training saw, and the rounding into Q7.24
    text = (d / "dlnet_model.h").read_text()
    train_s = protocols.load(d / "dataset.npz")["train"].s
    assert f"signals[0]: cycle, a raw integer in cycles (dlnet/signals.py); training windows " \
           f"{int(train_s[:, 0].min()):,} to {int(train_s[:, 0].max()):,}." in text
    assert "q = floor(soh * 2^24 + 0.5)" in text and " * Deployed: " in text


def verified(d, dataset, params):
    """Rule verify_native on the header in folder d: the summary of verify.json."""
    inputs = Input(header=str(d / "dlnet_model.h"), dataset=str(dataset),
                   core=[str(ROOT / f) for f in core_files.rule_inputs()],
                   host=str(host.HOST / "dlnet_host.c"))
    run_verify(inputs, SimpleNamespace(verify=str(d / "verify.json")), params,
               str(d / "verify.log"))
    return json.loads((d / "verify.json").read_text())["summary"]


@pytest.mark.skipif(host.compiler() is None, reason="no C compiler (gcc or $CC) for the host build")
def test_the_gate_records_what_quantizing_the_model_costs(deployed):
    d, params, small = deployed
    gate = json.loads((d / "int8_metrics.json").read_text())["gate"]
    metrics = json.loads((d / "int8_metrics.json").read_text())
    assert gate["float_mae"] == metrics["float"]["val"]["mae"]
    assert gate["int8_mae"] == metrics["int8"]["val"]["mae"]
    assert gate["quantization"] == pytest.approx(gate["int8_mae"] / gate["float_on_inputs_mae"] - 1)
    assert gate["passed"] and gate["tolerance"] == params.int8_tolerance


def test_a_quantization_that_loses_accuracy_fails_the_rule(tmp_path):
    """A student trained for a few epochs, its activation ranges calibrated at the 51st
    percentile (half of every range clipped): the int8 model loses more than the tolerance, and
    the rule fails with the numbers and the fix, writing nothing. Without the gate the same
    quantization passes, and records what it lost."""
    set_determinism(0, 1)
    small, scaler = small_cells()
    model = net.LiquidNet(net.student_config(4, 16, 16, 16, signals=len(scaler.signals)))
    fit(model, TrainConfig(epochs=10, seed=0), scaled(small["train"], scaler),
        scaled(small["val"], scaler), scaler.span, log=lambda _: None)
    _, params = selected_model(tmp_path, model)
    clipped = {**params.quantization, "calibration": "percentile", "percentile": 51}
    failed = tmp_path / "failed"
    failed.mkdir()
    with pytest.raises(InputError) as err:
        quantize_into(tmp_path, failed, SimpleNamespace(**{**vars(params), "quantization": clipped}))
    assert "deploy.int8_tolerance allows +5.0%" in str(err.value)
    assert "deploy.calibration" in str(err.value) and str(tmp_path / "model.pt") in str(err.value)
    assert sorted(p.name for p in failed.iterdir()) == ["quantize.log"]
    ungated = tmp_path / "ungated"
    ungated.mkdir()
    out = quantize_into(tmp_path, ungated, SimpleNamespace(**{**vars(params), "quantization": clipped,
                                                               "int8_tolerance": None}))
    gate = json.loads(Path(out.metrics).read_text())["gate"]
    assert gate["passed"] and gate["quantization"] > params.int8_tolerance
    default = tmp_path / "default"
    default.mkdir()
    out = quantize_into(tmp_path, default, params)
    assert json.loads(Path(out.metrics).read_text())["gate"]["quantization"] < params.int8_tolerance


def test_verify_native_compares_real_and_random_windows(deployed):
    d, params, small = deployed
    v = verified(d, d / "dataset.npz", params)
    assert v["all_exact"] and v["rejections_ok"]
    assert v["real_windows"] == sum(len(w) for w in small.values())
    # a linear network, a polynomial baseline and 2 random LiquidNets, 50 windows each
    assert v["random_models"] == 4 and v["random_windows"] == 200



@pytest.fixture(scope="module")
def without_network(tmp_path_factory, deployed):
    """The quantize rule on the two deployable models without a liquid network: ridge
    regression (rule learned_baselines' ridge.npz) and the int8 quadratic baseline."""
    from dlnet.learned import RidgeForecaster
    from dlnet.io import save_npz

    src, params, small = deployed
    splits, scaler = shipped_splits("cells")
    ridge = RidgeForecaster(scaler, 0.1).fit(splits["train"])
    out = {}
    for kind in ("linear", "polynomial"):
        d = tmp_path_factory.mktemp(kind)
        if kind == "linear":
            save_npz(d / "ridge.npz", weight=ridge.weight, bias=ridge.bias, alpha=0.1,
                     scaler=json.dumps(scaler.to_dict()))
            chosen = {"name": "ridge (alpha=0.1)", "kind": "linear", "model": str(d / "ridge.npz")}
        else:
            chosen = {"name": "quadratic (k=70, int8)", "kind": "polynomial",
                      "model": str(d / "baselines.json"), "degree": 2, "fit_len": 70}
        write_json(d / "selected.json", chosen)
        inputs = Input(selected=str(d / "selected.json"), model=chosen["model"],
                       dataset=str(src / "dataset.npz"), info=str(src / "dataset.json"))
        run(inputs, SimpleNamespace(header=str(d / "dlnet_model.h"),
                                    metrics=str(d / "int8_metrics.json"),
                                    size=str(d / "int8_size.json")), params, str(d / "q.log"))
        out[kind] = d
    return out, ridge, small


@pytest.mark.parametrize("kind", ["linear", "polynomial"])
def test_quantize_deploys_ridge_and_a_baseline(without_network, kind):
    dirs, ridge, small = without_network
    d = dirs[kind]
    metrics = json.loads((d / "int8_metrics.json").read_text())
    size = json.loads((d / "int8_size.json").read_text())
    qm = header.read(d / "dlnet_model.h")
    assert metrics["kind"] == size["kind"] == kind and qm.network == {"linear": "linear",
                                                                      "polynomial": "none"}[kind]
    assert qm.trend.length == 70
    assert size["model_bytes"] == size["int8_bytes"]       # the Pareto table's cost is the blob
    # ridge reads the signals beside the window, a polynomial the window alone
    assert ("signals[0]: cycle" in (d / "dlnet_model.h").read_text()) == (kind == "linear")
    for s in small:
        # Q1.14 inputs and int8 weights move these forecasts by far less than their error
        assert abs(metrics["agreement"][s]["mae_change_percent"]) < 1, s
    if kind == "linear":
        assert size["weight_bytes"] == ridge.weight.size == 100 * (100 + n_signals())
        assert metrics["float"]["val"]["mae"] == pytest.approx(
            float(np.abs(ridge.predict(small["val"].inputs) - small["val"].y).mean()))
    else:
        assert size["weight_bytes"] == 0
        assert size["scratch_bytes"] == 2 * small["val"].x.shape[1]    # the int16 input alone


@pytest.mark.skipif(host.compiler() is None, reason="no C compiler (gcc or $CC) for the host build")
@pytest.mark.parametrize("kind", ["linear", "polynomial"])
def test_verify_native_is_bit_exact_without_a_liquid_network(without_network, deployed, kind):
    dirs, _, small = without_network
    v = verified(dirs[kind], deployed[0] / "dataset.npz", deployed[1])
    assert v["all_exact"] and v["rejections_ok"]
    assert v["real_windows"] == sum(len(w) for w in small.values())
