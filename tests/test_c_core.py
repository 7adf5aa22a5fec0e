"""The C core (firmware/core) against the NumPy reference, bit for bit, under ASan and UBSan.

Every test here builds the host program with gcc (or $CC) and skips, saying so, without one.
On the host the core takes its portable C dot products (the Cortex-M4 DSP path is checked in
QEMU by test_firmware_m4.py); -DDLNET_PORTABLE also turns off its little-endian blob reads.
"""

import ctypes
import shutil
import struct
import subprocess
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from conftest import shipped_splits
from dlnet import model as net
from dlnet.firmware import core_files
from dlnet import layers
from dlnet.layers import SEQUENCE
from dlnet.quant import blob as fmt
from dlnet.quant import header, host, qmodel, reference, verify
from dlnet.quant.fixedpoint import requant, rsqrt_multiplier, soh_to_q_in
from dlnet.quant.random_models import (calibration_inputs, mixed_windows, random_linear,
                                       random_model, random_signals, randomized, signal_values,
                                       soh_windows)

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(host.compiler() is None,
                                reason="no C compiler (gcc or $CC) to build firmware/core")


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("c_core")


@pytest.fixture(scope="module")
def sanitized(work):
    return host.build(work, "sanitized")[0]


SHAPES = {"student": net.student_config(4, 16, 16, 16),
          "teacher": net.teacher_config(enc_hidden=32, width=16, dec_hidden=32, dec_mid=16, steps=3,
                                        dt=1 / 3)}


@pytest.mark.parametrize("protocol,shape", [("cells", "student"), ("paper", "teacher")])
def test_bit_exact_on_every_real_window(sanitized, work, protocol, shape):
    """A random model of a deployed shape (100 -> 100; lowrank student, 3-step full-coupling
    teacher) reading the protocol's signals (config.yaml: the cycle number), calibrated on the
    protocol's training windows, run on all of its windows (train included) and their real
    signals: C and NumPy agree on every output value."""
    splits, scaler = shipped_splits(protocol)
    cfg = replace(SHAPES[shape], signals=len(scaler.signals))
    model = randomized(net.LiquidNet(cfg), np.random.default_rng(5))
    qm = qmodel.quantize(model, scaler, splits["train"].inputs[::4])
    x = soh_to_q_in(np.concatenate([w.x for w in splits.values()]))
    s = np.rint(np.concatenate([w.s for w in splits.values()])).astype(np.int64)
    result = verify.compare(qm, x, sanitized, work, model=fmt.to_bytes(qm),
                            s=s if qm.signals is not None else None)
    assert result["windows"] == len(x) > 1000
    assert result["mismatched_windows"] == 0 and result["max_abs_diff_lsb"] == 0


def test_bit_exact_on_6000_random_windows_of_24_random_models(sanitized, work):
    """16 LiquidNets: both couplings, all three scalings, per-channel and per-tensor weights,
    min/max and percentile calibration, one teacher-sized model; 4 linear networks and 4
    polynomial baselines; a quarter of the windows hostile (any int32, flat). Liquid and linear
    networks with and without 1 to 3 signals, their integers from the Scaler or random, their
    raw values a quarter hostile (any int32, its ends)."""
    result = verify.random_models(sanitized, work, n_models=16, n_windows=250, seed=123)
    assert result["windows"] == 6000
    cases = result["cases"]
    networks = [c["network"] for c in cases]
    assert networks.count("liquid") == 16 and networks.count("linear") == networks.count("none") == 4
    assert {c.get("coupling") for c in cases} == {"full", "lowrank", None}
    assert {c.get("scaling") for c in cases} == {"minmax", "anchored", "quadratic", None}
    assert {(c["network"], c["signals"] > 0) for c in cases} == {
        ("liquid", True), ("liquid", False), ("linear", True), ("linear", False), ("none", False)}
    assert {c["signal_integers"] for c in cases} == {"scaler", "random", None}
    assert {c["coupling"] for c in cases if c["network"] == "liquid" and c["signals"]} == \
        {"full", "lowrank"}
    bad = [c for c in result["cases"] if c["mismatched_windows"]]
    assert result["mismatched_windows"] == 0, bad


def test_portable_build_is_bit_exact_on_random_models(work):
    """-DDLNET_PORTABLE (byte-wise blob reads, plain C only) under ASan and UBSan: both
    couplings, odd sizes (dot product tails, odd numbers of rows), hostile windows."""
    exe, _ = host.build(work, "portable")
    result = verify.random_models(exe, work, n_models=6, n_windows=120, seed=77)
    assert {c.get("coupling") for c in result["cases"]} == {"full", "lowrank", None}
    assert {c["network"] for c in result["cases"]} == {"liquid", "linear", "none"}
    assert {c["signal_integers"] for c in result["cases"]} == {"scaler", "random", None}
    assert result["mismatched_windows"] == 0, [c for c in result["cases"]
                                                if c["mismatched_windows"]]


