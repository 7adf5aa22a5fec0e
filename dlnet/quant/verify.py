"""Bit-exactness of the C core against the NumPy reference, and its rejection of bad models."""

import numpy as np

from dlnet.quant import blob as fmt
from dlnet.quant import host, qmodel, reference
from dlnet.quant.random_models import (calibration_inputs, mixed_windows, random_linear,
                                       random_model, random_polynomial, signal_values,
                                       with_random_signals)


def compare(qm, x, exe, work, model="builtin", s=None):
    """Run windows x (Q7.24) and their raw signals s (n, k; None without) through the host and
    the reference; count differing windows."""
    x = np.asarray(x, np.int32)
    k = qm.dims["signals"]
    if np.shape(s if s is not None else np.zeros((len(x), 0))) != (len(x), k):
        raise ValueError(f"the model reads {k} signals beside each window, got "
                         f"{None if s is None else np.shape(s)} for {len(x)} windows")
    c = host.run(exe, model, x, work, qm.dims["output_len"], s=s)
    ref = reference.run(qm, x, s)
    diff = np.abs(c.astype(np.int64) - ref)
    return {"windows": int(len(x)), "values": int(diff.size),
            "mismatched_windows": int((diff.max(axis=1) > 0).sum()) if len(x) else 0,
            "max_abs_diff_lsb": int(diff.max(initial=0))}


def _signals(qm, rng, n):
    """Raw signals for n windows of qm (None without signals)."""
    return signal_values(rng, n, qm.signals) if qm.signals is not None else None


def random_models(exe, work, n_models, n_windows, seed, big=1):
    """Quantize random linear networks and polynomial baselines (a quarter of `n_models` each,
    at least one), then `n_models` random LiquidNets (alternating couplings, `big` of them
    teacher-sized), and compare host and reference on `n_windows` windows each, a quarter of
    them hostile. Every other linear network and two LiquidNets in three read 1 to 3 signals,
    half of those with random signal integers (random_models.random_signals) rather than
    the Scaler's, and their windows' raw signals are a quarter hostile too."""
    rng = np.random.default_rng(seed)
    rows = []
    for j, make in enumerate([random_linear, random_polynomial] * max(1, n_models // 4)):
        k = int(rng.integers(1, 4)) if make is random_linear and j % 4 == 0 else 0
        qm = make(rng, signals=k) if k else make(rng)
        result = compare(qm, mixed_windows(rng, n_windows, qm.input_len), exe, work,
                         model=fmt.to_bytes(qm), s=_signals(qm, rng, n_windows))
        rows.append({**qm.dims, "signal_integers": "scaler" if k else None, **result})
    for i in range(n_models):
        k = int(rng.integers(1, 4)) if i % 3 else 0
        model, scaler = random_model(rng, ("full", "lowrank")[i % 2], big=i < big, signals=k)
        cfg = model.cfg
        calib = calibration_inputs(rng, 64, cfg.input_len, scaler)
        weights = ("per_channel", "per_tensor")[(i // 2) % 2]
        calibration = ("minmax", "percentile")[(i // 4) % 2]
        qm = qmodel.quantize(model, scaler, calib, weights=weights, calibration=calibration)
        integers = None if not k else "scaler" if i % 3 == 1 else "random"
        if integers == "random":
            qm = with_random_signals(qm, rng)
        result = compare(qm, mixed_windows(rng, n_windows, cfg.input_len), exe, work,
                         model=fmt.to_bytes(qm), s=_signals(qm, rng, n_windows))
        rows.append({**qm.dims, "coupling": cfg.coupling, "scaling": scaler.kind,
                     "weights": weights, "calibration": calibration,
                     "signal_integers": integers, **result})
    return {"models": len(rows), "windows": sum(r["windows"] for r in rows),
            "mismatched_windows": sum(r["mismatched_windows"] for r in rows),
            "max_abs_diff_lsb": max((r["max_abs_diff_lsb"] for r in rows), default=0),
            "seed": seed, "cases": rows}


def _flip(data, i):
    return data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1:]


def corruptions(data):
    """Damaged copies of a model blob and the core's return code each must produce."""
    data = bytes(data)
    # a byte inside the first Linear's weights, past the 16-byte header, the dimensions, the
    # anchor (5 i32) and the Linear's 3 i32 scalars
    weight = fmt.HEADER_BYTES + 4 * len(fmt.DIMS) + 4 * 5 + 4 * 3
    return {
        "weight byte flipped": (_flip(data, weight), -5),
        "last byte flipped": (_flip(data, len(data) - 1), -5),
        "wrong magic": (_flip(data, 0), -2),
        "wrong version": (data[:4] + (fmt.VERSION + 1).to_bytes(4, "little") + data[8:], -3),
        "truncated": (data[:-1], -4),
        "size field mismatch": (data[:8] + (len(data) + 1).to_bytes(4, "little") + data[12:], -4),
    }


def rejections(exe, data, work, input_len):
    """Run every corruption through the host: the core must refuse each with its own code."""
    x = np.zeros((1, input_len), np.int32)
    out = {}
    for name, (bad, want) in corruptions(data).items():
        try:
            # the core refuses the blob before it reads a window, so it needs no signals
            host.run(exe, bad, x, work, null_signals=True)
            got = 0
        except host.HostError as e:
            got = e.code
        out[name] = {"expected": host.ERRORS[want], "got": host.ERRORS.get(got, str(got)),
                     "ok": got == want}
    return out
