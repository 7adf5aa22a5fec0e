"""The signals ablation: does a signal beside the SOH window lower the validation error?

One student architecture (config.yaml `ablation.model`) trains on the protocol's windows with
the SOH window alone, with each signal alone, and with all of them, once per seed, without
distillation (the teacher would need the same inputs), as the students train otherwise. The
signals come from the protocol's cleaned series (series.csv.gz), whatever the protocol deploys
with, so the table can argue for or against turning one on. Every group trains and is scored on
the same windows: those with a value of every signal the ablation tries (a cell that does not
record one is out of all groups). Validation decides; the test splits are shown and never used.
"""

import numpy as np

from dlnet import model as net
from dlnet import signals
from dlnet.errors import InputError
from dlnet.metrics import errors
from dlnet.scaling import Scaler
from dlnet.training import fit_seeds, predict, set_determinism
from dlnet.windows import WindowSet

SCORED = ("val", "test", "test2", "segments")


def with_signals(splits, scaler, series, names, tried, path="series.csv.gz"):
    """The splits with the signals `names` computed from the series (cell_id, index and the
    columns they read; read from `path`), only the windows with a value of every signal
    `tried`, and the protocol's scaler with their scalings fitted on the training windows."""
    lacking = sorted({signals.SIGNALS[n].column for n in tried} - set(series.columns))
    if lacking:
        raise InputError(path, f"has no column {lacking[0]!r}, which ablation.signals reads",
                         "remove the signals that read it from ablation.signals, or set "
                         "the protocol's ablation: false", column=lacking[0])
    n_in = splits["train"].x.shape[1]
    columns = signals.cell_columns(series.sort_values(["cell_id", "index"]), tried)
    out = {}
    for s, w in splits.items():
        values = signals.window_values(tried, columns, w.cell, w.start, n_in)
        keep = np.isfinite(values).all(axis=1)
        out[s] = WindowSet(w.x[keep], w.y[keep], w.cell[keep], w.start[keep],
                           values[keep][:, [tried.index(n) for n in names]])
    for s in ("train", "val"):
        if not len(out[s]):
            raise InputError(path, f"no {s} window has a value of every signal of "
                             f"ablation.signals ({', '.join(tried)})",
                             "try only signals that the training and validation cells record",
                             column="ablation.signals")
    fitted = Scaler.from_dict({**scaler.to_dict(),
                               "signals": signals.fit(names, out["train"].s)})
    return out, fitted


def run_group(splits, scaler, series, names, tried, arch, shape, training, seeds, log=print,
              path="series.csv.gz"):
    """Train the architecture once per seed with the signals `names` (on the windows that have
    every signal `tried`), the seeds together, stacked (training.fit_seeds); one row per seed."""
    from dlnet.run.train_common import scaled, train_config

    splits, scaler = with_signals(splits, scaler, series, names, tried, path)
    train, val = scaled(splits["train"], scaler), scaled(splits["val"], scaler)
    cfg = net.student_from_config(arch, shape, splits["train"].x.shape[1],
                                  splits["train"].y.shape[1], len(names))
    models = []
    for seed in seeds:
        set_determinism(seed, 1)
        models.append(net.LiquidNet(cfg))
    trained = fit_seeds(models, seeds, train_config(training, seeds[0]), train, val, scaler.span,
                        logs=[lambda _: None] * len(seeds))
    rows = []
    for model, seed, (_, best, _) in zip(models, seeds, trained):
        row = {"seed": seed, "best_epoch": best, "windows": {s: len(w) for s, w in splits.items()}}
        for s in SCORED:
            if s in splits and len(splits[s]):
                w = splits[s]
                row[f"{s}_mae"] = errors(w.y, predict(model, scaler, w.inputs))["mae"]
        log(f"signals {names or 'none'}, seed {seed}: val MAE {row['val_mae']:.6f} "
            f"(best epoch {best})")
        rows.append(row)
    return rows
