"""The LiquidNet's layer sequence, declared once.

dlnet/model.py writes the network out as equations (LiquidNet.forward); everything that follows
the same sequence layer by layer walks this table instead of repeating it: the float reference
(quant/floatref.py), the int8 quantizer (quant/qmodel.py), the int8 reference (quant/reference.py),
the blob layout (quant/blob.py) and the cost model (cost.py). The blob carries the sequence as one
record per layer (op code, sizes, what it reads and writes), and the C core walks those records
(firmware/core/dlnet_model.c reads them, dlnet_run.c runs them). A new op is its name in OPS, a
row here, its entry in each walker's op table, its C functions (firmware/core) and their tests.

    name   the LiquidNet module (state_dict prefix), the QuantModel field and the blob section
    op     one of OPS
    n_in   the size (a NetConfig field or property, a blob dimension) of its input; the first
           layer reads n_inputs: the SOH window and the signals beside it (dlnet/signals.py)
    n_out  the size of its output
    relu   a ReLU follows it
    trace  where the float reference records its output for calibration (None: not recorded)
"""

from dataclasses import dataclass

# The op codes of the blob's layer records: an op's index here (DLNET_OP_* in dlnet_core.h).
OPS = ("linear", "layer_norm", "tanh", "liquid", "residual")

# What a layer reads and writes, the records' types: int8, int16, or (the last layer) Q1.14 SOH
# with the forecast anchor added (DLNET_S8, DLNET_S16, DLNET_SOH).
S8, S16, SOH = 0, 1, 2


@dataclass(frozen=True)
class Layer:
    name: str
    op: str
    n_in: str
    n_out: str
    relu: bool = False
    trace: str | None = None


SEQUENCE = (
    Layer("enc_in", "linear", "n_inputs", "enc_hidden", trace="enc_in"),
    Layer("enc_norm", "layer_norm", "enc_hidden", "enc_hidden", relu=True, trace="enc_norm"),
    Layer("enc_out", "linear", "enc_hidden", "width", trace="enc_out"),
    Layer("lat_norm", "layer_norm", "width", "width", trace="lat_norm"),
    Layer("lat_tanh", "tanh", "width", "width"),
    Layer("cell", "liquid", "width", "width"),
    Layer("residual", "residual", "width", "width", trace="res"),
    Layer("dec_in", "linear", "width", "dec_hidden", trace="dec_in"),
    Layer("dec_norm", "layer_norm", "dec_hidden", "dec_hidden", relu=True, trace="dec_norm"),
    Layer("dec_inner", "linear", "dec_hidden", "dec_mid", relu=True, trace="dec_inner"),
    Layer("dec_out", "linear", "dec_mid", "output_len"),
)


def feeds_norm(i):
    """Whether layer i's output goes into a LayerNorm: the core keeps it in int16 (calibrate.py
    says why)."""
    return i + 1 < len(SEQUENCE) and SEQUENCE[i + 1].op == "layer_norm"


def output_type(i):
    """What layer i writes: SOH for the last, int16 into a LayerNorm, int8 otherwise."""
    return SOH if i == len(SEQUENCE) - 1 else S16 if feeds_norm(i) else S8


def input_type(i):
    """What layer i reads: the int16 scaled input (window and signals) for the first, its
    predecessor's output after."""
    return S16 if i == 0 else output_type(i - 1)
