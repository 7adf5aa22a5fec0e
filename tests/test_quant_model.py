"""The whole int8 model on real windows, its file formats and the loaders' error messages."""

import re
import struct
import zlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from conftest import shipped_splits
from dlnet import model as net
from dlnet import protocols
from dlnet.errors import InputError
from dlnet.io import save_torch, write_json
from dlnet.layers import SEQUENCE
from dlnet.metrics import errors
from dlnet.quant import blob as fmt
from dlnet.quant import header, qmodel, reference
from dlnet.quant.random_models import random_linear, random_model, soh_windows
from dlnet.run import selected
from dlnet.run.train_common import scaled
from dlnet.training import TrainConfig, fit, predict, set_determinism

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module", params=["cells", "paper"])
def trained(request):
    """A width-4 student trained for 6 epochs (about a second) on the shipped data, with the
    protocol's signals (cells: the cycle number; paper: none)."""
    splits, scaler = shipped_splits(request.param)
    set_determinism(0, 1)
    model = net.LiquidNet(net.student_config(4, 16, 16, 16, signals=len(scaler.signals)))
    fit(model, TrainConfig(epochs=6, seed=0), scaled(splits["train"], scaler),
        scaled(splits["val"], scaler), scaler.span, log=lambda s: None)
    return request.param, model, scaler, splits


def test_int8_model_tracks_the_float_model_on_real_windows(trained):
    """Asserted on every held-out split: int8 MAE within 2% of float MAE, and the mean gap
    between the two forecasts under 0.001 SOH (measured: cells 0.0002, paper 0.0005)."""
    protocol, model, scaler, splits = trained
    qm = qmodel.quantize(model, scaler, splits["train"].inputs)
    for name, w in splits.items():
        if name == "train":
            continue
        f, q = predict(model, scaler, w.inputs), reference.predict(qm, w.inputs)
        mae_f, mae_q = errors(w.y, f)["mae"], errors(w.y, q)["mae"]
        assert abs(mae_q - mae_f) <= 0.02 * mae_f, (protocol, name, mae_f, mae_q)
        assert np.abs(f - q).mean() < 0.001, (protocol, name)


def test_quantization_is_deterministic_and_survives_the_blob_and_header(trained, tmp_path):
    protocol, model, scaler, splits = trained
    a = qmodel.quantize(model, scaler, splits["train"].inputs, weights="per_tensor")
    b = qmodel.quantize(model, scaler, splits["train"].inputs, weights="per_tensor")
    data = fmt.to_bytes(a)
    assert data == fmt.to_bytes(b)
    path = tmp_path / "dlnet_model.h"
    path.write_text(header.text(a, source="test"))
    assert header.read_bytes(path) == data
    x = reference.predict(a, splits["test"].inputs[:50])
    assert np.array_equal(reference.predict(header.read(path), splits["test"].inputs[:50]), x)
    assert f"#define DLNET_SCRATCH_BYTES {qmodel.scratch_bytes(a.dims)}" in path.read_text()


@pytest.fixture(scope="module")
def small_blob():
    rng = np.random.default_rng(3)
    model, scaler = random_model(rng, "lowrank")
    qm = qmodel.quantize(model, scaler, soh_windows(rng, 64, model.cfg.input_len))
    return fmt.to_bytes(qm)


RECORDS = fmt.HEADER_BYTES + 4 * len(fmt.DIMS)   # offset of the first layer record
ANCHOR = RECORDS + 4 * len(SEQUENCE)             # offset of the anchor's kind


def recrc(data):
    """The blob with its size and CRC fields recomputed, as if written that way."""
    body = data[fmt.HEADER_BYTES:]
    return struct.pack("<4I", fmt.MAGIC, fmt.VERSION, len(data), zlib.crc32(body)) + body


@pytest.mark.parametrize("damage,message", [
    (lambda b: b[:100] + bytes([b[100] ^ 1]) + b[101:], "fails its checksum"),
    (lambda b: b"XLNQ" + b[4:], "not a DLNet int8 model"),
    (lambda b: b[:4] + struct.pack("<I", fmt.VERSION + 1) + b[8:],
     f"format version {fmt.VERSION + 1}"),
    (lambda b: b[:-3], "says it holds"),
    (lambda b: b[:8], "fewer than the 16-byte header"),
    (lambda b: recrc(b[:-3]), "ends inside field"),
    (lambda b: recrc(b + b"\0"), "bytes after its last field"),
    (lambda b: recrc(b[:16] + struct.pack("<i", 7) + b[20:]), "network code 7"),
    (lambda b: recrc(b[:20] + struct.pack("<i", 2000) + b[24:]), "input_len = 2000"),
    (lambda b: recrc(b[:ANCHOR] + struct.pack("<i", 7) + b[ANCHOR + 4:]), "anchor kind 7"),
    (lambda b: recrc(b[:RECORDS] + b"\x09" + b[RECORDS + 1:]), r"layer records \[\(9,"),
    (lambda b: recrc(b[:RECORDS + 5] + b"\x01" + b[RECORDS + 6:]), "layer records"),  # S16
    (lambda b: recrc(b[:RECORDS + 6] + struct.pack("<H", 2000) + b[RECORDS + 8:]),
     "enc_hidden = 2000"),
])
def test_python_loader_names_the_damage(small_blob, damage, message):
    with pytest.raises(InputError, match=message) as e:
        fmt.from_bytes(damage(small_blob), source="results/x/deploy/dlnet_model.h")
    assert "results/x/deploy/dlnet_model.h" in str(e.value) and "Fix:" in str(e.value)


