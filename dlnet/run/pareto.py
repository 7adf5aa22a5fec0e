"""Rules front1 (checkpoint) and pareto: fronts of error against cost, and the selection."""

import pandas as pd

from dlnet import candidates
from dlnet.io import save_figure, write_csv, write_json
from dlnet.logs import Log
from dlnet.pareto import front_ranks, select


def run_front1(input, output, params, log, threads=1):
    """Students on the first `front1_ranks` fronts of the validation objectives go on to pruning."""
    log = Log(log)
    frame = candidates.table(input.metrics, input.models)
    frame["front"] = front_ranks(frame[params.objectives].to_numpy(float))
    frame["prune"] = frame["front"] <= params.front1_ranks
    for _, r in frame.sort_values(["front", "val_mae"]).iterrows():
        log(f"{r['name']:>14s} front {r['front']} val MAE {r['val_mae']:.5f} "
            f"int8 {int(r['int8_bytes'])} B macs {int(r['macs'])}{'  -> prune' if r['prune'] else ''}")
    write_csv(output.front, frame)


def run(input, output, params, log, threads=1):
    log = Log(log)
    paths = [input.teacher_model, *input.student_models, *input.recovered_models]
    metrics = [input.teacher_metrics, *input.student_metrics, *input.recovered_metrics]
    frame = candidates.table(metrics, paths, input.baselines)
    models = frame["stage"] != "baseline"
    frame.loc[models, "front"] = front_ranks(frame.loc[models, params.objectives].to_numpy(float))
    front = frame[models & (frame["front"] == 1)]
    pick, reason = select(front, "val_mae", params.select["cost"], params.select["rule"],
                          params.select["tolerance"])
    frame["selected"] = frame.index == pick
    chosen = frame.loc[pick]
    log(f"{int(models.sum())} models, {len(front)} on front 1; selected {chosen['name']}: {reason}")
    selected = {"name": chosen["name"], "stage": chosen["stage"], "model": chosen["model"],
                "reason": reason, "rule": params.select,
                "objectives": params.objectives,
                **{k: _plain(chosen[k]) for k in frame.columns
                   if k not in ("name", "stage", "model", "selected")}}
    write_csv(output.candidates, frame.drop(columns="selected"))
    write_csv(output.pareto, front.assign(selected=front.index == pick))
    fig = _figure(frame, params)
    save_figure(output.plot, fig, dpi=120)
    write_json(output.selected, selected)


def _figure(frame, params):
    from dlnet.plots import pareto_figure

    return pareto_figure(frame, params.select["cost"], params.protocol)


def _plain(v):
    if pd.isna(v):
        return None
    return v.item() if hasattr(v, "item") else v
