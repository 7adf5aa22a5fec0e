"""The model blob: a QuantModel as bytes, the one format the C core, the header and NumPy share.

Layout (format version 7), every integer little-endian, arrays row-major:

    offset 0   u32 magic 0x514E4C44 ("DLNQ")      offset 8   u32 total size in bytes
    offset 4   u32 format version                 offset 12  u32 CRC-32 (zlib) of bytes 16..end
    then the dimensions (DIMS, i32 each), one record per layer of a liquid network (an i32 each,
    `records`: dlnet/layers.py's sequence), and the sections of `layout`, in order; scalars are
    i32 (the LayerNorm eps i64), arrays i8 or i32 with lengths that follow from the dimensions
    and the records. Every field starts at a multiple of ALIGN (4) bytes: a field whose size is
    not a multiple of 4 is followed by zero bytes up to the next multiple. Readers skip that
    padding. It lets a core on a little-endian target read each int32 and each 4 weights of a
    row with one aligned load when the blob sits at a 4-byte-aligned address (header.py aligns
    its array); the core is correct at any address.

Version 2 changed, from version 1: the padding; the Linear layers' input_offset is gone, folded
into their bias (qmodel.fold_zero_point), and the cell's W and U gained a bias (W_bias, U_bias)
that carries the zero point of their input the same way (U_input_offset is gone).
Version 3 added the dimension trend_len and, when it is not 0, the trend section at the end
(the quadratic scaling's parabola, qmodel.Trend).
Version 4 added the first dimension, the network (qmodel.NETWORKS: 0 liquid, 1 linear, 2 none):
a linear network has one fully connected section, `linear`, and none has no section between the
anchor and the trend; their liquid sizes (enc_hidden ... steps) are 0. A trend may be 1 value
long and of degree 0 or 1 (zero rows): the polynomial baselines.
Version 5 replaced the liquid network's named sizes (enc_hidden, width, dec_hidden, dec_mid)
with the layer records, which the C core walks instead of a sequence of its own.
Version 6 added the last dimension, signals (k, qmodel.MAX_SIGNALS at most) and, when it is not
0, the signals section after the anchor (qmodel.Signals); the first layer of a liquid or linear
network reads input_len + k values: the SOH window's, then the signals' (dlnet/signals.py).
Version 7 changed no field but what the trend's weights mean: the model's input is Q7.24 and
the trend reads it at that precision (weights below 2^26 in magnitude, applied to e = x - a in
Q7.24: qmodel.polynomial_trend), so a version 6 trend would be 2^10 off.

The C core (dlnet_model_init) reads the same layout with the same checks, so a model that parses
here also initializes there, and a corrupt or mismatched one fails in both, with an error code in
C and an InputError naming the file here.
"""

import struct
import zlib

import numpy as np

from dlnet.errors import InputError
from dlnet.layers import OPS, SEQUENCE, output_type
from dlnet.quant import qmodel as qmod
from dlnet.quant.qmodel import FC, Anchor, Cell, LayerNorm, QuantModel, Residual, Signals, Trend

MAGIC = 0x514E4C44
VERSION = 7
HEADER_BYTES = 16
ALIGN = 4
DIMS = ("network", "input_len", "output_len", "coupling", "rank", "steps", "trend_len",
        "scratch_bytes", "layers", "signals")
_DTYPES = {"i8": np.dtype("<i1"), "i32": np.dtype("<i4"), "i64": np.dtype("<i8")}


def _fc(n_in, n_out):
    return [("output_offset", "i32", None),
            ("act_min", "i32", None), ("act_max", "i32", None), ("weight", "i8", (n_out, n_in)),
            ("bias", "i32", (n_out,)), ("mult", "i32", (n_out,)), ("shift", "i8", (n_out,))]


def _ln(n):
    return [("eps", "i64", None), ("output_offset", "i32", None), ("act_min", "i32", None),
            ("act_max", "i32", None), ("gain_mult", "i32", (n,)), ("gain_shift", "i8", (n,)),
            ("offset", "i32", (n,))]


