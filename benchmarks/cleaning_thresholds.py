"""The capacity-cleaning thresholds against the study's training cells alone.

    python benchmarks/cleaning_thresholds.py

config.yaml's `cleaning` drops capacity readings that are zero, above `max_soh` (1.09) times
the rated capacity `soh_reference_ah` (1.1 Ah: 1.199 Ah) or further than `max_jump_soh` (0.045:
0.0495 Ah) of it from the median of the `median_window` (10) readings before them
(dlnet/data/cleaning.py). This shows, on the `Train` cells of data/severson2019 only, where
those thresholds sit: the largest reading kept against the smallest one called impossible, and
how the distance to the trailing median of every reading is distributed, so that a threshold
falls in the gap between the bulk of real readings and the glitches. No test cell is read.
"""

from pathlib import Path

import numpy as np

from dlnet.config import load as load_config
from dlnet.data.cleaning import clean_capacity, trailing_median
from dlnet.data.severson import load_study_split, load_summary

ROOT = Path(__file__).resolve().parents[1]


def main():
    config = load_config(ROOT / "config.yaml")
    c = config["cleaning"]
    data = config["datasets"]["severson2019"]
    split = load_study_split(ROOT / data["cells"])
    table = load_summary(ROOT / data["summary"])
    table = table[table["cell_id"].map(split) == "train"].reset_index(drop=True)
    rated = float(data["soh_reference_ah"])
    max_ah, jump_ah = c["max_soh"] * rated, c["max_jump_soh"] * rated
    kept, dropped = clean_capacity(table, rated, c["max_soh"], c["median_window"],
                                   c["max_jump_soh"])
    print(f"{table['cell_id'].nunique()} training cells, {len(table)} readings; thresholds "
          f"max_soh {c['max_soh']} ({max_ah:.4f} Ah), max_jump_soh {c['max_jump_soh']} "
          f"({jump_ah:.4f} Ah), median_window {c['median_window']}")
    for reason, n in dropped["reason"].value_counts().items():
        print(f"  dropped as {reason}: {n}")
    cap = table["capacity_ah"].to_numpy()
    above = cap[cap > max_ah]
    print(f"largest reading kept {kept['capacity_ah'].max():.4f} Ah; readings above the limit: "
          f"{len(above)}" + (f", the smallest {above.min():.4f} Ah" if len(above) else ""))
    distances = []
    for _, rows in table.groupby("cell_id", sort=False):
        values = rows["capacity_ah"].to_numpy(float).copy()
        values[(values <= 0) | (values > max_ah)] = np.nan
        distances.append(np.abs(values - trailing_median(values, c["median_window"])))
    d = np.concatenate(distances)
    d = d[np.isfinite(d)]
    print(f"|reading - trailing median| over {len(d)} readings (Ah):")
    for q in (50, 99, 99.9, 99.99):
        print(f"  {q:>6g}th percentile {np.percentile(d, q):.4f}")
    over = np.sort(d[d > jump_ah])
    print(f"  above the jump limit: {len(over)} readings"
          + (f", from {over[0]:.4f} Ah" if len(over) else "")
          + f"; the largest below it: {d[d <= jump_ah].max():.4f} Ah")


if __name__ == "__main__":
    main()