def test_every_blob_field_starts_at_a_multiple_of_4():
    """Format 2: each field at a 4-byte boundary, holding the model's value, zero padding after
    it; so the core's 32-bit loads of an aligned blob are aligned."""
    rng = np.random.default_rng(2)
    models = []
    for coupling in ("full", "lowrank"):
        model, scaler = random_model(rng, coupling)
        models.append(qmodel.quantize(model, scaler, soh_windows(rng, 32, model.cfg.input_len)))
    models += [random_linear(rng), qmodel.quantize_polynomial(30, 7, 5, 1)]
    for qm in models:
        data = fmt.to_bytes(qm)
        coupling = qm.cell.coupling if qm.network == "liquid" else "full"
        assert len(data) == fmt.size_of({**qm.dims, "coupling": coupling})

        def walk(obj, fields, pos):
            for name, kind, shape in fields:
                if isinstance(kind, type):
                    pos = walk(fmt._field(obj, name), shape, pos)
                    continue
                assert pos % 4 == 0, name
                raw = np.asarray(fmt._field(obj, name) if name != "kind" else
                                 qmodel.ANCHORS.index(obj.kind)).astype(fmt._DTYPES[kind])
                end = pos + raw.nbytes
                assert data[pos:end] == raw.tobytes(), name
                assert data[end:fmt.padded(end)] == bytes(fmt.padded(end) - end), name
                pos = fmt.padded(end)
            return pos

        d = fmt.stored_dims(qm)
        assert data[RECORDS:RECORDS + 4 * d["layers"]] == b"".join(
            struct.pack("<i", fmt.pack_record(*r)) for r in fmt.records(d))
        assert walk(qm, fmt.layout(d), RECORDS + 4 * d["layers"]) == len(data)


def test_python_loader_rejects_a_parameter_the_core_would_reject(small_blob):
    qm = fmt.from_bytes(small_blob)
    qm.layers["dec_inner"].mult[0] = 12345                         # not a normalized multiplier
    with pytest.raises(ValueError, match="not normalized"):
        fmt.to_bytes(qm)


def test_header_reader_catches_edits(small_blob, tmp_path):
    qm = fmt.from_bytes(small_blob)
    path = tmp_path / "dlnet_model.h"
    text = header.text(qm)
    byte = list(re.finditer(r"0x([0-9a-f]{2}),", text))[200]     # a weight of the first layer
    edited = f"0x{int(byte.group(1), 16) ^ 1:02x},"
    path.write_text(text[:byte.start()] + edited + text[byte.end():])
    with pytest.raises(InputError, match="checksum"):
        header.read(path)
    path.write_text(text.replace("#define DLNET_MODEL_BYTES ", "#define DLNET_MODEL_BYTES 1"))
    with pytest.raises(InputError, match="DLNET_MODEL_BYTES"):
        header.read(path)
    path.write_text("int x;\n")
    with pytest.raises(InputError, match="not a generated DLNet model header"):
        header.read(path)


def test_deploy_rules_reject_a_corrupt_or_mismatched_checkpoint(tmp_path):
    splits, scaler = shipped_splits("cells")
    bad = tmp_path / "model.pt"
    inputs = SimpleNamespace(dataset=tmp_path / "dataset.npz", info=tmp_path / "dataset.json",
                             selected=tmp_path / "selected.json", model=str(bad))
    protocols.save(inputs.dataset, {s: splits[s] for s in ("train", "val")})
    write_json(inputs.info, {"scaler": scaler.to_dict()})
    bad.write_bytes(b"not a checkpoint")
    write_json(inputs.selected, {"kind": "liquid", "model": str(bad)})
    with pytest.raises(InputError, match="not a DLNet checkpoint"):
        selected.load(inputs)
    other = net.LiquidNet(net.student_config(2, 8, 8, 8))
    save_torch(bad, net.checkpoint(other, type(scaler)("minmax", span=0.3, offset=0.7)))
    with pytest.raises(InputError, match="trained with scaling"):
        selected.load(inputs)
    save_torch(bad, net.checkpoint(net.LiquidNet(net.student_config(2, 8, 8, 8, input_len=50)),
                                   scaler))
    with pytest.raises(InputError, match="maps 50 -> 100"):
        selected.load(inputs)
    inputs.model = str(tmp_path / "other.pt")
    with pytest.raises(InputError, match="planned with"):
        selected.load(inputs)


def test_quantize_refuses_a_model_with_non_finite_parameters():
    rng = np.random.default_rng(4)
    model, scaler = random_model(rng, "full")
    with torch.no_grad():
        model.cell.beta[0] = float("inf")
    with pytest.raises(ValueError), np.errstate(all="ignore"):
        qmodel.quantize(model, scaler, soh_windows(rng, 32, model.cfg.input_len))
