"""Rule teacher: train the paper's teacher LNN, keep the best epoch by validation loss."""

import time

import pandas as pd

from dlnet import metrics, model as net, protocols
from dlnet.evaluate import model_metrics
from dlnet.io import save_torch, write_csv, write_json
from dlnet.logs import Log
from dlnet.run.train_common import scaled, train_config
from dlnet.training import fit, mc_dropout_predict, set_determinism


def run(input, output, params, log, threads=1):
    log = Log(log)
    set_determinism(params.seed, threads)
    splits, scaler = protocols.load_with_scaler(input.dataset, input.info)
    t = params.teacher
    train = splits["train"]
    cfg = net.teacher_from_config(t, train.x.shape[1], train.y.shape[1], train.s.shape[1])
    model = net.LiquidNet(cfg)
    log(f"teacher: {net.n_params(model)} parameters, {t['steps']} Euler steps")
    start = time.perf_counter()
    history, best = fit(model, train_config(params.training, params.seed),
                        scaled(train, scaler), scaled(splits["val"], scaler), scaler.span, log=log)
    seconds = time.perf_counter() - start
    result = model_metrics(model, scaler, splits, name="teacher", stage="teacher",
                           seed=params.seed, best_epoch=best, train_seconds=seconds)
    if t["mc_dropout_passes"]:
        result["mc_dropout"] = {"passes": t["mc_dropout_passes"]}
        for s, w in splits.items():
            if s == "train" or not len(w):
                continue
            mean, std = mc_dropout_predict(model, scaler, w.inputs, t["mc_dropout_passes"], params.seed)
            result["mc_dropout"][s] = {**metrics.errors(w.y, mean), "mean_std": float(std.mean())}
    log(f"trained in {seconds:.1f}s; " + ", ".join(
        f"{s} MAE {result[s]['mae']:.5f}" for s in splits if s in result))
    save_torch(output.model, net.checkpoint(model, scaler, best_epoch=best, seed=params.seed))
    write_csv(output.history, pd.DataFrame(history))
    write_json(output.metrics, result)
