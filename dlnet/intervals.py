"""How far a split's MAE could move with other cells: a percentile bootstrap over cells.

A split's windows are not independent draws: the windows of one cell share its chemistry, its
charging policy and its knee, and a cell that a model forecasts badly makes all of its windows
bad. So the unit that is resampled is the cell (a cluster bootstrap): each draw takes as many
cells as the split has, with replacement, each with all of its windows, and recomputes

    MAE    = sum of the drawn windows' MAEs / number of drawn windows
    ratio  = model's sum / baseline's sum over the same drawn windows      (paired)

The interval is the central `confidence` share of the draws (percentiles). It answers "would
another set of test cells from the same population give this number?", not "would another
training run?": the seed noise is the selection's (dlnet/seeds.py). With few cells the interval
is rough, and with one cell it has no width: `cells` says how many there were.

`resampled_maes` draws the same way for many models at once, which rule select uses to ask how
often its choice would hold on other validation cells.
"""

import numpy as np


def per_cell(cells, errors):
    """(sums, counts): each cell's sum of window errors and its number of windows, in the order
    of np.unique(cells)."""
    _, index = np.unique(np.asarray(cells, dtype=str), return_inverse=True)
    return (np.bincount(index, weights=np.asarray(errors, np.float64)),
            np.bincount(index).astype(np.float64))


def window_mae(y, pred):
    """Each window's MAE over its forecast steps, (n,)."""
    return np.abs(np.asarray(pred, np.float64) - np.asarray(y, np.float64)).mean(axis=1)


def against(y, model, baseline, cells, draws, confidence, seed):
    """The model's and the baseline's MAE and their ratio on windows (y, forecasts (n, steps),
    their cells), each with its `confidence` interval over `draws` resamplings of the cells
    (seeded: the same arguments give the same numbers). `beats_share`: the share of draws in
    which the model's MAE is below the baseline's."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence {confidence} is not between 0 and 1")
    if int(draws) < 1:
        raise ValueError(f"draws {draws} must be at least 1")
    m_sum, n = per_cell(cells, window_mae(y, model))
    b_sum, _ = per_cell(cells, window_mae(y, baseline))
    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, len(n), size=(int(draws), len(n)))      # (draws, cells)
    m_draw, b_draw = m_sum[drawn].sum(axis=1), b_sum[drawn].sum(axis=1)
    n_draw = n[drawn].sum(axis=1)
    tail = (1.0 - confidence) / 2.0

    def interval(values):
        lo, hi = np.quantile(values, [tail, 1.0 - tail])
        return [float(lo), float(hi)]

    return {"cells": int(len(n)), "windows": int(n.sum()),
            "mae": float(m_sum.sum() / n.sum()), "mae_interval": interval(m_draw / n_draw),
            "baseline_mae": float(b_sum.sum() / n.sum()),
            "baseline_mae_interval": interval(b_draw / n_draw),
            "ratio": float(m_sum.sum() / b_sum.sum()), "ratio_interval": interval(m_draw / b_draw),
            "beats_share": float(np.mean(m_draw < b_draw))}


def resampled_maes(sums, counts, draws, seed):
    """(draws, models) MAEs of models with per-cell error sums `sums` (models, cells; see
    per_cell) over cells with `counts` windows, each draw the same resampling of the cells with
    replacement for every model (paired), seeded."""
    sums, counts = np.asarray(sums, np.float64), np.asarray(counts, np.float64)
    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, len(counts), size=(int(draws), len(counts)))
    weight = np.stack([np.bincount(row, minlength=len(counts)) for row in drawn])  # (draws, cells)
    return (weight @ sums.T) / (weight @ counts)[:, None]
