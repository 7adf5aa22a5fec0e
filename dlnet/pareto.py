"""Pareto fronts of error against cost, and the rule that picks the model to deploy.

Objectives are all minimised: the validation MAE and the cost columns named in config
(int8 bytes, multiply-accumulates). Fronts come from pymoo's non-dominated sorting; rank 1 is
the non-dominated set. Selection reads validation columns only.
"""

import numpy as np
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting


def front_ranks(points):
    """1-based front rank of every row of `points` (n, n_objectives), all minimised."""
    points = np.asarray(points, dtype=np.float64)
    ranks = np.zeros(len(points), dtype=int)
    if len(points) == 0:
        return ranks
    for r, members in enumerate(NonDominatedSorting().do(points), start=1):
        ranks[members] = r
    return ranks


def select(frame, error, cost, rule, tolerance):
    """Pick one row of `frame` (candidates on the final front). Returns (index, reason).

    within_best: the cheapest model whose validation error is within `tolerance` (relative) of
                 the best validation error among the candidates.
    knee:        the point furthest below the straight line joining the two ends of the front,
                 after scaling error and log-cost to [0, 1].
    """
    if frame.empty:
        raise ValueError("no candidate models to select from")
    err, cst = frame[error].to_numpy(float), frame[cost].to_numpy(float)
    if rule == "within_best":
        limit = err.min() * (1.0 + tolerance)
        ok = np.flatnonzero(err <= limit)
        pick = ok[np.lexsort((err[ok], cst[ok]))[0]]
        return frame.index[pick], (f"cheapest by {cost} among models with {error} <= "
                                   f"{limit:.6f} (best {err.min():.6f} + {tolerance:.0%})")
    if rule == "knee":
        e = (err - err.min()) / max(np.ptp(err), 1e-12)
        lc = np.log(cst)
        c = (lc - lc.min()) / max(np.ptp(lc), 1e-12)
        # distance below the line from (cheapest) to (most accurate), both at the front's ends
        a, b = np.argmin(c), np.argmin(e)
        p, q = np.array([c[a], e[a]]), np.array([c[b], e[b]])
        d = q - p
        norm = max(np.hypot(*d), 1e-12)
        dist = (d[0] * (e - p[1]) - d[1] * (c - p[0])) / norm
        pick = int(np.argmin(dist))
        return frame.index[pick], f"knee of the {error} vs log({cost}) front"
    raise ValueError(f"unknown selection rule '{rule}'; use within_best or knee")
