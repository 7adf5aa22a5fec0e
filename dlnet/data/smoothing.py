"""Savitzky-Golay smoothing of whole series, as the DLNet paper did before cutting windows.

A centred filter over a whole series lets each value see its neighbours' future, so the last
inputs of a window see the first targets. Only the `paper` protocol uses it, for comparison.
"""

import numpy as np


def savgol_series(values, window=5, order=2):
    # SciPy here, not at the top: every training job imports this module, few smooth anything
    from scipy.signal import savgol_filter

    values = np.asarray(values, dtype=np.float64)
    if len(values) < window:
        return values.copy()
    return savgol_filter(values, window_length=window, polyorder=order)
