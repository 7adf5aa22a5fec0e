"""Rule recover: stage-2 distillation of a pruned student from the teacher."""

import time

import pandas as pd

from dlnet import model as net
from dlnet.evaluate import model_metrics
from dlnet.io import read_json, save_torch, write_csv, write_json
from dlnet.logs import Log
from dlnet.run.train_common import load_data, scaled, teacher_targets, train_config
from dlnet.training import fit, set_determinism


def run(input, output, params, log, threads=1):
    log = Log(log)
    set_determinism(params.seed, threads)
    splits, scaler = load_data(input.dataset, input.info)
    teacher, _, _ = net.load(input.teacher)
    model, _, _ = net.load(input.model)
    pruned = read_json(input.metrics)
    xy = scaled(splits["train"], scaler)
    start = time.perf_counter()
    history, best = fit(model, train_config(params.training, params.seed, params.epochs,
                                            distill=params.distill),
                        xy, scaled(splits["val"], scaler), scaler.span,
                        teacher_train=teacher_targets(teacher, xy[0]), log=log)
    seconds = time.perf_counter() - start
    result = model_metrics(model, scaler, splits, name=pruned["name"], stage="recovered",
                           family=pruned["family"], width=pruned["width"], ratio=pruned["ratio"],
                           seed=params.seed, best_epoch=best, train_seconds=seconds)
    log(f"recovered in {seconds:.1f}s; val MAE {pruned['val']['mae']:.5f} -> {result['val']['mae']:.5f}")
    save_torch(output.model, net.checkpoint(model, scaler, best_epoch=best, seed=params.seed))
    write_csv(output.history, pd.DataFrame(history))
    write_json(output.metrics, result)
