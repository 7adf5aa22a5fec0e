"""Rules student and student_seeds: stage-1 distillation of one student from the teacher, once
per seed; several seeds train together, stacked (training.fit_seeds)."""

import pandas as pd
import torch

from dlnet import model as net, protocols
from dlnet.evaluate import model_metrics
from dlnet.io import save_torch, write_csv, write_json
from dlnet.logs import Log
from dlnet.run.train_common import scaled, seed_logs, teacher_targets, train_config
from dlnet.training import fit_seeds, set_determinism


def run(input, output, params, log, threads=1):
    log = Log(log)
    seeds = list(params.seeds)
    set_determinism(seeds[0], threads)
    splits, scaler = protocols.load_with_scaler(input.dataset, input.info)
    arch = params.arch
    train = splits["train"]
    cfg = net.student_from_config(arch, params.shape, train.x.shape[1], train.y.shape[1],
                                  train.s.shape[1])
    models = []
    for seed in seeds:
        # a seed's student starts where it would alone: its init draws follow the teacher's
        # (loading a checkpoint builds the model first)
        torch.manual_seed(seed)
        teacher, _, _ = net.load(input.teacher)
        models.append(net.LiquidNet(cfg))
    log(f"student {params.name}: {net.n_params(models[0])} parameters, width {cfg.width}, "
        f"hidden {cfg.enc_hidden}/{cfg.dec_hidden}/{cfg.dec_mid}, rank {cfg.rank}; "
        f"seed {', '.join(map(str, seeds))}")
    xy = scaled(train, scaler)
    logs = seed_logs(log, seeds)
    trained = fit_seeds(models, seeds, train_config(params.training, seeds[0],
                                                    distill=params.distill),
                        xy, scaled(splits["val"], scaler), scaler.span,
                        teacher_train=teacher_targets(teacher, xy[0]), logs=logs)
    for k, (model, seed, (history, best, seconds)) in enumerate(zip(models, seeds, trained)):
        result = model_metrics(model, scaler, splits, name=params.name, stage="student",
                               family=arch["family"], width=arch["width"], ratio=0.0,
                               seed=seed, best_epoch=best, train_seconds=seconds)
        logs[k](f"trained in {seconds:.1f}s; val MAE {result['val']['mae']:.5f}")
        save_torch(output.models[k], net.checkpoint(model, scaler, best_epoch=best, seed=seed))
        write_csv(output.histories[k], pd.DataFrame(history))
        write_json(output.metrics[k], result)
