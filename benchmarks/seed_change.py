"""What the benchmarks that compare two training setups over seeds share: the protocol's
windows, scaled as the workflow scales them, and the printed comparison."""

import numpy as np

from dlnet.names import student_architectures
from dlnet.run.train_common import scaled
from dlnet.standalone import build_protocol
from dlnet.training import predict


def windows(config, protocol, root):
    """(splits, scaler, scaled train, scaled val, student architectures, model dimensions)."""
    splits, scaler, _ = build_protocol(config, protocol, root)
    train, val = scaled(splits["train"], scaler), scaled(splits["val"], scaler)
    archs = student_architectures(config["students"]["families"])
    dims = (splits["train"].x.shape[1], splits["train"].y.shape[1], splits["train"].s.shape[1])
    return splits, scaler, train, val, archs, dims


def val_mae(model, scaler, split):
    """The model's MAE on the split's windows, in SOH units."""
    return float(np.mean(np.abs(predict(model, scaler, split.inputs) - split.y)))


def spread(errors):
    """'mean +- sd' of one model's validation MAE over its seeds."""
    sd = np.std(errors, ddof=1) if len(errors) > 1 else 0.0
    return f"{np.mean(errors):13.5f} +- {sd:.5f}"


def print_changes(maes, names, before, after, title):
    """The change of each model's mean validation MAE from `before` to `after` (keys of maes:
    (name, setup)), with its standard error: within about two, the seeds explain it. Where both
    setups ran the same seeds, also the paired one: the seeds' shared part cancels there."""
    print(f"change of the mean validation MAE, {title}:")
    for name in names:
        a, b = np.array(maes[(name, before)]), np.array(maes[(name, after)])
        change = b.mean() / a.mean() - 1
        se = (np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)) / a.mean()
              if len(a) > 1 else float("nan"))
        paired = ""
        if len(a) == len(b) > 1:
            paired = f", paired {100 * np.std(b - a, ddof=1) / np.sqrt(len(a)) / a.mean():.1f}%"
        print(f"  {name:>10s} {100 * change:+6.1f}% (standard error {100 * se:.1f}%{paired})")
