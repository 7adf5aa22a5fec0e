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
from dlnet.io import save_torch, write_json
from dlnet.quant import header, host
from dlnet.quant.random_models import randomized
from dlnet.run.quantize import run, run_verify
from dlnet.windows import WindowSet


ROOT = Path(__file__).resolve().parents[1]


class Input(SimpleNamespace):
    """Stands in for Snakemake's input object (attribute access and .get)."""

    def get(self, key, default=None):
        return getattr(self, key, default)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    splits, scaler = shipped_splits("cells")
    small = {s: WindowSet(w.x[::20], w.y[::20], w.cell[::20], w.start[::20])
             for s, w in splits.items()}
    d = tmp_path_factory.mktemp("deploy")
    protocols.save(d / "dataset.npz", small)
    write_json(d / "dataset.json", {"scaler": scaler.to_dict()})
    model = randomized(net.LiquidNet(net.student_config(4, 16, 16, 16)), np.random.default_rng(8))
    save_torch(d / "model.pt", net.checkpoint(model, scaler))
    write_json(d / "selected.json", {"model": str(d / "model.pt")})
    inputs = Input(selected=str(d / "selected.json"), model=str(d / "model.pt"),
                   dataset=str(d / "dataset.npz"), info=str(d / "dataset.json"))
    out = SimpleNamespace(header=str(d / "dlnet_model.h"), metrics=str(d / "int8_metrics.json"),
                          size=str(d / "int8_size.json"))
    config = yaml.safe_load((ROOT / "config.yaml").read_text())["deploy"]
    params = SimpleNamespace(seed=1, quantization={k: v for k, v in config.items() if k != "verify"},
                             verify={"random_models": 2, "random_windows": 50})
    run(inputs, out, params, str(d / "quantize.log"))
    return d, params, small


def test_quantize_writes_header_metrics_and_sizes(deployed):
    d, _, small = deployed
    metrics = json.loads((d / "int8_metrics.json").read_text())
    assert set(metrics["float"]) == set(metrics["int8"]) == set(small)
    for s, w in small.items():
        assert metrics["int8"][s]["n_windows"] == metrics["n_windows"][s] == len(w)
        assert abs(metrics["agreement"][s]["mae_change_percent"]) < 5
    q = metrics["quantization"]
    assert q["weights"] == "per_channel" and q["calibration"] == "minmax" and q["headroom"] == 1.25
    assert "versions" in metrics and metrics["seed"] == 1
    size = json.loads((d / "int8_size.json").read_text())
    assert size["weight_bytes"] == 100 * 16 + 16 * 4 + 4 * 2 * 2 + 4 * 16 + 16 * 16 + 16 * 100
    assert size["scratch_bytes"] == 248 and size["model_bytes"] < size["float32_bytes"]
    assert header.read(d / "dlnet_model.h").dims["width"] == 4


@pytest.mark.skipif(host.compiler() is None, reason="no C compiler (gcc or $CC) for the host build")
def test_verify_native_compares_real_and_random_windows(deployed):
    d, params, small = deployed
    inputs = Input(header=str(d / "dlnet_model.h"), dataset=str(d / "dataset.npz"),
                   core=[str(host.CORE / "dlnet_core.c"), str(host.CORE / "dlnet_core.h")],
                   host=str(host.HOST / "dlnet_host.c"))
    run_verify(inputs, SimpleNamespace(verify=str(d / "verify.json")), params,
               str(d / "verify.log"))
    v = json.loads((d / "verify.json").read_text())["summary"]
    assert v["all_exact"] and v["rejections_ok"]
    assert v["real_windows"] == sum(len(w) for w in small.values())
    assert v["random_windows"] == 100

