"""Seed noise: how much one training run's validation MAE depends on its seed.

Every finalist of a protocol is trained with several seeds (the configured seed, seed + 1, ...);
the spread of its validation MAE across them is the noise that would reorder candidates on another
machine, whose floating-point rounding sends training down another path just as a seed does.

Finalists come in lineages: a student and the pruned models recovered from it share, seed by seed,
the student they start from (the teacher is a lineage of its own). Every seed's students are
distilled from the configured seed's teacher, so the noise leaves out what a retrained teacher
would add. So the noise of a run has two parts, in units of the candidate's mean MAE m:

    mae_run = m (1 + shared_seed + own),   shared_seed ~ (0, shared^2), own ~ (0, own^2)

`shared` moves every candidate of a lineage together on one seed; `own` is what each model's own
training adds. Two candidates of one lineage are compared seed by seed, and the shared part
cancels; candidates of different lineages differ by both parts. Relative, because the spread
grows with the error: a model twice as wrong varies about twice as much between seeds.

Estimates, from relative deviations r = mae_run / m - 1 (zero mean per candidate over its runs):
    total^2 = sum r^2 / sum (runs - 1)                        pooled over candidates
    own^2   = sum (r - mean of r over the lineage's candidates on that seed)^2
              / sum over lineages of (candidates - 1)(runs - 1)
    shared^2 = total^2 - own^2 (at least 0)

Candidates of one lineage share its seeds' shocks, so their runs are not independent draws of
the noise: the shared part is known from one value per lineage and seed, L (runs - 1) degrees of
freedom for L lineages, the own part from dof_own. A comparison between lineages, whose variance
holds both parts, gets the Welch-Satterthwaite degrees of freedom of that sum (`dof_between`),
not the count of runs.

A failed run is not seed noise: a run whose MAE lies more than FAILED_Z standard deviations above
the best of its candidate's other runs (in the noise of the other candidates) is left out of the
estimate and reported. The best, not the mean: a training run can fail (a residual network that
collapses to the parabola it corrects scores as the parabola), not luck into much better, and two
failed runs of three would hide from a comparison with the mean. It stays in its candidate's
mean: a model whose training sometimes fails is worse, in expectation, by that much.
"""

from dataclasses import dataclass, field

import numpy as np

# Six: with 6 finalists x 3 seeds of normal noise, something is flagged in 0.3% of selections,
# while a run 38% worse than its model's others at 4% noise is found in 80% and a run 80% worse,
# alone or with another, always (python benchmarks/failed_runs.py). Four flags a clean
# selection in 5%: the best other run is itself a low draw, and sigma comes from few runs.
FAILED_Z = 6.0


def run_seeds(seed, runs):
    """The seeds of `runs` training runs: the configured seed first."""
    return [int(seed) + k for k in range(int(runs))]


def lineage(name):
    """The student a candidate starts from (h4-tiny_p0.3 -> h4-tiny); the teacher is its own."""
    return name.rsplit("_p", 1)[0]


@dataclass
class Noise:
    total: float            # relative standard deviation of one run's MAE
    shared: float           # the part a seed shares across a lineage
    own: float              # the part each candidate's own training adds
    dof_total: int          # runs minus candidates
    dof_own: int
    dof_shared: int = 0     # lineages x (runs - 1): independent values of the shared part
    failed: list = field(default_factory=list)   # the runs left out (failed_runs)

    @property
    def dof_between(self):
        """Degrees of freedom of own^2 + shared^2, the variance of a comparison between lineages
        (Welch-Satterthwaite); at most dof_total."""
        own2, shared2 = self.own ** 2, self.shared ** 2
        parts = [(own2, self.dof_own), (shared2, self.dof_shared)]
        denominator = sum(v ** 2 / d for v, d in parts if v > 0 and d > 0)
        if denominator == 0:
            return self.dof_total
        return min(float(self.dof_total), (own2 + shared2) ** 2 / denominator)

    def to_dict(self):
        return {"relative_std": self.total, "shared": self.shared, "own": self.own,
                "dof": self.dof_total, "dof_own": self.dof_own, "dof_shared": self.dof_shared,
                "dof_between": self.dof_between, "failed": self.failed}


def failed_runs(runs, z=FAILED_Z):
    """Index labels of the failed runs in a table with columns name, seed, val_mae: the run most
    above the best of its candidate's other runs, relative to it, when that exceeds z times
    sqrt(2) sigma (the spread of a difference of two runs), sigma the noise of the other
    candidates' runs (so that a failure does not inflate its own yardstick); then again
    without it, until no run is that far above."""
    out = []
    while True:
        worst = (z, None)
        kept = runs.drop(index=out)
        for name, own in kept.groupby("name"):
            others = kept[kept["name"] != name]
            if len(own) < 2 or (others.groupby("name").size() > 1).sum() == 0:
                continue
            sigma = _estimate(others).total
            if sigma == 0:
                continue
            for i, r in own.iterrows():
                best = own.drop(index=i)["val_mae"].min()
                score = (r["val_mae"] / best - 1.0) / (sigma * np.sqrt(2.0))
                if score > worst[0]:
                    worst = (score, i)
        if worst[1] is None:
            return out
        out.append(worst[1])


def estimate(runs):
    """Noise from a table of runs with columns name, seed, val_mae (every finalist's runs),
    the failed ones (failed_runs) left out and listed."""
    bad = failed_runs(runs)
    noise = _estimate(runs.drop(index=bad))
    noise.failed = [{"name": r["name"], "seed": int(r["seed"]), "val_mae": float(r["val_mae"]),
                     "others_best": float(runs.loc[(runs["name"] == r["name"]) & ~runs.index.isin(bad),
                                                   "val_mae"].min())}
                    for _, r in runs.loc[bad].iterrows()]
    return noise


def _estimate(runs):
    runs = runs.assign(r=runs["val_mae"] / runs.groupby("name")["val_mae"].transform("mean") - 1.0,
                       lineage=runs["name"].map(lineage))
    counts = runs.groupby("name").size()
    dof_total = int((counts - 1).clip(lower=0).sum())
    if dof_total == 0:
        raise ValueError("the seed noise needs at least one candidate trained with two seeds")
    total2 = float((runs["r"] ** 2).sum()) / dof_total
    own_sq, dof_own = 0.0, 0
    dof_shared = int(sum(g["seed"].nunique() - 1 for _, g in runs.groupby("lineage")))
    for _, group in runs.groupby("lineage"):
        table = group.pivot(index="seed", columns="name", values="r").dropna()
        k, n = table.shape[1], table.shape[0]
        if k < 2 or n < 2:
            continue
        resid = table.sub(table.mean(axis=1), axis=0)
        own_sq += float((resid.to_numpy() ** 2).sum())
        dof_own += (k - 1) * (n - 1)
    own2 = own_sq / dof_own if dof_own else total2      # no pairs: no part can be told apart
    return Noise(np.sqrt(total2), np.sqrt(max(total2 - own2, 0.0)), np.sqrt(min(own2, total2)),
                 dof_total, dof_own, dof_shared)
