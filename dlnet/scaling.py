"""Input/output scaling, fitted on training windows only.

Inputs are `(x - a(x)) / span`; forecasts come back as `b(x) + span * z`, where
  minmax    (the paper): a = b = the training minimum, span the training range; z in [0, 1].
  anchored  (ours):      a = b = the mean of the last `anchor_len` inputs of each window, span the
                         largest |soh - a| seen in training. The model learns the shape of the
                         next cycles, not the absolute level of a cell it has never seen, and int8
                         steps are spent on the change rather than on the level.
  quadratic (ours):      a as in anchored; b(x) is the least-squares parabola through the last
                         `trend_len` inputs, extrapolated over the forecast horizon (the quadratic
                         baseline itself). The model learns only the correction to that baseline:
                         where the fade accelerates (the knee) or levels off. A model that outputs
                         zero is the baseline, so training starts from it instead of from scratch.
                         span is the largest |soh - a| of the training inputs alone: the targets'
                         largest distance from the parabola is set by a few outlier
                         extrapolations (2 to 5 times the inputs' span on the shipped data),
                         which would squeeze every other window's input and correction.
Each anchor uses only the window's own inputs, never its targets.

Signals (dlnet/signals.py) beside the window are scaled, (v - offset) / scale with the training
windows' rounded mean and largest distance from it (signals.fit), and follow the scaled window in the
model's input. Every method takes raw input rows (the signals, then the window): the anchors and
the parabola read the last values of a row, which are SOH.
"""

import numpy as np

KINDS = ("minmax", "anchored", "quadratic")


def trend_matrix(fit_len, horizon, degree=2):
    """P (horizon, fit_len): the least-squares polynomial through the last fit_len values,
    evaluated at the next `horizon` steps, is x[-fit_len:] @ P.T."""
    t_past = np.arange(-fit_len + 1, 1, dtype=np.float64)
    t_future = np.arange(1, horizon + 1, dtype=np.float64)
    past = np.vander(t_past, degree + 1, increasing=True)        # (fit_len, degree+1)
    future = np.vander(t_future, degree + 1, increasing=True)    # (horizon, degree+1)
    return future @ np.linalg.pinv(past)


class Scaler:
    def __init__(self, kind, span, offset=0.0, anchor_len=0, trend_len=0, signals=()):
        if kind not in KINDS:
            raise ValueError(f"unknown scaling '{kind}'; use one of {KINDS}")
        self.kind, self.span, self.offset = kind, float(span), float(offset)
        self.anchor_len, self.trend_len = int(anchor_len), int(trend_len)
        self.signals = [dict(g) for g in signals]     # dlnet.signals.fit: name, unit, offset, scale

    @classmethod
    def fit(cls, kind, x, y, anchor_len=10, trend_len=100, signals=()):
        """From the training windows x (SOH only) and targets y; `signals`, the training
        windows' signal scalings (dlnet.signals.fit)."""
        if kind == "minmax":
            lo = min(x.min(), y.min())
            hi = max(x.max(), y.max())
            return cls("minmax", span=hi - lo, offset=lo, signals=signals)
        scaler = cls(kind, 1.0, anchor_len=anchor_len,
                     trend_len=trend_len if kind == "quadratic" else 0)
        span = np.abs(scaler.transform(x)).max()                # with span 1: |x - a|
        if kind == "anchored":
            span = max(span, np.abs(scaler.scale_targets(x, y)).max())
        scaler.span = span
        scaler.signals = [dict(g) for g in signals]
        return scaler

    def anchor(self, x):
        """a(x): the input anchor, one value per window, shape (n, 1)."""
        x = np.asarray(x, dtype=np.float64)
        if self.kind == "minmax":
            return np.full((len(x), 1), self.offset)
        return x[:, -self.anchor_len:].mean(axis=1, keepdims=True)

    def forecast_anchor(self, x, horizon):
        """b(x): what a zero model output forecasts, shape (n, horizon) or (n, 1)."""
        if self.kind != "quadratic":
            return self.anchor(x)
        x = np.asarray(x, dtype=np.float64)
        return x[:, -self.trend_len:] @ trend_matrix(self.trend_len, horizon).T

    def transform(self, x):
        """The model's input: the window of each raw input row scaled, then its signals scaled."""
        x = np.asarray(x, dtype=np.float64)
        k = len(self.signals)
        window = (x[:, k:] - self.anchor(x)) / self.span
        if not k:
            return window
        offset = np.array([g["offset"] for g in self.signals], np.float64)
        scale = np.array([g["scale"] for g in self.signals], np.float64)
        return np.concatenate([window, (x[:, :k] - offset) / scale], axis=1)

    def scale_targets(self, x, y):
        y = np.asarray(y, dtype=np.float64)
        return (y - self.forecast_anchor(x, y.shape[1])) / self.span

    def inverse(self, x, z):
        z = np.asarray(z, dtype=np.float64)
        return self.forecast_anchor(x, z.shape[1]) + self.span * z

    def to_dict(self):
        return {"kind": self.kind, "span": self.span, "offset": self.offset,
                "anchor_len": self.anchor_len, "trend_len": self.trend_len,
                "signals": self.signals}

    @classmethod
    def from_dict(cls, d):
        return cls(d["kind"], d["span"], d.get("offset", 0.0), d.get("anchor_len", 0),
                   d.get("trend_len", 0), d.get("signals", ()))
