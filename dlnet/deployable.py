"""The selected model, whatever its kind, as the deploy rules use it: float forecasts, and its
integer model for the C core. `predict` and `quantize` take raw input rows (dlnet/signals.py:
the signals, then the SOH window).

  liquid      a LiquidNet checkpoint (model.pt), quantized by qmodel.quantize
  linear      ridge regression (ridge.npz of rule learned_baselines), qmodel.quantize_linear
  polynomial  a polynomial baseline (baselines/metrics.json and the degree and fit length in
              selected.json), qmodel.quantize_polynomial: no network, the core's trend alone
"""

import json

import numpy as np

from dlnet.baselines import polynomial_forecast
from dlnet.errors import InputError
from dlnet.quant import qmodel
from dlnet.scaling import Scaler


class Liquid:
    kind = "liquid"

    def __init__(self, path):
        from dlnet import model as net

        self.model, self.scaler, _ = net.load(path)
        self.input_len, self.output_len = self.model.cfg.input_len, self.model.cfg.output_len

    def predict(self, x):
        from dlnet.training import predict

        return predict(self.model, self.scaler, x)

    def quantize(self, x_calibration, s):
        return qmodel.quantize(self.model, self.scaler, x_calibration, s["weights"],
                               s["calibration"], float(s["percentile"]), float(s["headroom"]))

    def costs(self):
        from dlnet.cost import costs

        return {**costs(self.model, self.scaler), "float32_bytes": 4 * costs(self.model)["params"]}


class Linear:
    """z_out = weight z_in + bias on the scaler's scaled windows (ridge regression's model)."""

    kind = "linear"

    def __init__(self, weight, bias, scaler):
        # scikit-learn gives one output's coefficients as a vector: a (1, inputs) layer here
        self.weight, self.bias = np.atleast_2d(weight), np.atleast_1d(bias)
        self.scaler = scaler
        self.signals = len(scaler.signals)
        self.output_len, self.input_len = self.weight.shape[0], self.weight.shape[1] - self.signals

    @classmethod
    def load(cls, path):
        """From rule learned_baselines' ridge.npz."""
        with np.load(path) as z:
            return cls(z["weight"], z["bias"], Scaler.from_dict(json.loads(str(z["scaler"]))))

    def predict(self, x):
        return self.scaler.inverse(x, self.scaler.transform(x) @ self.weight.T + self.bias)

    def quantize(self, x_calibration=None, s=None):
        weights = (s or {}).get("weights", "per_channel")
        return qmodel.quantize_linear(self.weight, self.bias, self.scaler, weights)

    def costs(self):
        from dlnet.cost import linear_costs, trend_len

        return {**linear_costs(self.input_len, self.output_len, trend_len(self.scaler),
                               self.signals),
                "float32_bytes": 4 * (self.weight.size + self.bias.size)}


class Polynomial:
    kind = "polynomial"

    def __init__(self, fit_len, degree, input_len, output_len):
        self.fit_len, self.degree = int(fit_len), int(degree)
        self.input_len, self.output_len = int(input_len), int(output_len)
        self.scaler = None

    def predict(self, x):
        return polynomial_forecast(x, self.fit_len, self.degree, self.output_len)

    def quantize(self, x_calibration, s):
        return qmodel.quantize_polynomial(self.input_len, self.output_len, self.fit_len,
                                          self.degree)

    def costs(self):
        from dlnet.cost import polynomial_costs

        return {**polynomial_costs(self.input_len, self.output_len, self.fit_len),
                "float32_bytes": 0}


def load(selected, input_len, output_len, source="selected.json"):
    """The Deployable that selected.json (a dict) names; windows of input_len -> output_len."""
    kind, path = selected.get("kind"), selected.get("model")
    if kind == "polynomial":
        return Polynomial(selected["fit_len"], selected["degree"], input_len, output_len)
    if not path:
        raise InputError(source, "has no 'model' entry", "rerun the select rule")
    if kind == "liquid":
        return Liquid(path)
    if kind == "linear":
        return Linear.load(path)
    raise InputError(source, f"names a model of kind '{kind}', which cannot be deployed",
                     "rerun the select rule (it selects liquid, linear or polynomial models)")
