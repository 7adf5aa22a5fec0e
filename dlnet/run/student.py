"""Rule student: stage-1 distillation of one student from the teacher."""

import time

import pandas as pd

from dlnet import model as net, protocols
from dlnet.evaluate import model_metrics
from dlnet.io import save_torch, write_csv, write_json
from dlnet.logs import Log
from dlnet.run.train_common import scaled, teacher_targets, train_config
from dlnet.training import fit, set_determinism


def run(input, output, params, log, threads=1):
    log = Log(log)
    set_determinism(params.seed, threads)
    splits, scaler = protocols.load_with_scaler(input.dataset, input.info)
    teacher, _, _ = net.load(input.teacher)
    arch = params.arch
    train = splits["train"]
    cfg = net.student_from_config(arch, params.shape, train.x.shape[1], train.y.shape[1],
                                  train.s.shape[1])
    model = net.LiquidNet(cfg)
    log(f"student {params.name}: {net.n_params(model)} parameters, width {cfg.width}, "
        f"hidden {cfg.enc_hidden}/{cfg.dec_hidden}/{cfg.dec_mid}, rank {cfg.rank}")
    xy = scaled(train, scaler)
    start = time.perf_counter()
    history, best = fit(model, train_config(params.training, params.seed, distill=params.distill), xy,
                        scaled(splits["val"], scaler), scaler.span,
                        teacher_train=teacher_targets(teacher, xy[0]), log=log)
    seconds = time.perf_counter() - start
    result = model_metrics(model, scaler, splits, name=params.name, stage="student",
                           family=arch["family"], width=arch["width"], ratio=0.0,
                           seed=params.seed, best_epoch=best, train_seconds=seconds)
    log(f"trained in {seconds:.1f}s; val MAE {result['val']['mae']:.5f}")
    save_torch(output.model, net.checkpoint(model, scaler, best_epoch=best, seed=params.seed))
    write_csv(output.history, pd.DataFrame(history))
    write_json(output.metrics, result)
