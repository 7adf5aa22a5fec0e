"""Cost of one inference, counted exactly from a LiquidNet's shapes.

macs: every multiplication of one forward pass (a multiply-accumulate each):
  Linear(in, out)             in * out
  LayerNorm(n)                2n   (the squares of the variance, the gain)
  coupling per Euler step     full: W*W; lowrank: W (diagonal) + 2*W*rank
  input drive w_u * u         W per step
  Euler update per step       2W   (alpha * h and beta * tanh, dt folded into both)
  residual r * h0             W
  trend (quadratic scaling)   3 per fitted input (level, slope, curvature) + 3 per output
int8_bytes: the exact size of the model blob the int8 C core runs from flash (dlnet/quant/blob.py):
  int8 weights, int32 biases, per-row multipliers and shifts, LayerNorm and cell constants,
  tanh tables, trend, dimensions and checksum, so the Pareto front trades error against real
  bytes. The polynomial baselines are blobs too, without a network (polynomial_costs).
"""

from dlnet.layers import SEQUENCE


def _liquid_macs(cfg):
    w = cfg.width
    coupling = w * w if cfg.coupling == "full" else w + 2 * w * cfg.rank
    return cfg.steps * (coupling + w + 2 * w)


# Each op's multiplications, from the layer and the model's NetConfig (dlnet/layers.py).
MACS = {
    "linear": lambda layer, cfg: getattr(cfg, layer.n_in) * getattr(cfg, layer.n_out),
    "layer_norm": lambda layer, cfg: 2 * getattr(cfg, layer.n_out),
    "tanh": lambda layer, cfg: 0,
    "liquid": lambda layer, cfg: _liquid_macs(cfg),
    "residual": lambda layer, cfg: cfg.width,
}


def macs(model):
    return sum(MACS[layer.op](layer, model.cfg) for layer in SEQUENCE)


def trend_len(scaler):
    return scaler.trend_len if scaler is not None and scaler.kind == "quadratic" else 0


def trend_macs(fit_len, output_len):
    return 3 * fit_len + 3 * output_len if fit_len else 0


def int8_bytes(model, scaler=None):
    """Blob bytes; the quadratic scaling's parabola (scaler.trend_len inputs) is part of it."""
    from dlnet.quant.blob import size_of

    cfg = model.cfg
    return size_of({"network": "liquid", "input_len": cfg.input_len, "output_len": cfg.output_len,
                    "enc_hidden": cfg.enc_hidden, "width": cfg.width, "dec_hidden": cfg.dec_hidden,
                    "dec_mid": cfg.dec_mid, "coupling": cfg.coupling,
                    "rank": cfg.rank if cfg.coupling == "lowrank" else 0, "steps": cfg.steps,
                    "trend_len": trend_len(scaler), "signals": cfg.signals})


def costs(model, scaler=None):
    from dlnet.model import n_params

    return {"params": n_params(model),
            "macs": macs(model) + trend_macs(trend_len(scaler), model.cfg.output_len),
            "int8_bytes": int8_bytes(model, scaler)}


def linear_costs(input_len, output_len, fit_len, signals=0):
    """Ridge regression as the core runs it: one int8 layer (from the window and the signals)
    and the scaling's trend."""
    from dlnet.quant.blob import size_of

    n_in = input_len + signals
    return {"params": n_in * output_len + output_len,
            "macs": n_in * output_len + trend_macs(fit_len, output_len),
            "int8_bytes": size_of({"network": "linear", "input_len": input_len,
                                   "output_len": output_len, "enc_hidden": 0, "width": 0,
                                   "dec_hidden": 0, "dec_mid": 0, "rank": 0, "steps": 0,
                                   "trend_len": fit_len, "signals": signals})}


def polynomial_costs(input_len, output_len, fit_len):
    """A polynomial baseline as the core runs it: an anchor and a trend, no network."""
    from dlnet.quant.blob import size_of

    return {"params": 0, "macs": trend_macs(fit_len, output_len),
            "int8_bytes": size_of({"network": "none", "input_len": input_len,
                                   "output_len": output_len, "enc_hidden": 0, "width": 0,
                                   "dec_hidden": 0, "dec_mid": 0, "rank": 0, "steps": 0,
                                   "trend_len": fit_len})}
