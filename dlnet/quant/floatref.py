"""The float model in NumPy float64, step by step, to calibrate activations and check each op.

`params(model)` takes a LiquidNet's tensors; `forward(p, xs)` runs the network on scaled inputs
exactly as LiquidNet.forward in eval mode (dropout off) and returns every intermediate that gets
its own quantization, so calibration and the per-op tests read the same values.
"""

import numpy as np

from dlnet.layers import SEQUENCE


def params(model):
    """name -> float64 array; plus the static shape facts the quantizer needs."""
    p = {k: v.detach().double().numpy() for k, v in model.state_dict().items()}
    cfg = model.cfg
    p.update(coupling=cfg.coupling, steps=cfg.steps, dt=cfg.dt, input_len=cfg.input_len,
             ln_eps={layer.name: getattr(model, layer.name).eps for layer in SEQUENCE
                     if layer.op == "layer_norm"})
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


def latent(x, t):
    """h0 = tanh(x), the cell's starting state (the first of the trace's states)."""
    h0 = np.tanh(x)
    t["h"].append(h0)
    return h0


def cell(p, h, t):
    """The cell's Euler steps from h0, every state and pre-activation recorded."""
    for _ in range(p["steps"]):
        pre = couple(p, h, t) + p["cell.w_u"] * t["u"]
        t["pre"].append(pre)
        h = euler_step(p, h, pre)
        t["h"].append(h)
    return h


# Each op of dlnet/layers.py's sequence: (params, layer, input, trace) -> output.
OPS = {
    "linear": lambda p, layer, x, t: linear(p, layer.name, x),
    "layer_norm": lambda p, layer, x, t: layer_norm(p, layer.name, x),
    "tanh": lambda p, layer, x, t: latent(x, t),
    "liquid": lambda p, layer, x, t: cell(p, x, t),
    "residual": lambda p, layer, x, t: x + p["r"] * t["h"][0],
}


def forward(p, xs):
    """Scaled inputs (B, input_len + signals) -> (scaled outputs, trace of intermediates)."""
    x = np.asarray(xs, np.float64)
    t = {"low": [], "pre": [], "h": [], "u": x[:, :p["input_len"]].mean(axis=1, keepdims=True)}
    for layer in SEQUENCE:
        x = OPS[layer.op](p, layer, x, t)
        if layer.relu:
            x = relu(x)
        if layer.trace:
            t[layer.trace] = x
    return x, t
