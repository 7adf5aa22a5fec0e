"""Pareto fronts of error against cost, and the rule that picks the model to deploy.

Objectives are all minimised: the validation MAE and the cost columns named in config
(int8 bytes, multiply-accumulates). Fronts come from pymoo's non-dominated sorting; rank 1 is
the non-dominated set. Selection reads validation columns only.
"""

import numpy as np
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting
from scipy.stats import t as student_t


def front_ranks(points):
    """1-based front rank of every row of `points` (n, n_objectives), all minimised."""
    points = np.asarray(points, dtype=np.float64)
    ranks = np.zeros(len(points), dtype=int)
    if len(points) == 0:
        return ranks
    for r, members in enumerate(NonDominatedSorting().do(points), start=1):
        ranks[members] = r
    return ranks


def finalists(error, cost, n, band):
    """Indices of the candidates retrained with every seed, from one run's validation `error`
    and `cost` of the first front's networks: the most accurate, then the cheapest of those
    within `band` (relative) of its error, n in all. The rule then picks the cheapest whose
    mean is within the noise of the best, so these are the ones it could pick; the band holds
    what one run's noise could hide (a difference of two runs at 8% noise per run has an 11%
    spread)."""
    error, cost = np.asarray(error, np.float64), np.asarray(cost, np.float64)
    if not len(error) or n < 1:
        return []
    best = int(np.argmin(error))
    near = [i for i in np.lexsort((error, cost))
            if i != best and error[i] <= error[best] * (1.0 + band)]
    return sorted([best, *near[:n - 1]])


def paired(runs, lineages, best):
    """Which candidates are compared with the best seed by seed: trained on the same seeds in
    the same lineage."""
    n = np.asarray(runs, np.float64)
    return (np.asarray(lineages) == lineages[best]) & np.isfinite(n) & (n == n[best])


def difference_variance(error, runs, lineages, noise, best):
    """Variance of each candidate's mean error minus the best one's, from the seed noise
    (dlnet.seeds.Noise): the parts each model's training adds always count; the part a seed
    shares across a lineage cancels between two candidates of one lineage trained on the same
    seeds (all but the spread of their levels), and counts in full between lineages. A
    deterministic candidate (runs inf) adds nothing."""
    m, n = np.asarray(error, np.float64), np.asarray(runs, np.float64)
    both = m ** 2 / n + m[best] ** 2 / n[best]
    shared = np.where(paired(runs, lineages, best), (m - m[best]) ** 2 / n, both)
    return noise.own ** 2 * both + noise.shared ** 2 * shared


def dominated_by(error, cost):
    """For each candidate, the index of one that is at most as costly and at most as wrong,
    better on one of the two (the cheapest such; -1: none): a candidate the rule must never
    deploy, whatever the noise says about it."""
    error, cost = np.asarray(error, np.float64), np.asarray(cost, np.float64)
    out = np.full(len(error), -1)
    for m in range(len(error)):
        better = (cost <= cost[m]) & (error <= error[m]) & ((cost < cost[m]) | (error < error[m]))
        if better.any():
            idx = np.flatnonzero(better)
            out[m] = int(idx[np.lexsort((error[idx], cost[idx]))[0]])
    return out


def within_noise(error, runs, cost, lineages, noise, confidence):
    """Index of the cheapest candidate whose validation error is not significantly worse than
    the best one's, the best's index, and every candidate's margin in standard errors.

    error: each candidate's mean validation MAE over its `runs` training runs (seeds); runs is
    inf for a deterministic candidate (a baseline). Candidate m is within noise of the best b when

        error_m - error_b <= q sqrt(difference_variance),

    q the one-sided Student t quantile of `confidence` with the degrees of freedom of the noise
    in the comparison (a lineage's own part for paired candidates, both parts otherwise:
    Noise.dof_between): the difference is what the seeds alone could make. margin =
    q - difference / standard error, >= 0 within. Ties in cost go to the lower error.

    A candidate that another beats on mean error at no more cost (`dominated_by`) is never
    picked, within noise or not: the margins differ in width (a pair of one lineage compares
    seed by seed, a baseline has no noise of its own), so a model can be within the band of the
    best while a cheaper, more accurate one (a baseline, say) is outside it.
    """
    error, runs, cost = (np.asarray(a, np.float64) for a in (error, runs, cost))
    if not len(error):
        raise ValueError("no candidate models to select from")
    best = int(np.argmin(error))
    se = np.sqrt(difference_variance(error, runs, lineages, noise, best))
    dof = np.where(paired(runs, lineages, best) & (noise.dof_own > 0), noise.dof_own,
                   noise.dof_between)
    quantile = student_t.ppf(confidence, np.maximum(dof, 1))
    diff = error - error[best]
    with np.errstate(divide="ignore", invalid="ignore"):
        margin = quantile - diff / se
    exact = se == 0                       # two deterministic candidates: no noise to allow
    margin[exact] = np.where(diff[exact] <= 0, np.inf, -np.inf)
    ok = np.flatnonzero((margin >= 0) & (dominated_by(error, cost) < 0))
    pick = int(ok[np.lexsort((error[ok], cost[ok]))[0]])
    return pick, best, margin


def knee(error, cost):
    """Index of the point furthest below the straight line joining the two ends of the front,
    after scaling error and log(1 + cost) to [0, 1] (a baseline costs 0 parameters)."""
    err, cst = np.asarray(error, np.float64), np.asarray(cost, np.float64)
    e = (err - err.min()) / max(np.ptp(err), 1e-12)
    lc = np.log1p(cst)
    c = (lc - lc.min()) / max(np.ptp(lc), 1e-12)
    a, b = np.argmin(c), np.argmin(e)      # the cheapest and the most accurate end
    p, q = np.array([c[a], e[a]]), np.array([c[b], e[b]])
    d = q - p
    dist = (d[0] * (e - p[1]) - d[1] * (c - p[0])) / max(np.hypot(*d), 1e-12)
    return int(np.argmin(dist))


def rerun(error, runs, lineages, noise, rng):
    """Every trained candidate's mean error after a rerun elsewhere: each moves by the difference
    of two independent means of `runs` runs, a shared shock per lineage and its own; the
    deterministic ones stay."""
    error, runs = np.asarray(error, np.float64), np.asarray(runs, np.float64)
    lineages = np.asarray(lineages)
    names, index = np.unique(lineages, return_inverse=True)
    trained = np.isfinite(runs)
    scale = np.sqrt(2.0 / np.where(trained, runs, 1.0))
    shared = noise.shared * rng.standard_normal(len(names))[index]
    own = noise.own * rng.standard_normal(len(error))
    return error + np.where(trained, error * scale * (shared + own), 0.0)


def stability(choose, error, runs, lineages, noise, draws, seed):
    """How often `choose(error) -> index` picks the same candidate after a simulated rerun
    elsewhere (`rerun`). Returns (fraction of draws that choose the same index,
    {index: fraction of draws that choose it})."""
    chosen = choose(np.asarray(error, np.float64))
    rng = np.random.default_rng(seed)
    picks = [choose(rerun(error, runs, lineages, noise, rng)) for _ in range(draws)]
    counts = np.bincount(picks, minlength=len(error)) / max(draws, 1)
    return float(counts[chosen]), {int(i): float(f) for i, f in enumerate(counts) if f > 0}
