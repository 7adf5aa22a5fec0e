"""Rule prune_recover: global structured pruning of one student at each ratio, then stage-2
distillation of each pruned model from the teacher, one ratio after another in one process.
Each ratio trains as it would alone (training.fit seeds itself)."""

import time

import pandas as pd

from dlnet import model as net, protocols
from dlnet.evaluate import model_metrics
from dlnet.io import read_json, save_torch, write_csv, write_json
from dlnet.logs import Log
from dlnet.pruning import prune
from dlnet.run.train_common import scaled, teacher_targets, train_config
from dlnet.training import fit, set_determinism


def run(input, output, params, log, threads=1):
    log = Log(log)
    set_determinism(params.seed, threads)
    splits, scaler = protocols.load_with_scaler(input.dataset, input.info)
    teacher, _, _ = net.load(input.teacher)
    student, _, _ = net.load(input.student)
    parent = read_json(input.student_metrics)
    xy, val = scaled(splits["train"], scaler), scaled(splits["val"], scaler)
    teacher_train = teacher_targets(teacher, xy[0])
    cfg = train_config(params.training, params.seed, params.epochs, distill=params.distill)
    for i, ratio in enumerate(params.ratios):
        name = f"{params.student}_p{ratio:g}"
        common = dict(family=parent["family"], width=parent["width"], ratio=ratio,
                      seed=params.seed)
        model = prune(student, ratio, params.keep_first_last)
        before = model_metrics(model, scaler, splits, name=name, stage="pruned", **common)
        c = model.cfg
        log(f"{name}: {net.n_params(student)} -> {net.n_params(model)} parameters, hidden "
            f"{c.enc_hidden}/{c.dec_hidden}/{c.dec_mid}; val MAE {parent['val']['mae']:.5f} "
            f"(student) -> {before['val']['mae']:.5f} (pruned)")
        save_torch(output.pruned[i], net.checkpoint(model, scaler, seed=params.seed))
        write_json(output.pruned_metrics[i], before)

        start = time.perf_counter()
        history, best = fit(model, cfg, xy, val, scaler.span, teacher_train=teacher_train, log=log)
        seconds = time.perf_counter() - start
        after = model_metrics(model, scaler, splits, name=name, stage="recovered", **common,
                              best_epoch=best, train_seconds=seconds)
        log(f"{name}: recovered in {seconds:.1f}s; val MAE {after['val']['mae']:.5f}")
        save_torch(output.models[i], net.checkpoint(model, scaler, best_epoch=best,
                                                    seed=params.seed))
        write_csv(output.histories[i], pd.DataFrame(history))
        write_json(output.metrics[i], after)
