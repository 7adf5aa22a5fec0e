"""Figures of the report: Pareto fronts, predictions against truth, training curves."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from dlnet import paper  # noqa: E402

STAGE_STYLE = {"teacher": ("s", "tab:red"), "student": ("o", "tab:blue"),
               "recovered": ("^", "tab:green"), "baseline": ("D", "0.35"),
               "learned": ("P", "tab:orange")}


def pareto_figure(frame, pool, cost="int8_bytes", protocol=""):
    """Left: validation MAE vs cost (what selection sees; finalists at their mean over seeds,
    with the seeds' range). Right, where the protocol holds windows out: the held-out view of
    the same models. frame: candidates.csv with a `selected` column; pool: the selectable
    candidates (select's pareto.csv)."""
    # the held-out view: the paper's segments, else the first test split (a protocol may have none)
    held_out = [c for c in ("segments_mae", "test_mae", "test2_mae") if c in frame.columns][:1]
    columns = ["val_mae", *held_out]
    fig, axes = plt.subplots(1, len(columns), figsize=(6 * len(columns), 4.8), sharex=True,
                             squeeze=False)
    axes = axes[0]
    for ax, col in zip(axes, columns):
        for stage, (marker, color) in STAGE_STYLE.items():
            sub = frame[frame["stage"] == stage]
            ax.scatter(sub[cost], sub[col], marker=marker, c=color, s=28, alpha=0.7, label=stage)
        front = frame[frame["front"] == 1].sort_values(cost)
        ax.plot(front[cost], front[col], "k--", lw=1, label="front 1 (val, eligible)")
        if col == "val_mae":
            seeded = pool[pool["runs"] < np.inf]
            ax.errorbar(seeded[cost], seeded["val_mae_mean"], fmt="none", ecolor="k",
                        yerr=[seeded["val_mae_mean"] - seeded["val_mae_min"],
                              seeded["val_mae_max"] - seeded["val_mae_mean"]],
                        lw=1, capsize=3, label="finalists: seed mean and range")
        chosen = frame[frame["selected"]]
        ax.scatter(chosen[cost], chosen[col], marker="*", c="gold", edgecolors="k", s=260,
                   zorder=5, label="selected")
        if col != "val_mae" and "segments_mae" in frame.columns and cost == "int8_bytes":
            ax.scatter([paper.DEPLOYED["flatbuffer_bytes"]], [paper.DEPLOYED["segments_mae"]],
                       marker="X", c="purple", s=120, label="paper deployed [published]")
        ax.set_xscale("log")
        ax.set_yscale("log")   # persistence sits an order of magnitude above the models
        ax.set_xlabel(cost.replace("_", " "))
        ax.set_ylabel(col.replace("_", " ") + " (SOH)")
        ax.grid(alpha=0.3)
    axes[0].set_title(f"{protocol}: validation (selection)")
    if held_out:
        axes[1].set_title(f"{protocol}: {held_out[0].removesuffix('_mae')} (reported once)")
    axes[-1].legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def segments_figure(segments, forecasts, title):
    """One panel per window: inputs, truth and each forecast. forecasts: label -> (n, out) array."""
    n = len(segments)
    cols = 4
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.6 * rows), squeeze=False)
    n_in, n_out = segments.x.shape[1], segments.y.shape[1]
    t_in, t_out = np.arange(n_in), np.arange(n_in, n_in + n_out)
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.axis("off")
            continue
        start = segments.start[i]
        ax.plot(start + t_in, segments.x[i], c="0.5", lw=1, label="input")
        ax.plot(start + t_out, segments.y[i], c="k", lw=1.2, label="truth")
        for (label, pred), style in zip(forecasts.items(), FORECAST_STYLES):
            err = np.abs(pred[i] - segments.y[i]).mean()
            ax.plot(start + t_out, pred[i], lw=1.2, label=f"{label} ({err:.4f})", **style)
        ax.set_title(f"{segments.cell[i]} @ {start}", fontsize=9)
        ax.legend(fontsize=6)
        ax.tick_params(labelsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


FORECAST_STYLES = ({"c": "tab:blue"}, {"c": "tab:red", "ls": "--"}, {"c": "tab:green", "ls": ":"},
                   {"c": "tab:purple", "ls": "-."})


def cells_figure(series_by_cell, forecasts_by_cell, title):
    """Whole unseen cells (grey) with forecasts issued every few hundred cycles."""
    n = len(series_by_cell)
    cols = max(1, min(3, n))
    rows = max(1, int(np.ceil(n / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.2 * rows), squeeze=False)
    if not n:
        axes[0, 0].text(0.5, 0.5, "no test cell with a window to forecast", ha="center")
    for ax, (cell, soh) in zip(axes.flat, series_by_cell.items()):
        ax.plot(np.arange(len(soh)), soh, c="0.6", lw=1, label="measured SOH")
        for (label, windows), style in zip(forecasts_by_cell[cell].items(), FORECAST_STYLES):
            for j, (start, pred) in enumerate(windows):
                ax.plot(start + np.arange(len(pred)), pred, lw=1.4,
                        label=label if j == 0 else None, **style)
        ax.set_title(cell, fontsize=10)
        ax.set_xlabel("cycle index")
        ax.set_ylabel("SOH")
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def training_figure(histories):
    """Validation MAE per epoch; histories: label -> DataFrame of train_log.csv."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for label, h in histories.items():
        axes[0].plot(h["epoch"], h["train_loss"], label=label)
        axes[1].plot(h["epoch"], h["val_mae"], label=label)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("training loss (scaled)")
    axes[1].set_ylabel("validation MAE (SOH)")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
