"""The trivial forecasts every model must beat.

persistence: the last input value, held for all output steps.
linear:      a straight line least-squares fitted to the last k inputs, extrapolated.
quadratic:   a parabola least-squares fitted to the last k inputs, extrapolated.
k is chosen per baseline on the validation split from `fit_lengths`; the scores of every k are
kept in the metrics file, so a reader sees how sensitive each baseline is to it.
"""

import numpy as np

from dlnet.metrics import all_splits, errors
from dlnet.scaling import trend_matrix


def polynomial_forecast(x, fit_len, degree, horizon):
    x = np.asarray(x, dtype=np.float64)
    return x[:, -fit_len:] @ trend_matrix(fit_len, horizon, degree).T


BASELINES = {"persistence": 0, "linear": 1, "quadratic": 2}


def evaluate(splits, fit_lengths, horizon):
    """{name: {fit_len, val_mae_by_fit_len, <split>: metrics}} for every baseline."""
    val = splits["val"]
    out = {}
    for name, degree in BASELINES.items():
        lengths = [1] if degree == 0 else [k for k in fit_lengths if k > degree and k <= val.x.shape[1]]
        scores = {k: errors(val.y, polynomial_forecast(val.x, k, degree, horizon))["mae"]
                  for k in lengths}
        best = min(scores, key=scores.get)
        out[name] = {"fit_len": best, "degree": degree,
                     "val_mae_by_fit_len": {str(k): v for k, v in scores.items()},
                     **all_splits(splits, lambda x: polynomial_forecast(x, best, degree, horizon))}
        out[name]["by_fit_len"] = {
            str(k): {s: errors(w.y, polynomial_forecast(w.x, k, degree, horizon))["mae"]
                     for s, w in splits.items() if s != "train" and len(w)}
            for k in lengths}
    return out
