"""Every error figure of the project, in SOH units, computed one way.

`by_band` groups windows by the mean SOH of the whole window (inputs and targets), with the bands
of the paper's segments: high >= 0.95, medium 0.90-0.95, low 0.85-0.90, very_low < 0.85.
"""

import numpy as np

BANDS = (("high", 0.95, np.inf), ("medium", 0.90, 0.95), ("low", 0.85, 0.90),
         ("very_low", -np.inf, 0.85))


def errors(y_true, y_pred):
    err = np.asarray(y_pred, np.float64) - np.asarray(y_true, np.float64)
    if err.size == 0:
        return {"mae": None, "rmse": None, "mape": None, "mae_at_10": None, "mae_at_100": None,
                "n_windows": 0}
    out = {
        "mae": float(np.abs(err).mean()),
        "rmse": float(np.sqrt((err ** 2).mean())),
        "mape": float(100.0 * np.abs(err / y_true).mean()),
        "mae_at_10": float(np.abs(err[:, 9]).mean()) if err.shape[1] >= 10 else None,
        "mae_at_100": float(np.abs(err[:, 99]).mean()) if err.shape[1] >= 100 else None,
        "n_windows": int(len(err)),
    }
    return out


def band_of(x, y):
    mean = np.concatenate([x, y], axis=1).mean(axis=1)
    names = np.empty(len(mean), dtype=object)
    for name, lo, hi in BANDS:
        names[(mean >= lo) & (mean < hi)] = name
    return names


def split_metrics(x, y_true, y_pred):
    """Errors of one split, overall and per SOH band."""
    out = errors(y_true, y_pred)
    bands = band_of(x, y_true) if len(x) else np.array([])
    out["by_band"] = {name: errors(y_true[bands == name], y_pred[bands == name])
                      for name, _, _ in BANDS if (bands == name).any()}
    return out


def all_splits(splits, predict, skip=("train",)):
    """{split: split_metrics} for every split but `skip`; `predict(inputs) -> y_pred` in SOH
    units, from raw input rows (WindowSet.inputs: the signals, then the window)."""
    return {s: split_metrics(w.x, w.y, predict(w.inputs)) for s, w in splits.items()
            if s not in skip and len(w)}