@pytest.fixture(scope="module")
def core_libs(work):
    """The core as shared libraries, default and -DDLNET_PORTABLE, for calling single ops."""
    libs = {}
    for name, flags in (("default", []), ("portable", ["-DDLNET_PORTABLE"])):
        out = work / f"libdlnet_{name}.so"
        subprocess.run([host.compiler(), *host.WARNINGS, "-O2", "-shared", "-fPIC", *flags,
                        *map(str, core_files.sources()), "-o", str(out)], check=True)
        lib = ctypes.CDLL(str(out))
        lib.dlnet_requant.restype = ctypes.c_int32
        lib.dlnet_requant.argtypes = [ctypes.c_int32] * 3
        lib.dlnet_rsqrt.argtypes = [ctypes.c_int64, ctypes.POINTER(ctypes.c_int32),
                                    ctypes.POINTER(ctypes.c_int32)]
        lib.dlnet_scale_signals.argtypes = [ctypes.POINTER(SignalsStruct), ctypes.c_int32,
                                            ctypes.POINTER(ctypes.c_int32),
                                            ctypes.POINTER(ctypes.c_int16)]
        lib.dlnet_trend_coefficients.argtypes = [ctypes.POINTER(TrendStruct), ctypes.c_int32,
                                                 ctypes.POINTER(ctypes.c_int32), ctypes.c_int32,
                                                 ctypes.POINTER(ctypes.c_int32)]
        lib.dlnet_add_trend.argtypes = [ctypes.POINTER(ctypes.c_int32), ctypes.c_int32,
                                        ctypes.c_int32, ctypes.POINTER(ctypes.c_int16)]
        libs[name] = lib
    return libs


class SignalsStruct(ctypes.Structure):
    """dlnet_signals_t."""
    _fields_ = [("offset", ctypes.c_void_p), ("mult", ctypes.c_void_p), ("shift", ctypes.c_void_p)]


@pytest.mark.parametrize("build", ["default", "portable"])
def test_scale_signals_equals_the_reference(core_libs, build):
    """dlnet_scale_signals against reference.scale_signals: random integers of every kind
    (multipliers of both signs and 0, every shift -31..30), raw values around the offsets and at
    the ends of int32, so that both the int32 saturation of raw - offset and the int16 one of
    the result are taken, many times each."""
    rng = np.random.default_rng(9)
    lib = core_libs[build]
    sat32 = sat16 = 0
    for _ in range(300):
        k = int(rng.integers(1, 9))
        sig = random_signals(rng, k)
        raw = signal_values(rng, 64, sig)
        raw[:4] = [[-2 ** 31] * k, [2 ** 31 - 1] * k, [0] * k, sig.offset]
        want = reference.scale_signals(sig, raw)
        offset, mult = (np.ascontiguousarray(a, "<i4") for a in (sig.offset, sig.mult))
        shift = np.ascontiguousarray(sig.shift, np.int8)
        p = SignalsStruct(offset.ctypes.data, mult.ctypes.data, shift.ctypes.data)
        got = np.zeros(k, np.int16)
        for row, w in zip(raw.astype(np.int32), want):
            row = np.ascontiguousarray(row)
            lib.dlnet_scale_signals(ctypes.byref(p), k,
                                    row.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)),
                                    got.ctypes.data_as(ctypes.POINTER(ctypes.c_int16)))
            assert np.array_equal(got, w), (sig, row)
        v = raw - sig.offset
        sat32 += int(((v < -2 ** 31) | (v > 2 ** 31 - 1)).sum())
        sat16 += int((np.abs(want) >= 2 ** 15 - 1).sum())
    assert sat32 > 1000 and sat16 > 1000, (sat32, sat16)


