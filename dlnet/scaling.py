"""Input/output scaling, fitted on training windows only.

Both kinds are `z = (soh - a(x)) / span`, applied to inputs and targets with the same a and span:
  minmax   (the paper): a is the training minimum, span the training range; z lies in [0, 1].
  anchored (ours):      a(x) is the mean of the last `anchor_len` inputs of each window and span
                        the largest |soh - a| seen in training, so z lies in [-1, 1] around the
                        present level. The model then learns the shape of the next 100 cycles,
                        not the absolute level of a cell it has never seen, and int8 steps are
                        spent on the change rather than on the level.
The inverse, a(x) + span * z, brings predictions back to SOH units for every metric.
"""

import numpy as np


class Scaler:
    def __init__(self, kind, span, offset=0.0, anchor_len=0):
        if kind not in ("minmax", "anchored"):
            raise ValueError(f"unknown scaling '{kind}'; use minmax or anchored")
        self.kind, self.span, self.offset, self.anchor_len = kind, float(span), float(offset), int(anchor_len)

    @classmethod
    def fit(cls, kind, x, y, anchor_len=10):
        if kind == "minmax":
            lo = min(x.min(), y.min())
            hi = max(x.max(), y.max())
            return cls("minmax", span=hi - lo, offset=lo)
        a = x[:, -anchor_len:].mean(axis=1, keepdims=True)
        span = max(np.abs(x - a).max(), np.abs(y - a).max())
        return cls("anchored", span=span, anchor_len=anchor_len)

    def anchor(self, x):
        """a(x): one value per window, shape (n, 1)."""
        x = np.asarray(x, dtype=np.float64)
        if self.kind == "minmax":
            return np.full((len(x), 1), self.offset)
        return x[:, -self.anchor_len:].mean(axis=1, keepdims=True)

    def transform(self, x, values):
        """Scale `values` (inputs or targets of the windows whose inputs are `x`)."""
        return (np.asarray(values, dtype=np.float64) - self.anchor(x)) / self.span

    def inverse(self, x, z):
        return self.anchor(x) + self.span * np.asarray(z, dtype=np.float64)

    def to_dict(self):
        return {"kind": self.kind, "span": self.span, "offset": self.offset,
                "anchor_len": self.anchor_len}

    @classmethod
    def from_dict(cls, d):
        return cls(d["kind"], d["span"], d.get("offset", 0.0), d.get("anchor_len", 0))