def _cell(w, coupling, rank):
    head = [("state_offset", "i32", None), ("pre_offset", "i32", None)]
    if coupling == "full":
        middle = [("W", "i8", (w, w)), ("W_bias", "i32", (w,)), ("W_mult", "i32", (w,)),
                  ("W_shift", "i8", (w,))]
    else:
        middle = [("V", FC, _fc(w, rank)), ("diag_mult", "i32", (w,)), ("diag_shift", "i8", (w,)),
                  ("U", "i8", (w, rank)), ("U_bias", "i32", (w,)),
                  ("U_mult", "i32", (w,)), ("U_shift", "i8", (w,))]
    tail = [("bias", "i32", (w,)), ("drive_mult", "i32", (w,)), ("drive_shift", "i8", (w,)),
            ("tanh", "i8", (256,)), ("keep_mult", "i32", (w,)), ("keep_shift", "i8", (w,)),
            ("gain_mult", "i32", (w,)), ("gain_shift", "i8", (w,))]
    return head + middle + tail


def layout(d):
    """(field, type, shape or sub-layout) of every section after the dimensions, in order."""
    anchor = [("anchor", Anchor, [("kind", "i32", None), ("length", "i32", None),
                                  ("constant", "i32", None), ("mult", "i32", None),
                                  ("shift", "i32", None)])]
    if d["signals"]:
        k = (d["signals"],)
        anchor.append(("signals", Signals, [("offset", "i32", k), ("mult", "i32", k),
                                            ("shift", "i8", k)]))
    network = qmod.NETWORKS[d["network"]]
    if network == "linear":
        anchor.append(("linear", FC, _fc(d["n_inputs"], d["output_len"])))
    elif network == "liquid":
        anchor += _liquid(d)
    return anchor + ([("trend", Trend, [("weight", "i32", (3, d["trend_len"])),
                                        ("shift", "i32", (3,))])] if d["trend_len"] else [])


# Each op's section of the blob: (type, shape or sub-layout), from the layer and the dimensions.
SECTIONS = {
    "linear": lambda layer, d: (FC, _fc(d[layer.n_in], d[layer.n_out])),
    "layer_norm": lambda layer, d: (LayerNorm, _ln(d[layer.n_out])),
    "tanh": lambda layer, d: ("i8", (256,)),
    "liquid": lambda layer, d: (Cell, _cell(d["width"], qmod.COUPLINGS[d["coupling"]], d["rank"])),
    "residual": lambda layer, d: (Residual, [("output_offset", "i32", None),
                                             ("h_mult", "i32", None), ("h_shift", "i32", None),
                                             ("h0_mult", "i32", None), ("h0_shift", "i32", None)]),
}


def _liquid(d):
    return [("layers", dict, [(layer.name, *SECTIONS[layer.op](layer, d)) for layer in SEQUENCE])]


def records(d):
    """(op code, output size, what it writes: layers.S8, S16 or SOH) of each layer of a model
    with these (named) dims; none without a liquid network. A layer's input is its predecessor's
    output (the first's, the int16 scaled input of input_len + signals values), so the C core
    needs no more to walk the sequence and check it."""
    if qmod.NETWORKS[d["network"]] != "liquid":
        return []
    return [(OPS.index(layer.op), d[layer.n_out], output_type(i))
            for i, layer in enumerate(SEQUENCE)]


def pack_record(op, n_out, writes):
    """One record as the blob's i32: bits 0-7 the op, 8-15 what it writes, 16-31 its size."""
    return op | writes << 8 | n_out << 16


def unpack_record(word):
    word &= 0xFFFFFFFF
    return word & 0xFF, word >> 16, word >> 8 & 0xFF


def _field(obj, name):
    return obj[name] if isinstance(obj, dict) else getattr(obj, name)


