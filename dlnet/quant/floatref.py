"""The float model in NumPy float64, step by step, to calibrate activations and check each op.

`params(model)` takes a LiquidNet's tensors; `forward(p, xs)` runs the network on scaled inputs
exactly as LiquidNet.forward in eval mode (dropout off) and returns every intermediate that gets
its own quantization, so calibration and the per-op tests read the same values.
"""

import numpy as np


def params(model):
    """name -> float64 array; plus the static shape facts the quantizer needs."""
    p = {k: v.detach().double().numpy() for k, v in model.state_dict().items()}
    cfg = model.cfg
    p.update(coupling=cfg.coupling, steps=cfg.steps, dt=cfg.dt,
             ln_eps={n: getattr(model, n).eps for n in ("enc_norm", "lat_norm", "dec_norm")})
    return p


def linear(p, name, x):
    return x @ p[f"{name}.weight"].T + p[f"{name}.bias"]


def layer_norm(p, name, x):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + p["ln_eps"][name]) * p[f"{name}.weight"] + p[f"{name}.bias"]


def relu(x):
    return np.maximum(x, 0.0)


def couple(p, h, trace=None):
    if p["coupling"] == "full":
        return linear(p, "cell.W", h)
    low = h @ p["cell.V"]                                           # (B, rank)
    if trace is not None:
        trace["low"].append(low)
    return p["cell.d"] * h + low @ p["cell.U"].T + p["cell.b"]


def euler_step(p, h, pre):
    dt = p["dt"]
    return (1.0 - dt * p["cell.alpha"]) * h + dt * p["cell.beta"] * np.tanh(pre)


def forward(p, xs):
    """Scaled inputs (B, input_len) -> (scaled outputs, trace of intermediates)."""
    xs = np.asarray(xs, np.float64)
    t = {"low": [], "pre": [], "h": []}
    u = xs.mean(axis=1, keepdims=True)
    t["enc_in"] = linear(p, "enc_in", xs)
    t["enc_norm"] = relu(layer_norm(p, "enc_norm", t["enc_in"]))
    t["enc_out"] = linear(p, "enc_out", t["enc_norm"])
    t["lat_norm"] = layer_norm(p, "lat_norm", t["enc_out"])
    h0 = h = np.tanh(t["lat_norm"])
    t["h"].append(h0)
    for _ in range(p["steps"]):
        pre = couple(p, h, t) + p["cell.w_u"] * u
        t["pre"].append(pre)
        h = euler_step(p, h, pre)
        t["h"].append(h)
    t["res"] = h + p["r"] * h0
    t["dec_in"] = linear(p, "dec_in", t["res"])
    t["dec_norm"] = relu(layer_norm(p, "dec_norm", t["dec_in"]))
    t["dec_mid"] = relu(linear(p, "dec_mid", t["dec_norm"]))
    y = linear(p, "dec_out", t["dec_mid"])
    return y, t
