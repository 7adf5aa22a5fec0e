"""What a device checks before it forecasts: the NumPy specification of dlnet_check_window.

A battery management system's capacity stream carries what the workflow cleans away before
training (dlnet/data/cleaning.py): zero readings of missed measurements, impossible spikes,
single-cycle jumps. A model forecasts from any 100 numbers; from those it forecasts nothing
meaningful, so the firmware asks the core first and answers `E <reason>` instead. The rules, in
SOH units and Q7.24, the model's input (the C core's header holds the same numbers):
  range  every value above 0 and at most 1.25 SOH;
  jump   every value at most 0.05 SOH from the median of the up to 10 values before it, once
         there are 3 (cleaning's 0.05 Ah jump limit of a 1.1 Ah cell, rounded up to 0.05 SOH).
The first value that breaks a rule is reported, by its index.
"""

import numpy as np

OK, ERR_INPUT_RANGE, ERR_INPUT_JUMP = 0, -9, -10
SOH_MIN_Q, SOH_MAX_Q = 1, 20971520       # (0, 1.25] in Q7.24
JUMP_MAX_Q = 838861                      # 0.05 SOH in Q7.24 (round(0.05 * 2^24))
JUMP_WINDOW, JUMP_MIN_BEFORE = 10, 3


def check_window(q):
    """(code, index of the first bad value or -1) for one window of Q7.24 values."""
    q = np.asarray(q, np.int64)
    for i, v in enumerate(q):
        if not SOH_MIN_Q <= v <= SOH_MAX_Q:
            return ERR_INPUT_RANGE, i
        before = np.sort(q[max(0, i - JUMP_WINDOW):i])
        k = len(before)
        if k < JUMP_MIN_BEFORE:
            continue
        twice_median = 2 * before[k // 2] if k % 2 else before[k // 2 - 1] + before[k // 2]
        if abs(2 * v - twice_median) > 2 * JUMP_MAX_Q:
            return ERR_INPUT_JUMP, i
    return OK, -1
