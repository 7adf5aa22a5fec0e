"""The signals ablation: does a signal beside the SOH window lower the validation error?

One student architecture (config.yaml `ablation.model`) trains on the protocol's windows with
the SOH window alone, with each signal alone, and with all of them, once per seed, without
distillation (the teacher would need the same inputs), as the students train otherwise. The
signals come from the protocol's cleaned series (series.csv.gz), whatever the protocol deploys
with, so the table can argue for or against turning one on. Validation decides; the test splits
are shown and never used.
"""

from dlnet import model as net
from dlnet import signals
from dlnet.metrics import errors
from dlnet.scaling import Scaler
from dlnet.training import fit, predict, set_determinism

SCORED = ("val", "test", "test2", "segments")


def with_signals(splits, scaler, series, names):
    """The splits with the named signals computed from the series (cell_id, index, cycle), and
    the protocol's scaler with their scalings fitted on the training windows."""
    n_in = splits["train"].x.shape[1]
    cycles = {c: g.sort_values("index")["cycle"].to_numpy() for c, g in series.groupby("cell_id")}
    out = {s: w.with_signals(signals.window_values(names, cycles, w.cell, w.start, n_in))
           for s, w in splits.items()}
    fitted = Scaler.from_dict({**scaler.to_dict(),
                               "signals": signals.fit(names, out["train"].s)})
    return out, fitted


def run_group(splits, scaler, series, names, arch, shape, training, seeds, log=print):
    """Train the architecture once per seed with these signals; one row per seed."""
    from dlnet.run.train_common import scaled, train_config

    splits, scaler = with_signals(splits, scaler, series, names)
    train, val = scaled(splits["train"], scaler), scaled(splits["val"], scaler)
    rows = []
    for seed in seeds:
        set_determinism(seed, 1)
        cfg = net.student_from_config(arch, shape, splits["train"].x.shape[1],
                                      splits["train"].y.shape[1], len(names))
        model = net.LiquidNet(cfg)
        _, best = fit(model, train_config(training, seed), train, val, scaler.span,
                      log=lambda _: None)
        row = {"seed": seed, "best_epoch": best}
        for s in SCORED:
            if s in splits and len(splits[s]):
                w = splits[s]
                row[f"{s}_mae"] = errors(w.y, predict(model, scaler, w.inputs))["mae"]
        log(f"signals {names or 'none'}, seed {seed}: val MAE {row['val_mae']:.6f} "
            f"(best epoch {best})")
        rows.append(row)
    return rows
