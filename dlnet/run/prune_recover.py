"""Rules prune_recover and prune_recover_seeds: global structured pruning of a student at each
ratio, then stage-2 distillation of each pruned model from the teacher, one ratio after another
in one process. Each ratio trains as it would alone (training.fit seeds itself); with several
seeds (a student of each), a ratio's pruned models of one shape recover together, stacked
(training.fit_seeds)."""

import pandas as pd

from dlnet import model as net, protocols
from dlnet.evaluate import model_metrics
from dlnet.io import read_json, save_torch, write_csv, write_json
from dlnet.logs import Log
from dlnet.pruning import prune
from dlnet.run.train_common import scaled, seed_logs, teacher_targets, train_config
from dlnet.training import fit_seeds, set_determinism


def run(input, output, params, log, threads=1):
    log = Log(log)
    seeds = list(params.seeds)
    set_determinism(seeds[0], threads)
    splits, scaler = protocols.load_with_scaler(input.dataset, input.info)
    teacher, _, _ = net.load(input.teacher)
    students = [net.load(path)[0] for path in input.students]
    parents = [read_json(path) for path in input.student_metrics]
    xy, val = scaled(splits["train"], scaler), scaled(splits["val"], scaler)
    teacher_train = teacher_targets(teacher, xy[0])
    cfg = train_config(params.training, seeds[0], params.epochs, distill=params.distill)
    logs = seed_logs(log, seeds)
    if len(output.models) != len(params.ratios) * len(seeds):
        raise ValueError(f"{len(output.models)} outputs for {len(params.ratios)} ratios x "
                         f"{len(seeds)} seeds: list them ratio by ratio, the seeds within one")
    for i, ratio in enumerate(params.ratios):
        name = f"{params.student}_p{ratio:g}"
        models, common = [], []
        for k, (student, parent, seed) in enumerate(zip(students, parents, seeds)):
            common.append(dict(family=parent["family"], width=parent["width"], ratio=ratio,
                               seed=seed))
            model = prune(student, ratio, params.keep_first_last)
            before = model_metrics(model, scaler, splits, name=name, stage="pruned", **common[k])
            c = model.cfg
            logs[k](f"{name}: {net.n_params(student)} -> {net.n_params(model)} parameters, "
                    f"hidden {c.enc_hidden}/{c.dec_hidden}/{c.dec_mid}; val MAE "
                    f"{parent['val']['mae']:.5f} (student) -> {before['val']['mae']:.5f} (pruned)")
            j = i * len(seeds) + k  # outputs: ratio by ratio, the seeds within a ratio
            save_torch(output.pruned[j], net.checkpoint(model, scaler, seed=seed))
            write_json(output.pruned_metrics[j], before)
            models.append(model)

        trained = fit_seeds(models, seeds, cfg, xy, val, scaler.span,
                            teacher_train=teacher_train, logs=logs)
        for k, (model, seed, (history, best, seconds)) in enumerate(zip(models, seeds, trained)):
            after = model_metrics(model, scaler, splits, name=name, stage="recovered",
                                  **common[k], best_epoch=best, train_seconds=seconds)
            logs[k](f"{name}: recovered in {seconds:.1f}s; val MAE {after['val']['mae']:.5f}")
            j = i * len(seeds) + k
            save_torch(output.models[j], net.checkpoint(model, scaler, best_epoch=best,
                                                        seed=seed))
            write_csv(output.histories[j], pd.DataFrame(history))
            write_json(output.metrics[j], after)
