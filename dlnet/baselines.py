"""The trivial forecasts every model must beat.

persistence: the last input value, held for all output steps.
linear:      a straight line least-squares fitted to the last k inputs, extrapolated.
quadratic:   a parabola least-squares fitted to the last k inputs, extrapolated.
k is chosen per baseline on the validation split from `fit_lengths`; the scores of every k are
kept in the metrics file, so a reader sees how sensitive each baseline is to it.

Each baseline is scored twice: in float (`polynomial_forecast`, the reference every table
quotes) and as the int8 core computes it (`int8_forecast`: Q7.24 inputs, integer trend), which is
what a deployed baseline delivers. They would differ where the forecast leans on differences
finer than the core's input step: a parabola through the last few values of an already smoothed
series extrapolates those differences a hundred cycles ahead, so the core's trend reads 24
fraction bits (benchmarks/trend_length.py shows the error by input bits).
"""

import numpy as np

from dlnet.metrics import all_splits, errors
from dlnet.scaling import trend_matrix


def polynomial_forecast(x, fit_len, degree, horizon):
    x = np.asarray(x, dtype=np.float64)
    return x[:, -fit_len:] @ trend_matrix(fit_len, horizon, degree).T


BASELINES = {"persistence": 0, "linear": 1, "quadratic": 2}


def int8_forecast(x, fit_len, degree, horizon):
    """The baseline as the int8 core runs it (qmodel.quantize_polynomial), in SOH units."""
    from dlnet.quant import qmodel, reference

    qm = qmodel.quantize_polynomial(np.shape(x)[1], horizon, fit_len, degree)
    return reference.predict(qm, x)


FORECASTS = {"float": polynomial_forecast, "int8": int8_forecast}


def fit_length_scores(val, fit_lengths, degree, horizon, forecast=polynomial_forecast):
    """{k: validation MAE} of the degree-`degree` fit to the last k inputs, for every usable k."""
    lengths = [1] if degree == 0 else [k for k in fit_lengths if degree < k <= val.x.shape[1]]
    return {k: errors(val.y, forecast(val.x, k, degree, horizon))["mae"] for k in lengths}


def best_fit_length(val, fit_lengths, degree, horizon, forecast=polynomial_forecast):
    scores = fit_length_scores(val, fit_lengths, degree, horizon, forecast)
    return min(scores, key=scores.get), scores


def evaluate(splits, fit_lengths, horizon, forecast=polynomial_forecast):
    """{name: {fit_len, val_mae_by_fit_len, <split>: metrics, by_fit_len}} for every baseline."""
    out = {}
    for name, degree in BASELINES.items():
        best, scores = best_fit_length(splits["val"], fit_lengths, degree, horizon, forecast)
        out[name] = {"fit_len": best, "degree": degree,
                     "val_mae_by_fit_len": {str(k): v for k, v in scores.items()},
                     **all_splits(splits, lambda x: forecast(x, best, degree, horizon))}
        out[name]["by_fit_len"] = {
            str(k): {s: errors(w.y, forecast(w.x, k, degree, horizon))["mae"]
                     for s, w in splits.items() if s != "train" and len(w)}
            for k in scores}
    return out
