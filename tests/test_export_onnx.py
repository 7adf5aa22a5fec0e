"""Float ONNX export: onnxruntime reproduces PyTorch on real windows, for any batch size."""

from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import shipped_splits
from dlnet import model as net
from dlnet.export.onnx_model import export, max_abs_diff

ROOT = Path(__file__).resolve().parents[1]
TOLERANCE = 1e-5  # scaled units; float32 rounding differences measured at 3e-8 to 2e-7


def cells_windows():
    """Scaled windows of every split of the cells protocol, from the data shipped in data/."""
    splits, scaler = shipped_splits("cells")
    return {s: scaler.transform(w.x) for s, w in splits.items()}


@pytest.mark.parametrize("cfg", [
    net.student_config(4, enc_hidden=16, dec_hidden=16, dec_mid=16),
    net.teacher_config(enc_hidden=32, width=8, dec_hidden=32, dec_mid=16, steps=3, dt=1 / 3),
], ids=["student", "teacher"])
def test_onnx_matches_pytorch_on_real_windows(cfg, tmp_path):
    torch.manual_seed(0)
    model = net.LiquidNet(cfg).eval()
    with torch.no_grad():                # move every parameter off its initial value
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    path = tmp_path / "model.onnx"
    export(model, path, cfg.input_len, opset=17)
    windows = cells_windows()
    windows["one"] = windows["test"][:1]  # the batch dimension is free
    diff = max_abs_diff(path, model, windows)
    assert set(diff) == set(windows)
    assert max(diff.values()) < TOLERANCE, diff
    assert np.isfinite(list(diff.values())).all()


def test_the_scaling_the_graph_leaves_out_travels_in_its_metadata(tmp_path):
    import json

    import onnx

    _, scaler = shipped_splits("cells")
    cfg = net.student_config(4, enc_hidden=16, dec_hidden=16, dec_mid=16, signals=1)
    path = tmp_path / "model.onnx"
    export(net.LiquidNet(cfg), path, cfg.n_inputs, opset=17,
           metadata={"dlnet.model": "h4", "dlnet.seed": 42,
                     "dlnet.scaler": json.dumps(scaler.to_dict())})
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert props["dlnet.model"] == "h4" and props["dlnet.seed"] == "42"
    assert json.loads(props["dlnet.scaler"]) == scaler.to_dict()
    onnx.checker.check_model(str(path))
