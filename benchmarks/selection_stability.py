"""Does the deployed model's choice survive the noise it was made under? On a finished run.

For each protocol it reads what the select rule read and wrote (pareto/pareto.csv: the
selectable candidates; pareto/seeds.csv: every finalist's runs; pareto/selected.json) and
  1. recomputes the choice from those files (it must be the recorded one),
  2. reruns it with every trained candidate's mean validation MAE perturbed as a rerun elsewhere
     would move it (pareto.rerun: a shock per lineage and per model, from the seed noise), with
     other draws than the select rule's,
  3. recomputes it from the real runs with one seed left out of every finalist (as if the run had
     trained one seed fewer), for each seed in turn: the noise is re-estimated each time,
  4. counts the finalists whose configured seed, the run that made them finalists, is below the
     mean of their other seeds (a selection effect, which would be about half by chance).
Validation columns only; nothing here reads a test split.

    python benchmarks/selection_stability.py [--results results] [--protocols cells paper ...]
"""

import argparse
import json
from pathlib import Path

import pandas as pd

from dlnet import pareto, seeds as seed_noise


def choose(pool, error, noise, rule):
    return pareto.within_noise(error, pool["runs"].to_numpy(float),
                               pool[rule["cost"]].to_numpy(float), pool["lineage"].to_numpy(),
                               noise, rule["confidence"])[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default="results")
    ap.add_argument("--protocols", nargs="*")
    ap.add_argument("--draws", type=int, default=2000)
    args = ap.parse_args()
    root = Path(args.results)
    names = args.protocols or sorted(p.parent.parent.name for p in root.glob("*/pareto/selected.json"))
    for name in names:
        d = root / name / "pareto"
        selected = json.loads((d / "selected.json").read_text())
        rule, n = selected["rule"], selected["noise"]
        noise = seed_noise.Noise(n["relative_std"], n["shared"], n["own"], n["dof"], n["dof_own"],
                                 n["dof_shared"])
        if rule["rule"] != "within_noise":
            print(f"{name}: rule {rule['rule']}, nothing to check here")
            continue
        pool, seeds = pd.read_csv(d / "pareto.csv"), pd.read_csv(d / "seeds.csv")
        # what select scored: every run's int8 validation MAE
        seeds = seeds.assign(val_mae=seeds["val_mae_int8"]) if len(seeds) else seeds
        error = pool["val_mae_mean"].to_numpy(float)
        names_ = pool["name"].tolist()
        pick = choose(pool, error, noise, rule)
        print(f"\n{name}: selected {selected['name']} ({selected['kind']}); recomputed "
              f"{names_[pick]}; seed noise {noise.total:.2%} per run ({noise.own:.2%} own, "
              f"{noise.shared:.2%} shared by a lineage), {len(pool)} selectable candidates")
        assert names_[pick] == selected["name"], "the recorded choice does not follow from its inputs"

        lineages = pool["lineage"].to_numpy()
        held, shares = pareto.stability(lambda e: choose(pool, e, noise, rule), error,
                                        pool["runs"].to_numpy(float), lineages, noise,
                                        args.draws, seed=1)
        print(f"  simulated reruns elsewhere: the choice holds in {held:.1%} of {args.draws} "
              f"(the select rule's own draws: {selected['stability']['held']:.1%}); chosen: "
              + ", ".join(f"{names_[i]} {f:.0%}" for i, f in
                          sorted(shares.items(), key=lambda kv: -kv[1])))
        if not len(seeds) or seeds.groupby("name").size().max() < 3:
            print("  (fewer than 3 seeds per finalist: none can be left out)")
            continue
        # the configured seed's run picked the finalists: is it the luckier one of a model's?
        first = seeds["seed"].min()
        lucky = [g.loc[g["seed"] == first, "val_mae"].iloc[0] < g.loc[g["seed"] != first, "val_mae"].mean()
                 for _, g in seeds.groupby("name") if (g["seed"] == first).any()]
        print(f"  seed {first}, which chose the finalists, is below the mean of their other seeds "
              f"in {sum(lucky)} of {len(lucky)}")
        for dropped in sorted(seeds["seed"].unique()):
            kept = seeds[seeds["seed"] != dropped]
            by_name = kept.groupby("name")["val_mae"]
            sub_noise = seed_noise.estimate(kept)
            sub = pool.copy()
            means = by_name.mean()
            finalist = sub["name"].isin(means.index)
            sub.loc[finalist, "val_mae_mean"] = sub.loc[finalist, "name"].map(means)
            sub.loc[finalist, "runs"] = sub.loc[finalist, "runs"] - 1
            p = choose(sub, sub["val_mae_mean"].to_numpy(float), sub_noise, rule)
            print(f"  without seed {dropped}: noise {sub_noise.total:.2%}, choice {names_[p]}"
                  f"{'' if p == pick else '  <- differs'}")


if __name__ == "__main__":
    main()