def padded(n):
    """n bytes rounded up to the next multiple of ALIGN: a field's room in the blob."""
    return -(-n // ALIGN) * ALIGN


def size_of(dims):
    """Bytes of the blob of a model with these dims (network and coupling as names), without
    building it."""
    k = dims.get("signals", 0)
    d = {**dims, "network": qmod.NETWORKS.index(dims["network"]),
         "coupling": qmod.COUPLINGS.index(dims.get("coupling", "full")), "signals": k,
         "n_inputs": dims["input_len"] + k}

    def size(fields):
        return sum(size(shape) if isinstance(kind, type) else
                   padded(_DTYPES[kind].itemsize * int(np.prod(shape or (1,))))
                   for _, kind, shape in fields)

    return HEADER_BYTES + 4 * len(DIMS) + 4 * len(records(d)) + size(layout(d))


def stored_dims(qm):
    """The dimensions as the blob stores them: network and coupling as codes, scratch bytes."""
    d = dict(qm.dims)
    d["network"] = qmod.NETWORKS.index(qm.network)
    d["coupling"] = qmod.COUPLINGS.index(qm.cell.coupling) if qm.network == "liquid" else 0
    d["scratch_bytes"] = qmod.scratch_bytes(qm.dims)
    d["layers"] = len(records(d))
    return d


def to_bytes(qm):
    """Serialize (after qmodel.check, so that only a model the core accepts is ever written)."""
    qmod.check(qm)
    d = stored_dims(qm)
    out = [struct.pack(f"<{len(DIMS)}i", *(d[k] for k in DIMS))]
    out += [struct.pack("<i", pack_record(*r)) for r in records(d)]

    def put(obj, fields):
        for name, kind, shape in fields:
            value = _field(obj, name)
            if name == "kind":
                value = qmod.ANCHORS.index(value)
            if isinstance(kind, type):
                put(value, shape)
                continue
            a = np.asarray(value)
            if shape is not None and a.shape != shape:
                raise ValueError(f"{name} has shape {a.shape}, the layout says {shape}")
            info = np.iinfo(_DTYPES[kind])
            if a.size and (a.min() < info.min or a.max() > info.max):
                raise ValueError(f"{name} does not fit {kind}")
            raw = a.astype(_DTYPES[kind]).tobytes()
            out.append(raw + bytes(padded(len(raw)) - len(raw)))

    put(qm, layout(d))
    body = b"".join(out)
    total = HEADER_BYTES + len(body)
    return struct.pack("<4I", MAGIC, VERSION, total, zlib.crc32(body)) + body


def from_bytes(data, source="<model blob>"):
    """Parse and validate a blob; InputError names `source` and says what is wrong."""
    fix = "regenerate it (snakemake --forcerun quantize) and do not edit it by hand"
    data = bytes(data)
    if len(data) < HEADER_BYTES:
        raise InputError(source, f"holds {len(data)} bytes, fewer than the {HEADER_BYTES}-byte "
                         "header", fix)
    magic, version, total, crc = struct.unpack_from("<4I", data)
    if magic != MAGIC:
        raise InputError(source, f"has magic 0x{magic:08X}, not a DLNet int8 model "
                         f"(0x{MAGIC:08X})", fix)
    if version != VERSION:
        raise InputError(source, f"has format version {version}; this code reads version {VERSION}",
                         "regenerate the header with this version of dlnet, or use its core")
    if total != len(data):
        raise InputError(source, f"says it holds {total} bytes but holds {len(data)}", fix)
    computed = zlib.crc32(data[HEADER_BYTES:])
    if computed != crc:
        raise InputError(source, f"fails its checksum (stored CRC-32 0x{crc:08X}, computed "
                         f"0x{computed:08X}): the parameters are corrupt", fix)
    pos = HEADER_BYTES
    if len(data) < pos + 4 * len(DIMS):
        raise InputError(source, "is too short to hold the model dimensions", fix)
    d = dict(zip(DIMS, struct.unpack_from(f"<{len(DIMS)}i", data, pos)))
    pos += 4 * len(DIMS)
    if not 0 <= d["network"] < len(qmod.NETWORKS):
        raise InputError(source, f"has network code {d['network']}", fix)
    if not 0 <= d["coupling"] < len(qmod.COUPLINGS):
        raise InputError(source, f"has coupling code {d['coupling']}", fix)
    for k in ("input_len", "output_len"):
        if not 1 <= d[k] <= qmod.MAX_DIM:
            raise InputError(source, f"has {k} = {d[k]}, outside 1..{qmod.MAX_DIM}", fix)
    if not 0 <= d["signals"] <= qmod.MAX_SIGNALS:
        raise InputError(source, f"has {d['signals']} signals, outside 0..{qmod.MAX_SIGNALS}", fix)
    if qmod.NETWORKS[d["network"]] == "none" and d["signals"]:
        raise InputError(source, f"has {d['signals']} signals but no network to read them", fix)
    d["n_inputs"] = d["input_len"] + d["signals"]
    liquid = ("coupling", "rank", "steps", "layers")
    if qmod.NETWORKS[d["network"]] == "liquid":
        if d["layers"] != len(SEQUENCE):
            raise InputError(source, f"has {d['layers']} layers; this code's network has "
                             f"{len(SEQUENCE)} (dlnet/layers.py)", fix)
        if len(data) < pos + 4 * d["layers"]:
            raise InputError(source, "is too short to hold its layer records", fix)
        found = [unpack_record(w) for w in struct.unpack_from(f"<{d['layers']}i", data, pos)]
        pos += 4 * d["layers"]
        for layer, (_, n_out, _) in zip(SEQUENCE, found):
            if not 1 <= n_out <= qmod.MAX_DIM:
                raise InputError(source, f"has {layer.n_out} = {n_out}, outside "
                                 f"1..{qmod.MAX_DIM}", fix)
            d.setdefault(layer.n_out, n_out)
        if found != records(d):
            raise InputError(source, f"has the layer records {found}, not those of this code's "
                             f"network with its sizes, {records(d)} (dlnet/layers.py)", fix)
        lowrank = d["coupling"] == qmod.COUPLINGS.index("lowrank")
        if not (1 <= d["rank"] <= d["width"] if lowrank else d["rank"] == 0):
            raise InputError(source, f"has rank {d['rank']} for width {d['width']}", fix)
        if not 1 <= d["steps"] <= qmod.MAX_STEPS:
            raise InputError(source, f"has {d['steps']} Euler steps, outside "
                             f"1..{qmod.MAX_STEPS}", fix)
    elif any(d[k] for k in liquid):
        raise InputError(source, f"has liquid sizes {[d[k] for k in liquid]} for a "
                         f"{qmod.NETWORKS[d['network']]} network (they must be 0)", fix)
    if not 0 <= d["trend_len"] <= d["input_len"]:
        raise InputError(source, f"has trend length {d['trend_len']}", fix)

    def get(cls, fields):
        nonlocal pos
        values = {}
        for name, kind, shape in fields:
            if isinstance(kind, type):
                values[name] = get(kind, shape)
                continue
            dt = _DTYPES[kind]
            count = int(np.prod(shape)) if shape is not None else 1
            if pos + padded(count * dt.itemsize) > len(data):
                raise InputError(source, f"ends inside field '{name}': shorter than its layout",
                                 fix)
            a = np.frombuffer(data, dt, count, pos).astype(np.int64)
            pos += padded(count * dt.itemsize)
            values[name] = a.reshape(shape) if shape is not None else int(a[0])
        if cls is Anchor:
            if not 0 <= values["kind"] < len(qmod.ANCHORS):
                raise InputError(source, f"has anchor kind {values['kind']}", fix)
            values["kind"] = qmod.ANCHORS[values["kind"]]
        if cls is Cell:
            values.update(coupling=qmod.COUPLINGS[d["coupling"]], steps=d["steps"])
        return cls(**values) if cls not in (None, dict) else values

    sections = get(None, layout(d))
    if pos != len(data):
        raise InputError(source, f"has {len(data) - pos} bytes after its last field", fix)
    qm = QuantModel(qmod.NETWORKS[d["network"]], d["input_len"], d["output_len"], **sections)
    try:
        qmod.check(qm)
    except ValueError as e:
        raise InputError(source, f"holds a parameter the core rejects ({e})", fix) from None
    if qmod.scratch_bytes(qm.dims) != d["scratch_bytes"]:
        raise InputError(source, f"declares {d['scratch_bytes']} scratch bytes, its sizes need "
                         f"{qmod.scratch_bytes(qm.dims)}", fix)
    return qm