@pytest.mark.parametrize("build", ["default", "portable"])
def test_requant_equals_the_reference_on_both_of_its_paths(core_libs, build):
    """Shifts -31..30 cover the 32-bit path (shift < 0) and the 64-bit one, with extreme inputs
    and multipliers, saturation included."""
    rng = np.random.default_rng(3)
    n = 20000
    x = np.concatenate([rng.integers(-2 ** 31, 2 ** 31, n // 2), rng.integers(-300, 300, n // 2)])
    x[:64] = [-2 ** 31, 2 ** 31 - 1, 0, 1, -1, 2 ** 30, -2 ** 30, 3] * 8
    m = rng.integers(2 ** 30, 2 ** 31, n) * rng.choice([-1, 1], n)
    m[:64] = np.repeat([2 ** 30, 2 ** 31 - 1, -(2 ** 31 - 1), -(2 ** 30), 0, 2 ** 30 + 1,
                        -(2 ** 30 + 1), 2 ** 31 - 2], 8)
    s = rng.integers(-31, 31, n)
    lib = core_libs[build]
    got = np.array([lib.dlnet_requant(int(a), int(b), int(c)) for a, b, c in zip(x, m, s)])
    assert np.array_equal(got, requant(x, m, s))


class TrendStruct(ctypes.Structure):
    """dlnet_trend_t."""
    _fields_ = [("length", ctypes.c_int32), ("weight", ctypes.c_void_p),
                ("shift", ctypes.c_int32 * 3)]


@pytest.mark.parametrize("build", ["default", "portable"])
def test_trend_equals_the_reference_at_the_ends_of_its_ranges(core_libs, build):
    """dlnet_trend_coefficients and dlnet_add_trend against the reference, which multiplies out
    every sum and every t where the core sums each input once for the three coefficients and
    builds the parabola up by differences: weights up to |w| < 2^26, Q7.24 inputs at the int32
    ends, anchors at the int16 ends, coefficients at the int32 ends, fit lengths and horizons up
    to DLNET_MAX_DIM. Every saturation (x - a to the int16 d's range in Q7.24, the
    coefficients' int32, the forecast's int16) is taken many times."""
    rng = np.random.default_rng(11)
    lib = core_libs[build]
    i16, i32 = ctypes.POINTER(ctypes.c_int16), ctypes.POINTER(ctypes.c_int32)
    sat_e = sat_c = sat_y = 0
    for case in range(300):
        length = int(rng.choice([1, 2, 3, 70, 1024])) if case < 50 else int(rng.integers(1, 1025))
        n = min(1024, length + int(rng.integers(0, 40)))
        weight = rng.integers(-2 ** 26 + 1, 2 ** 26, (3, length))
        k = min(case % 4, length)
        weight[:, :k] = rng.choice([-2 ** 26 + 1, 2 ** 26 - 1], (3, k))
        shift = rng.integers(1, 63, 3)
        anchor = int(rng.choice([-2 ** 15, 0, 2 ** 15 - 1, int(rng.integers(-2 ** 15, 2 ** 15))]))
        # near the anchor (in Q7.24), or anywhere in int32
        x = (anchor << 10) + rng.integers(-2 ** 26, 2 ** 26, n) if case % 3 else \
            rng.integers(-2 ** 31, 2 ** 31, n)
        x = np.clip(x, -2 ** 31, 2 ** 31 - 1)
        k = min(case % 5, length)
        x[-length:][:k] = rng.choice([-2 ** 31, 2 ** 31 - 1], k)
        want_c = reference.trend_coefficients(qmodel.Trend(weight, shift), x[None],
                                              np.array([[anchor]]))[0]
        w = np.ascontiguousarray(weight, "<i4")
        p = TrendStruct(length, w.ctypes.data, (ctypes.c_int32 * 3)(*map(int, shift)))
        x32, c = np.ascontiguousarray(x, np.int32), np.zeros(3, np.int32)
        lib.dlnet_trend_coefficients(ctypes.byref(p), n, x32.ctypes.data_as(i32), anchor,
                                     c.ctypes.data_as(i32))
        assert np.array_equal(c, want_c), case
        e = x[-length:] - (anchor << 10)
        sat_e += int(((e < -2 ** 25) | (e >= 2 ** 25)).sum())
        sat_c += int((np.abs(want_c) >= 2 ** 31 - 1).sum())

        coef = rng.integers(-2 ** 31, 2 ** 31, 3)
        coef[: case % 3] = rng.choice([-2 ** 31, 2 ** 31 - 1, 0], case % 3)
        horizon = int(rng.choice([1, 100, 1024])) if case < 50 else int(rng.integers(1, 1025))
        anchor = int(rng.choice([-2 ** 15, 0, 2 ** 15 - 1, int(rng.integers(-2 ** 15, 2 ** 15))]))
        y = rng.integers(-2 ** 15, 2 ** 15, horizon)
        want_y = reference.add_trend(coef[None], np.array([[anchor]]), y[None])[0]
        c32, y16 = np.ascontiguousarray(coef, np.int32), np.ascontiguousarray(y, np.int16)
        lib.dlnet_add_trend(c32.ctypes.data_as(i32), anchor, horizon, y16.ctypes.data_as(i16))
        assert np.array_equal(y16, want_y), case
        sat_y += int((np.abs(want_y) >= 2 ** 15 - 1).sum())
    assert sat_e > 10000 and sat_c > 50 and sat_y > 10000, (sat_e, sat_c, sat_y)


@pytest.mark.parametrize("build", ["default", "portable"])
def test_rsqrt_equals_the_reference(core_libs, build):
    rng = np.random.default_rng(4)
    v = np.concatenate([np.arange(1, 2000), rng.integers(1, 2 ** 62, 20000),
                        2 ** np.arange(62), 2 ** np.arange(1, 63) - 1, 3 * 2 ** np.arange(60)])
    want_m, want_s = rsqrt_multiplier(v)
    m, s = ctypes.c_int32(), ctypes.c_int32()
    lib = core_libs[build]
    for i, vi in enumerate(v):
        lib.dlnet_rsqrt(int(vi), ctypes.byref(m), ctypes.byref(s))
        assert (m.value, s.value) == (want_m[i], want_s[i]), vi


def test_generated_header_compiles_in_and_matches(work):
    rng = np.random.default_rng(6)
    model, scaler = random_model(rng, "full")
    qm = qmodel.quantize(model, scaler, soh_windows(rng, 64, model.cfg.input_len))
    path = work / "dlnet_model.h"
    path.write_text(header.text(qm, source="random"))
    exe, _ = host.build(work, "optimized", header=path)
    result = verify.compare(qm, mixed_windows(rng, 300, model.cfg.input_len), exe, work)
    assert result["mismatched_windows"] == 0


@pytest.fixture(scope="module")
def model_bytes():
    rng = np.random.default_rng(7)
    model, scaler = random_model(rng, "lowrank")
    qm = qmodel.quantize(model, scaler, soh_windows(rng, 64, model.cfg.input_len))
    return fmt.to_bytes(qm), qm.dims["input_len"]


def test_core_refuses_corrupt_or_mismatched_models(sanitized, work, model_bytes):
    """Flipped weight byte -> DLNET_ERR_CHECKSUM, wrong magic -> MAGIC, wrong version ->
    VERSION, truncated or wrong size field -> SIZE; the Python loader refuses each as well."""
    data, input_len = model_bytes
    results = verify.rejections(sanitized, data, work, input_len)
    assert all(r["ok"] for r in results.values()), results
    for bad, _ in verify.corruptions(data).values():
        with pytest.raises(Exception):
            fmt.from_bytes(bad)


def test_core_refuses_an_out_of_range_parameter_even_with_a_valid_checksum(sanitized, work,
                                                                          model_bytes):
    data, input_len = model_bytes
    anchor_at = fmt.HEADER_BYTES + 4 * len(fmt.DIMS) + 4 * len(SEQUENCE)
    shift_at = anchor_at + 4 * 5                                    # enc_in output_offset
    body = bytearray(data[fmt.HEADER_BYTES:])
    body[shift_at - fmt.HEADER_BYTES:shift_at - fmt.HEADER_BYTES + 4] = struct.pack("<i", 40000)
    bad = data[:12] + struct.pack("<I", zlib.crc32(bytes(body))) + bytes(body)
    with pytest.raises(host.HostError) as e:
        host.run(sanitized, bad, np.zeros((1, input_len), np.int32), work)
    assert e.value.code == -6                                       # DLNET_ERR_PARAM
    with pytest.raises(Exception, match="parameter the core rejects"):
        fmt.from_bytes(bad)


def with_records(data, change):
    """The blob with its layer records changed by `change` (a list of (op, n_out, writes)) and
    its checksum recomputed."""
    at = fmt.HEADER_BYTES + 4 * len(fmt.DIMS)
    n = len(SEQUENCE)
    words = struct.unpack_from(f"<{n}i", data, at)
    recs = change([fmt.unpack_record(w) for w in words])
    body = bytearray(data[fmt.HEADER_BYTES:])
    body[at - fmt.HEADER_BYTES:at - fmt.HEADER_BYTES + 4 * n] = b"".join(
        struct.pack("<I", fmt.pack_record(*r) & 0xFFFFFFFF) for r in recs)
    return data[:12] + struct.pack("<I", zlib.crc32(bytes(body))) + bytes(body)


def _set(i, k, v):
    def change(recs):
        r = list(recs[i])
        r[k] = v
        recs[i] = tuple(r)
        return recs
    return change


@pytest.mark.parametrize("change", [
    _set(0, 0, 5),                                  # an op the core does not have
    _set(1, 2, layers.S16),                         # a LayerNorm writing int16
    _set(0, 2, layers.S8),                          # int16 input to an int8 output: no such FC
    lambda recs: recs[:2] + [(recs[2][0], recs[2][1] + 1, recs[2][2])] + recs[3:],
                                                    # enc_out wider than lat_norm
    _set(len(SEQUENCE) - 1, 2, layers.S8),          # no SOH output
    _set(3, 2, layers.SOH),                         # SOH before the last layer
    lambda recs: recs[:4] + [recs[5], recs[4]] + recs[6:],   # the cell before its tanh
    lambda recs: recs[:6] + [recs[5]] + recs[7:],            # a second cell for the residual
], ids=["op", "norm_s16", "fc_s16_s8", "size", "no_soh", "early_soh", "order", "two_cells"])
def test_core_refuses_layer_records_it_cannot_run(sanitized, work, model_bytes, change):
    """The core walks the blob's layer records: a chain it cannot run is DLNET_ERR_SIZE before
    any section is read, and the Python loader refuses it too."""
    data, input_len = model_bytes
    bad = with_records(data, change)
    with pytest.raises(host.HostError) as e:
        host.run(sanitized, bad, np.zeros((1, input_len), np.int32), work)
    assert e.value.code == -4                                       # DLNET_ERR_SIZE
    with pytest.raises(Exception, match="layer records|outside"):
        fmt.from_bytes(bad)


def fuzz_models(rng, share=1.0):
    """(QuantModel, blob) of random models, every other one with 1 to 3 signals, for `share` of
    DLNET_FUZZ_SECONDS (default 20)."""
    import os
    import time

    seconds = share * float(os.environ.get("DLNET_FUZZ_SECONDS", "20"))
    start = time.monotonic()
    k = 0
    while time.monotonic() - start < seconds:
        k = 0 if k else int(rng.integers(1, 4))
        model, scaler = random_model(rng, signals=k)
        qm = qmodel.quantize(model, scaler,
                             calibration_inputs(rng, 64, model.cfg.input_len, scaler))
        yield qm, fmt.to_bytes(qm)


def run_code(exe, blob, qm, work, rng):
    """The core's return code on two random windows (and signals, if the intact model `qm` has
    any): 0 when it runs, its error code when it refuses the blob; a crash or a sanitizer
    finding fails the test."""
    x = soh_to_q_in(soh_windows(rng, 2, qm.input_len))
    s = signal_values(rng, 2, qm.signals) if qm.signals is not None else None
    try:
        host.run(exe, blob, x, work, output_len=qm.output_len, s=s)
        return 0
    except host.HostError as e:
        assert e.code is not None, str(e)
        return e.code


def test_shuffled_layer_records_are_refused_or_run_without_a_sanitizer_finding(sanitized, work):
    """A bounded fuzz of the records the core walks (DLNET_FUZZ_SECONDS / 2, default 10): records
    swapped, repeated, dropped or given another op, type or size, the count and checksum made
    valid again. Every blob is refused with the core's own code or runs; ASan/UBSan would fail
    any out-of-bounds access or overflow."""
    rng = np.random.default_rng(8)
    at = fmt.HEADER_BYTES + 4 * len(fmt.DIMS)
    codes = {}
    for qm, data in fuzz_models(rng, share=0.5):
        words = list(struct.unpack_from(f"<{len(SEQUENCE)}I", data, at))
        for _ in range(10):
            w = list(words)
            i, j = (int(k) for k in rng.integers(0, len(w), 2))
            kind = int(rng.integers(0, 4))
            if kind == 0:
                w[i], w[j] = w[j], w[i]
            elif kind == 1:
                w.insert(i, w[j])
            elif kind == 2:
                del w[i]
            else:
                op, n_out, writes = fmt.unpack_record(w[i])
                field = int(rng.integers(0, 3))
                op = int(rng.integers(0, 7)) if field == 0 else op
                writes = int(rng.integers(0, 4)) if field == 1 else writes
                if field == 2:
                    n_out = int(rng.choice([1, n_out - 1, n_out + 1, 1024, 1025]))
                w[i] = fmt.pack_record(op, max(n_out, 0), writes)
            dims = bytearray(data[fmt.HEADER_BYTES:at])
            struct.pack_into("<i", dims, 4 * fmt.DIMS.index("layers"), len(w))
            body = bytes(dims) + struct.pack(f"<{len(w)}I", *w) + data[at + 4 * len(words):]
            bad = struct.pack("<4I", fmt.MAGIC, fmt.VERSION, fmt.HEADER_BYTES + len(body),
                              zlib.crc32(body)) + body
            code = run_code(sanitized, bad, qm, work, rng)
            codes[code] = codes.get(code, 0) + 1
    assert sum(codes.values()) >= 50 and set(codes) <= {0, -4, -6}, codes
    assert codes.get(-4), codes


def test_a_trend_weight_that_could_overflow_the_sum_is_refused(sanitized, work):
    """|w| < 2^26 keeps the trend's int64 sum exact for any input (|e| <= 2^25, length <= 1024):
    a blob with a weight of 2^26, its checksum valid, is refused by the core and by the reader."""
    qm = qmodel.quantize_polynomial(100, 100, 3, 2)
    data = bytearray(fmt.to_bytes(qm))
    at = len(data) - 12 - 4                          # the last weight, before the three shifts
    assert struct.unpack_from("<i", data, at)[0] == qm.trend.weight[2, -1]
    x = soh_to_q_in(soh_windows(np.random.default_rng(3), 2, 100))
    host.run(sanitized, bytes(data), x, work)
    struct.pack_into("<i", data, at, 2 ** 26)
    struct.pack_into("<I", data, 12, zlib.crc32(bytes(data[16:])))
    with pytest.raises(host.HostError) as e:
        host.run(sanitized, bytes(data), x, work)
    assert e.value.code == -6                                       # DLNET_ERR_PARAM
    with pytest.raises(Exception, match="trend weights"):
        fmt.from_bytes(bytes(data))


def test_scratch_size_is_exact(sanitized, work, model_bytes):
    """The exact DLNET_SCRATCH_BYTES runs clean under ASan; one byte less is refused."""
    data, input_len = model_bytes
    need = qmodel.scratch_bytes(fmt.from_bytes(data).dims)
    x = np.full((2, input_len), 16000 << 10, np.int32)
    host.run(sanitized, data, x, work, scratch_bytes=need)
    with pytest.raises(host.HostError) as e:
        host.run(sanitized, data, x, work, scratch_bytes=need - 1)
    assert e.value.code == -7                                       # DLNET_ERR_SCRATCH


class CompileError(RuntimeError):
    pass


def external_symbols(compile_cmd, nm, out_dir):
    """What the core's objects, compiled with `compile_cmd`, take from outside the core: the
    symbols some object leaves undefined and none defines."""
    out_dir.mkdir(parents=True, exist_ok=True)
    undefined, defined = set(), set()
    for src in core_files.sources():
        obj = out_dir / f"{src.stem}.o"
        proc = subprocess.run([*compile_cmd, "-c", str(src), "-o", str(obj)], capture_output=True,
                              text=True)
        if proc.returncode != 0:
            raise CompileError(proc.stderr)
        for flag, into in (("-u", undefined), ("--defined-only", defined)):
            out = subprocess.run([nm, flag, str(obj)], capture_output=True, text=True, check=True)
            into.update(line.split()[-1] for line in out.stdout.splitlines() if line.strip())
    return undefined - defined


def test_core_is_freestanding_and_free_of_floating_point(work):
    """Compiled freestanding with integer registers only (any float would fail the build), and
    the objects need nothing from a C library but memset/memcpy."""
    cmd = [host.compiler(), *host.WARNINGS, "-O2", "-ffreestanding", "-mgeneral-regs-only"]
    try:
        external = external_symbols(cmd, "nm", work / "host")
    except CompileError as e:
        if "unrecognized command-line option" in str(e):
            pytest.skip("this compiler has no -mgeneral-regs-only")
        raise
    assert external <= {"memset", "memcpy"}, external


ARM_GCC = "arm-none-eabi-gcc"


@pytest.mark.skipif(shutil.which(ARM_GCC) is None,
                    reason=f"no {ARM_GCC} to cross-compile for the Cortex-M4")
def test_core_cross_compiles_for_cortex_m4_without_float(work):
    """-mfloat-abi=soft turns any float operation into an __aeabi_f*/d* call: none may appear;
    the only run-time helper allowed is the 64-bit division of LayerNorm's variance."""
    cmd = [ARM_GCC, "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=soft", "-ffreestanding",
           *host.WARNINGS, "-Wconversion", "-Wsign-conversion", "-Os"]
    external = external_symbols(cmd, "arm-none-eabi-nm", work / "m4")
    assert external <= {"memset", "memcpy", "__aeabi_ldivmod", "__aeabi_uldivmod"}, external


@pytest.mark.parametrize("make", [lambda: qmodel.quantize_polynomial(30, 7, 5, 2),
                                  lambda: random_linear(np.random.default_rng(3))],
                         ids=["none", "linear"])
def test_a_model_without_a_liquid_network_must_say_so_in_every_size(sanitized, work, make):
    """A network-free or linear blob that claims a liquid size is refused by both loaders
    (DLNET_ERR_SIZE in C), even with a valid checksum: the sizes decide every pointer."""
    qm = make()
    data = fmt.to_bytes(qm)
    x = np.zeros((1, qm.input_len), np.int32)
    host.run(sanitized, data, x, work)                              # the intact blob runs
    for size in ("coupling", "rank", "steps", "layers"):
        at = fmt.HEADER_BYTES + 4 * fmt.DIMS.index(size)
        body = bytearray(data[fmt.HEADER_BYTES:])
        body[at - fmt.HEADER_BYTES:at - fmt.HEADER_BYTES + 4] = struct.pack("<i", 1)
        bad = data[:12] + struct.pack("<I", zlib.crc32(bytes(body))) + bytes(body)
        with pytest.raises(host.HostError) as e:
            host.run(sanitized, bad, x, work)
        assert e.value.code == -4, size                             # DLNET_ERR_SIZE
        with pytest.raises(Exception, match="liquid sizes"):
            fmt.from_bytes(bad)


def glitched_windows(rng, n, length=100):
    """Real-looking SOH windows, most of them with a glitch a BMS stream carries: a zero row, an
    impossible spike, a one-cycle jump, values at and beyond the limits."""
    from dlnet.quant import guard

    x = soh_to_q_in(soh_windows(rng, n, length))
    for row in x:
        i = int(rng.integers(0, length))
        kind = rng.integers(0, 7)
        if kind == 0:
            row[i] = 0                                           # a missed measurement
        elif kind == 1:
            row[i] = soh_to_q_in(np.array([2.88 / 1.1]))[0]      # a 2.88 Ah reading
        elif kind == 2:
            step = int(rng.choice([-1, 1])) * int(rng.integers(600, 1100)) << 10
            row[i:] = np.clip(row[i:].astype(np.int64) + step, -2 ** 31,
                              2 ** 31 - 1)                       # a step near the jump limit
        elif kind == 3:
            row[i] = int(rng.choice([guard.SOH_MAX_Q, guard.SOH_MAX_Q + 1, 1, -1]))
        elif kind == 4:
            row[:] = rng.integers(-2 ** 31, 2 ** 31, length)     # noise
    return x


def test_the_input_guard_agrees_with_its_numpy_specification(work):
    """dlnet_check_window against guard.check_window on 3000 windows, most of them glitched
    (sanitized build): the same code and the same first bad index, every window."""
    from dlnet.quant import guard

    exe = host.build(work, "sanitized", host_source=host.GUARD_HOST)[0]
    rng = np.random.default_rng(11)
    x = glitched_windows(rng, 3000)
    got = host.check_windows(exe, x, work)
    want = np.array([guard.check_window(row) for row in x])
    assert np.array_equal(got, want)
    codes = set(want[:, 0].tolist())
    assert codes == {guard.OK, guard.ERR_INPUT_RANGE, guard.ERR_INPUT_JUMP}
    short = host.check_windows(exe, x[:50, :4], work)               # fewer values than the median
    assert np.array_equal(short, np.array([guard.check_window(row) for row in x[:50, :4]]))


def test_the_input_guard_limits_are_the_same_numbers_in_c_and_in_numpy():
    import re

    from dlnet.quant import guard

    defines = dict(re.findall(r"^#define (DLNET_\w+) \(?(-?\d+)\)?", (ROOT / "firmware/core/"
                                                                    "dlnet_core.h").read_text(),
                              re.MULTILINE))
    for name in ("SOH_MIN_Q", "SOH_MAX_Q", "JUMP_MAX_Q", "JUMP_WINDOW", "JUMP_MIN_BEFORE",
                 "ERR_INPUT_RANGE", "ERR_INPUT_JUMP"):
        assert int(defines[f"DLNET_{name}"]) == getattr(guard, name), name
    assert guard.SOH_MAX_Q == 1.25 * 2 ** 24 and guard.JUMP_MAX_Q == round(0.05 * 2 ** 24)


def test_the_input_guard_names_each_glitch_of_a_real_window():
    from dlnet.quant import guard

    splits, _ = shipped_splits("cells")
    clean = soh_to_q_in(splits["test"].x[:200])
    assert all(guard.check_window(row) == (guard.OK, -1) for row in clean)
    row = clean[0].copy()
    spike = int(soh_to_q_in(np.array([2.88 / 1.1]))[0])             # 2.62 SOH
    for value, code in ((0, guard.ERR_INPUT_RANGE), (spike, guard.ERR_INPUT_RANGE),
                        (int(row[49]) - (1200 << 10), guard.ERR_INPUT_JUMP)):
        bad = row.copy()
        bad[50] = value
        assert guard.check_window(bad) == (code, 50)
    step = row.copy()
    step[50:] -= 400 << 10                                           # a real fade step passes
    assert guard.check_window(step) == (guard.OK, -1)


def test_damaged_model_blobs_are_refused_or_run_without_a_sanitizer_finding(sanitized, work):
    """A bounded random-input fuzz of the blob reader (DLNET_FUZZ_SECONDS, default 20): random
    bytes of random models overwritten and the checksum made valid again, so that the damage
    reaches the dimension and parameter checks. Every blob is refused with the core's own code
    or runs a forecast; ASan/UBSan (no recovery) would fail any out-of-bounds or overflow."""
    rng = np.random.default_rng(5)
    codes = {}
    for qm, data in fuzz_models(rng):
        for _ in range(10):
            bad = bytearray(data)
            for _ in range(int(rng.integers(1, 6))):
                bad[int(rng.integers(fmt.HEADER_BYTES, len(bad)))] = int(rng.integers(0, 256))
            body = bytes(bad[fmt.HEADER_BYTES:])
            bad = struct.pack("<4I", fmt.MAGIC, fmt.VERSION, len(bad), zlib.crc32(body)) + body
            code = run_code(sanitized, bad, qm, work, rng)
            codes[code] = codes.get(code, 0) + 1
    assert sum(codes.values()) >= 100 and set(codes) <= {0, -4, -6}, codes
    assert codes.get(0) and codes.get(-6), codes   # both paths taken: runs and refusals


# ---- Signals (blob format 6): raw int32 values beside the window, after it in the scaled input

def signals_model(network, k=2, seed=12):
    """A random liquid (lowrank) or linear network reading k signals, its integers from the
    Scaler."""
    rng = np.random.default_rng(seed)
    if network == "linear":
        return random_linear(rng, signals=k)
    model, scaler = random_model(rng, "lowrank", signals=k)
    return qmodel.quantize(model, scaler, calibration_inputs(rng, 64, model.cfg.input_len, scaler))


def signals_at(qm):
    """Where qm's signals section starts in its blob: after the dims, the layer records and the
    anchor's 5 i32."""
    return fmt.HEADER_BYTES + 4 * len(fmt.DIMS) + 4 * len(fmt.records(fmt.stored_dims(qm))) + 4 * 5


def resealed(data):
    """The blob with its checksum and size made valid again."""
    body = bytes(data[fmt.HEADER_BYTES:])
    return struct.pack("<4I", fmt.MAGIC, fmt.VERSION, fmt.HEADER_BYTES + len(body),
                       zlib.crc32(body)) + body


@pytest.mark.parametrize("network", ["liquid", "linear"])
def test_a_model_with_signals_reads_them_and_refuses_to_run_without(sanitized, work, network):
    """C and NumPy agree with signals in and far out of range; other signals give other
    forecasts (the core reads them); NULL signals are DLNET_ERR_ARG, before any output."""
    rng = np.random.default_rng(13)
    qm = signals_model(network)
    data = fmt.to_bytes(qm)
    x = mixed_windows(rng, 300, qm.input_len)
    s = signal_values(rng, 300, qm.signals)
    result = verify.compare(qm, x, sanitized, work, model=data, s=s)
    assert result["mismatched_windows"] == 0 and result["max_abs_diff_lsb"] == 0, result
    y = host.run(sanitized, data, x[:50], work, s=s[:50])
    y_shifted = host.run(sanitized, data, x[:50], work, s=s[:50] // 2 + 1000)
    assert np.array_equal(y_shifted, reference.run(qm, x[:50], s[:50] // 2 + 1000))
    assert (y != y_shifted).any(axis=1).sum() > 10
    with pytest.raises(host.HostError) as e:
        host.run(sanitized, data, x[:1], work, null_signals=True)
    assert e.value.code == -1                                       # DLNET_ERR_ARG


@pytest.mark.parametrize("make", [lambda rng: random_model(rng, "full"), random_linear,
                                  lambda rng: qmodel.quantize_polynomial(30, 7, 5, 2)],
                         ids=["liquid", "linear", "none"])
def test_a_model_without_signals_runs_with_null_or_any_signals_pointer(sanitized, work, make):
    """Format 6 without signals: the signals dim, last, is 0, and nothing else is added (the blob
    is format 5's with 4 more bytes); dlnet_run ignores its signals argument, NULL or not."""
    rng = np.random.default_rng(14)
    qm = make(rng)
    if isinstance(qm, tuple):
        model, scaler = qm
        qm = qmodel.quantize(model, scaler, soh_windows(rng, 64, model.cfg.input_len))
    data = fmt.to_bytes(qm)
    dims = struct.unpack_from(f"<{len(fmt.DIMS)}i", data, fmt.HEADER_BYTES)
    assert fmt.DIMS[-1] == "signals" and dims[-1] == 0 and qm.signals is None
    if qm.network == "none":                 # header, 10 dims, anchor, trend (3 x 5 + 3 i32)
        assert len(data) == 16 + 4 * 10 + 4 * 5 + 4 * (15 + 3)
    x = mixed_windows(rng, 100, qm.input_len)
    want = reference.run(qm, x)
    assert np.array_equal(host.run(sanitized, data, x, work), want)           # a pointer
    assert np.array_equal(host.run(sanitized, data, x, work, null_signals=True), want)


def _more_signals(qm, rng, k):
    """qm with k signals (random integers) and its first layer widened to match, zero weights."""
    extra = k - len(qm.signals)

    def widen(fc):
        zeros = np.zeros((len(fc.weight), extra), np.int64)
        return replace(fc, weight=np.hstack([fc.weight, zeros]))

    out = replace(qm, signals=random_signals(rng, k))
    if qm.network == "linear":
        return replace(out, linear=widen(qm.linear))
    return replace(out, layers={**qm.layers, SEQUENCE[0].name: widen(qm.layers[SEQUENCE[0].name])})


def _patch_signals(field, j, value):
    """A change of the signals section's `field` (offset, mult or shift) of signal j."""
    def change(qm, data, rng, monkeypatch):
        k = len(qm.signals)
        at = signals_at(qm) + {"offset": 4 * j, "mult": 4 * k + 4 * j, "shift": 8 * k + j}[field]
        bad = bytearray(data)
        bad[at:at + (1 if field == "shift" else 4)] = struct.pack(
            "<b" if field == "shift" else "<i", value)
        return resealed(bad)
    return change


def _unchecked(make):
    """A blob written from make(qm, rng) by to_bytes without qmodel.check: consistent in every
    size, refused only for what make did."""
    def change(qm, data, rng, monkeypatch):
        with monkeypatch.context() as m:
            m.setattr(qmodel, "check", lambda qm: None)
            return fmt.to_bytes(make(qm, rng))
    return change


def _dim(value):
    def change(qm, data, rng, monkeypatch):
        bad = bytearray(data)
        struct.pack_into("<i", bad, fmt.HEADER_BYTES + 4 * fmt.DIMS.index("signals"), value)
        return resealed(bad)
    return change


BAD_SIGNALS = {
    "9 signals": (_unchecked(lambda qm, rng: _more_signals(qm, rng, 9)), -4, "signals, outside"),
    "signals dim -1": (_dim(-1), -4, "signals, outside"),
    "signals dim 3 for 2": (_dim(3), -4, "."),
    "mult 2^30 - 1": (_patch_signals("mult", 1, 2 ** 30 - 1), -6, "parameter the core rejects"),
    "mult -2^31": (_patch_signals("mult", 0, -2 ** 31), -6, "parameter the core rejects"),
    "shift 31": (_patch_signals("shift", 1, 31), -6, "parameter the core rejects"),
    "shift -32": (_patch_signals("shift", 0, -32), -6, "parameter the core rejects"),
}


@pytest.mark.parametrize("network", ["liquid", "linear"])
@pytest.mark.parametrize("case", list(BAD_SIGNALS))
def test_core_and_loader_refuse_a_bad_signals_section(sanitized, work, monkeypatch, network, case):
    """More than DLNET_MAX_SIGNALS signals or a signals dim that does not fit the layout:
    DLNET_ERR_SIZE; a multiplier not normalized, a shift outside -31..30: DLNET_ERR_PARAM, with
    a valid checksum; blob.from_bytes refuses each too. An offset may be any int32."""
    change, want, message = BAD_SIGNALS[case]
    qm = signals_model(network)
    rng = np.random.default_rng(15)
    bad = change(qm, fmt.to_bytes(qm), rng, monkeypatch)
    x = np.zeros((1, qm.input_len), np.int32)
    with pytest.raises(host.HostError) as e:
        host.run(sanitized, bad, x, work, null_signals=True)
    assert e.value.code == want, host.ERRORS.get(e.value.code, e.value.code)
    with pytest.raises(Exception, match=message):
        fmt.from_bytes(bad)
    extreme = _patch_signals("offset", 1, -2 ** 31)(qm, fmt.to_bytes(qm), rng, monkeypatch)
    assert fmt.from_bytes(extreme).signals.offset[1] == -2 ** 31
    s = signal_values(rng, 20, qm.signals)
    assert np.array_equal(host.run(sanitized, extreme, x.repeat(20, 0), work, s=s),
                          reference.run(fmt.from_bytes(extreme), x.repeat(20, 0), s))


def test_core_and_loader_refuse_signals_for_a_model_without_a_network(sanitized, work,
                                                                     monkeypatch):
    """A polynomial baseline has nothing that reads a signal: a blob that gives it one, whose
    sizes are otherwise consistent, is DLNET_ERR_SIZE, and blob.from_bytes refuses it."""
    qm = qmodel.quantize_polynomial(30, 7, 5, 2)
    bad = _unchecked(lambda qm, rng: replace(qm, signals=random_signals(rng, 1)))(
        qm, None, np.random.default_rng(16), monkeypatch)
    assert struct.unpack_from("<i", bad, fmt.HEADER_BYTES + 4 * fmt.DIMS.index("signals"))[0] == 1
    with pytest.raises(host.HostError) as e:
        host.run(sanitized, bad, np.zeros((1, 30), np.int32), work, null_signals=True)
    assert e.value.code == -4                                       # DLNET_ERR_SIZE
    with pytest.raises(Exception, match="no network"):
        fmt.from_bytes(bad)
