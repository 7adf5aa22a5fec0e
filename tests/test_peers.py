"""Peers: a published int8 TFLite model scored by this project's code in TFLite Micro. The tests
build their own peer: a paper-protocol student converted to int8 TFLite (conftest.exported)."""

import json
from types import SimpleNamespace

import numpy as np
import pytest

from dlnet import peers, protocols
from dlnet.data.download import sha256_of
from dlnet.errors import InputError
from dlnet.export.micro import Micro, arena_size
from dlnet.run.score_peer import run
from dlnet.windows import WindowSet

FIRMWARE = {"min": 0.8178250862, "max": 1.0064095116}


@pytest.fixture(scope="module")
def micro(exported):
    *_, path, data = exported
    return Micro(data, arena_size(path)[0])


def test_protocol_scaling_reproduces_the_models_own_scaler(exported, micro):
    """The peer was trained with the paper protocol's min-max scaler, so `train_minmax` must
    give what the model's own scaler gives, window for window."""
    _, scaler, splits, *_ = exported
    result = peers.score(micro, splits, {"protocol": "train_minmax"}, "peer.tflite")["protocol"]
    assert (result["min"], result["max"]) == pytest.approx((scaler.offset, scaler.offset + scaler.span))
    for s in ("val", "test", "segments"):
        w = splits[s]
        own = scaler.inverse(w.x, micro.predict_scaled(scaler.transform(w.x)))
        assert result[s]["mae"] == pytest.approx(np.abs(own - w.y).mean(), rel=1e-9)
        assert result[s]["n_windows"] == len(w)
    assert "train" not in result


def test_a_mismatched_scaler_costs_accuracy_and_is_counted(exported, micro):
    """The paper's firmware scaler on windows the model learned under another one."""
    *_, splits, _, _ = exported
    result = peers.score(micro, splits, {"firmware": FIRMWARE, "protocol": "train_minmax"},
                         "peer.tflite")
    assert result["firmware"]["min"] == FIRMWARE["min"]
    assert result["firmware"]["segments"]["mae"] > result["protocol"]["segments"]["mae"]
    # the paper's series reach below the firmware's minimum: those inputs clip at int8's end
    assert result["firmware"]["inputs_clipped"]["test"] > result["protocol"]["inputs_clipped"]["test"]


def test_window_sizes_must_match(micro):
    short = WindowSet(np.ones((3, 50)), np.ones((3, 100)), ["c"] * 3, [0, 1, 2])
    with pytest.raises(InputError, match="maps 100 -> 100 values"):
        peers.score(micro, {"train": short, "val": short}, {"p": "train_minmax"}, "peer.tflite")


@pytest.fixture
def rule_inputs(exported, tmp_path):
    *_, splits, _, _ = exported
    protocols.save(tmp_path / "dataset.npz", {s: splits[s] for s in ("train", "val", "segments")})
    return tmp_path


def test_rule_scores_a_present_peer(exported, rule_inputs):
    *_, path, data = exported
    peer = {"label": "a test peer", "sha256": sha256_of(path), "scalings": {"firmware": FIRMWARE}}
    out = rule_inputs / "metrics.json"
    run(SimpleNamespace(model=str(path), dataset=str(rule_inputs / "dataset.npz")),
        SimpleNamespace(metrics=str(out)),
        SimpleNamespace(name="test", peer=peer, path=str(path)), str(rule_inputs / "log"))
    m = json.loads(out.read_text())
    assert m["status"] == "scored" and m["sha256_matches_pin"] is True
    assert m["flatbuffer_bytes"] == len(data) and m["macs"] > 100 * 16
    assert set(m["scalings"]["firmware"]) >= {"val", "segments", "inputs_clipped"}


def test_rule_says_how_to_fetch_an_absent_peer(rule_inputs):
    out = rule_inputs / "metrics.json"
    peer = {"label": "the paper's model", "url": "https://example.org/model.tflite",
            "scalings": {"firmware": FIRMWARE}}
    run(SimpleNamespace(dataset=str(rule_inputs / "dataset.npz")),
        SimpleNamespace(metrics=str(out)),
        SimpleNamespace(name="paper", peer=peer, path="data/peers/paper.tflite"),
        str(rule_inputs / "log"))
    m = json.loads(out.read_text())
    assert m["status"] == "absent"
    assert m["how"] == "fetch it with: snakemake --cores 1 data/peers/paper.tflite"
