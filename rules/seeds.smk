# The finalists of the pareto checkpoint trained again with the other seeds (config seed + 1,
# ...), each with its whole lineage: a student from scratch, a recovered model from a student of
# its own seed pruned at its ratio. The same rules as the main tree, under seeds/s{seed}/.


use rule teacher as teacher_seed with:
    output:
        model="results/{protocol}/seeds/s{seed}/teacher/model.pt",
        metrics="results/{protocol}/seeds/s{seed}/teacher/metrics.json",
        history="results/{protocol}/seeds/s{seed}/teacher/train_log.csv",
    log:
        "results/{protocol}/seeds/s{seed}/teacher/train.log",
    benchmark:
        "results/{protocol}/seeds/s{seed}/teacher/benchmark.tsv"
    params:
        seed=lambda w: int(w.seed),


# A finalist's seeds train in one job, stacked (dlnet/stacked.py): a tiny student's step is
# mostly per-op overhead, which stacking pays once for all of them.
use rule student as student_seeds with:
    output:
        models=expand(
            "results/{{protocol}}/seeds/s{seed}/students/{{student}}/model.pt", seed=EXTRA_SEEDS
        ),
        metrics=expand(
            "results/{{protocol}}/seeds/s{seed}/students/{{student}}/metrics.json",
            seed=EXTRA_SEEDS,
        ),
        histories=expand(
            "results/{{protocol}}/seeds/s{seed}/students/{{student}}/train_log.csv",
            seed=EXTRA_SEEDS,
        ),
    log:
        "results/{protocol}/seeds/logs/student_{student}.log",
    benchmark:
        "results/{protocol}/seeds/logs/student_{student}_benchmark.tsv"
    params:
        seeds=EXTRA_SEEDS,


# A seed's tree prunes and recovers only the finalists' ratios: one job per ratio, its seeds'
# pruned models (stacked where pruning left them one shape).
use rule prune_recover as prune_recover_seeds with:
    input:
        dataset="results/{protocol}/data/dataset.npz",
        info="results/{protocol}/data/dataset.json",
        teacher="results/{protocol}/teacher/model.pt",
        students=expand(
            "results/{{protocol}}/seeds/s{seed}/students/{{student}}/model.pt", seed=EXTRA_SEEDS
        ),
        student_metrics=expand(
            "results/{{protocol}}/seeds/s{seed}/students/{{student}}/metrics.json",
            seed=EXTRA_SEEDS,
        ),
    output:
        pruned=expand(
            "results/{{protocol}}/seeds/s{seed}/pruned/{{student}}_p{{ratio}}/model.pt",
            seed=EXTRA_SEEDS,
        ),
        pruned_metrics=expand(
            "results/{{protocol}}/seeds/s{seed}/pruned/{{student}}_p{{ratio}}/metrics.json",
            seed=EXTRA_SEEDS,
        ),
        models=expand(
            "results/{{protocol}}/seeds/s{seed}/recovered/{{student}}_p{{ratio}}/model.pt",
            seed=EXTRA_SEEDS,
        ),
        metrics=expand(
            "results/{{protocol}}/seeds/s{seed}/recovered/{{student}}_p{{ratio}}/metrics.json",
            seed=EXTRA_SEEDS,
        ),
        histories=expand(
            "results/{{protocol}}/seeds/s{seed}/recovered/{{student}}_p{{ratio}}/train_log.csv",
            seed=EXTRA_SEEDS,
        ),
    log:
        "results/{protocol}/seeds/logs/prune_recover_{student}_p{ratio}.log",
    benchmark:
        "results/{protocol}/seeds/logs/prune_recover_{student}_p{ratio}_benchmark.tsv"
    params:
        ratios=lambda w: [float(w.ratio)],
        seeds=EXTRA_SEEDS,
