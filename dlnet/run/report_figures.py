"""Rule report_figures: the report's pictures (forecasts against the truth, training curves)."""

import numpy as np
import pandas as pd

from dlnet import deployable, plots, protocols, signals
from dlnet import model as net
from dlnet.baselines import polynomial_forecast
from dlnet.io import read_csv_with_ids, read_json, save_figure
from dlnet.logs import Log
from dlnet.run import planned
from dlnet.training import predict
from dlnet.windows import cut, window_starts


def run(input, output, params, log, threads=1):
    log = Log(log)
    splits = protocols.load(input.dataset)
    n_in, n_out = splits["train"].x.shape[1], splits["train"].y.shape[1]
    selected = read_json(input.selected)
    model = deployable.load(selected, n_in, n_out, input.selected)
    teacher, t_scaler, _ = net.load(input.teacher)
    k = read_json(input.baselines)["float"]["quadratic"]["fit_len"]

    def forecasts(x):
        return {f"{selected['name']} (selected)": model.predict(x),
                "teacher": predict(teacher, t_scaler, x),
                f"quadratic k={k}": polynomial_forecast(x, k, 2, n_out)}

    if "segments" in splits:
        seg = splits["segments"]
        fig = plots.segments_figure(seg, forecasts(seg.inputs),
                                    f"{params.protocol}: the paper's {len(seg)} segments (MAE in legend)")
    else:
        names = [g["name"] for g in t_scaler.signals]
        fig = _unseen_cells_figure(input.series, splits, forecasts, names, params)
    save_figure(output.predictions, fig, dpi=110)
    histories = {"teacher": pd.read_csv(input.teacher_history)}
    for path in planned(input.selected_histories, "training logs", "train_log.csv",
                        input.selected):
        histories["/".join(path.split("/")[2:-1])] = pd.read_csv(path)
    save_figure(output.training, plots.training_figure(histories), dpi=110)
    log("figures written")


def _unseen_cells_figure(series_csv, splits, forecasts, signal_names, params):
    """A fixed sample of test cells (spread by length), forecasts every `every` cycles, from
    the window and the protocol's signals."""
    series = read_csv_with_ids(series_csv)
    n_in = splits["train"].x.shape[1]
    n_out = splits["train"].y.shape[1]
    chosen = []
    for split in ("test", "test2"):
        if split not in splits:
            continue
        scored = set(splits[split].cell.tolist())  # a cell without a signal's value has no window
        rows = series[(series["split"] == split) & series["cell_id"].isin(scored)]
        cells = rows.groupby("cell_id").size().sort_values()
        if len(cells):
            idx = np.linspace(0, len(cells) - 1, min(params.cells_per_split, len(cells))).round()
            chosen += [cells.index[int(i)] for i in np.unique(idx)]
    by_cell, preds = {}, {}
    for cell in chosen:
        rows = series[series["cell_id"] == cell].sort_values("index")
        soh = rows["soh"].to_numpy()
        starts = window_starts(len(soh), n_in + n_out, params.every)
        s = signals.window_values(signal_names, signals.cell_columns(rows, signal_names),
                                  [cell] * len(starts), starts, n_in)
        # as in the protocol's splits: a window without a value of a signal is left out
        keep = np.isfinite(s).all(axis=1)
        if not keep.any():
            continue
        starts, s = starts[keep], s[keep]
        x, _ = cut(soh, starts, n_in, n_out)
        x = np.concatenate([s, x], axis=1)
        by_cell[cell] = soh
        preds[cell] = {label: list(zip(starts + n_in, p)) for label, p in forecasts(x).items()}
    return plots.cells_figure(by_cell, preds, f"{params.protocol}: unseen test cells")
