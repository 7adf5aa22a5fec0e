"""Figures of the report: Pareto fronts, predictions against truth, training curves."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

# The paper's deployed model (arXiv 2601.06227): 16-segment MAE and int8 TFLite file size.
PAPER_POINT = {"mae": 0.0066, "bytes": 96392, "label": "paper deployed (segments MAE, 94 kB)"}
STAGE_STYLE = {"teacher": ("s", "tab:red"), "student": ("o", "tab:blue"),
               "recovered": ("^", "tab:green")}


def pareto_figure(frame, cost="int8_bytes", protocol=""):
    """Left: validation MAE vs cost (what selection sees). Right: the test view of the same models."""
    models = frame[frame["stage"] != "baseline"]
    baselines = frame[frame["stage"] == "baseline"]
    test_col = "segments_mae" if "segments_mae" in frame.columns else "test_mae"
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), sharex=True)
    for ax, col in zip(axes, ("val_mae", test_col)):
        for stage, (marker, color) in STAGE_STYLE.items():
            sub = models[models["stage"] == stage]
            ax.scatter(sub[cost], sub[col], marker=marker, c=color, s=28, alpha=0.7, label=stage)
        front = models[models["front"] == 1].sort_values(cost)
        ax.plot(front[cost], front[col], "k--", lw=1, label="front 1 (val)")
        ax.scatter(front[cost], front[col], facecolors="none", edgecolors="k", s=80)
        chosen = models[models.get("selected", False) == True]  # noqa: E712
        ax.scatter(chosen[cost], chosen[col], marker="*", c="gold", edgecolors="k", s=260,
                   zorder=5, label="selected")
        for (_, b), ls in zip(baselines.iterrows(), (":", "-.", "--")):
            if np.isfinite(b[col]):
                ax.axhline(b[col], color="gray", ls=ls, lw=1, label=f"baseline {b['name']}")
        if col != "val_mae" and protocol == "paper" and cost == "int8_bytes":
            ax.scatter([PAPER_POINT["bytes"]], [PAPER_POINT["mae"]], marker="X", c="purple",
                       s=120, label=PAPER_POINT["label"])
        ax.set_xscale("log")
        ax.set_xlabel(cost.replace("_", " "))
        ax.set_ylabel(col.replace("_", " ") + " (SOH)")
        ax.grid(alpha=0.3)
    axes[0].set_title(f"{protocol}: validation (selection)")
    axes[1].set_title(f"{protocol}: {test_col.removesuffix('_mae')} (reported once)")
    axes[1].legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig
