"""The LiquidNet's layer sequence, declared once.

dlnet/model.py writes the network out as equations (LiquidNet.forward); everything that follows
the same sequence layer by layer walks this table instead of repeating it: the float reference
(quant/floatref.py), the int8 quantizer (quant/qmodel.py), the int8 reference (quant/reference.py),
the blob layout (quant/blob.py) and the cost model (cost.py). A new op is a row here, its entry in
each walker's op table, its C function (firmware/core) and their tests.

    name   the LiquidNet module (state_dict prefix), the QuantModel field and the blob section
    op     linear | layer_norm | tanh | liquid | residual
    n_in   the size (a NetConfig field, a blob dimension) of its input
    n_out  the size of its output
    relu   a ReLU follows it
    trace  where the float reference records its output for calibration (None: not recorded)
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Layer:
    name: str
    op: str
    n_in: str
    n_out: str
    relu: bool = False
    trace: str | None = None


SEQUENCE = (
    Layer("enc_in", "linear", "input_len", "enc_hidden", trace="enc_in"),
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
