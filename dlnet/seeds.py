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
"""

from dataclasses import dataclass

import numpy as np


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
    dof_total: int
    dof_own: int

    def to_dict(self):
        return {"relative_std": self.total, "shared": self.shared, "own": self.own,
                "dof": self.dof_total, "dof_own": self.dof_own}


def estimate(runs):
    """Noise from a table of runs with columns name, seed, val_mae (every finalist's runs)."""
    runs = runs.assign(r=runs["val_mae"] / runs.groupby("name")["val_mae"].transform("mean") - 1.0,
                       lineage=runs["name"].map(lineage))
    counts = runs.groupby("name").size()
    dof_total = int((counts - 1).clip(lower=0).sum())
    if dof_total == 0:
        raise ValueError("the seed noise needs at least one candidate trained with two seeds")
    total2 = float((runs["r"] ** 2).sum()) / dof_total
    own_sq, dof_own = 0.0, 0
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
                 dof_total, dof_own)
