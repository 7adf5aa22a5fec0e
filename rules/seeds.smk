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


use rule student as student_seed with:
    output:
        model="results/{protocol}/seeds/s{seed}/students/{student}/model.pt",
        metrics="results/{protocol}/seeds/s{seed}/students/{student}/metrics.json",
        history="results/{protocol}/seeds/s{seed}/students/{student}/train_log.csv",
    log:
        "results/{protocol}/seeds/s{seed}/students/{student}/train.log",
    benchmark:
        "results/{protocol}/seeds/s{seed}/students/{student}/benchmark.tsv"
    params:
        seed=lambda w: int(w.seed),


# A seed's tree prunes and recovers only the finalists' ratios, one job each.
use rule prune_recover as prune_recover_seed with:
    input:
        dataset="results/{protocol}/data/dataset.npz",
        info="results/{protocol}/data/dataset.json",
        teacher="results/{protocol}/teacher/model.pt",
        student="results/{protocol}/seeds/s{seed}/students/{student}/model.pt",
        student_metrics="results/{protocol}/seeds/s{seed}/students/{student}/metrics.json",
    output:
        pruned=["results/{protocol}/seeds/s{seed}/pruned/{student}_p{ratio}/model.pt"],
        pruned_metrics=["results/{protocol}/seeds/s{seed}/pruned/{student}_p{ratio}/metrics.json"],
        models=["results/{protocol}/seeds/s{seed}/recovered/{student}_p{ratio}/model.pt"],
        metrics=["results/{protocol}/seeds/s{seed}/recovered/{student}_p{ratio}/metrics.json"],
        histories=["results/{protocol}/seeds/s{seed}/recovered/{student}_p{ratio}/train_log.csv"],
    log:
        "results/{protocol}/seeds/s{seed}/recovered/{student}_p{ratio}/train.log",
    benchmark:
        "results/{protocol}/seeds/s{seed}/recovered/{student}_p{ratio}/benchmark.tsv"
    params:
        ratios=lambda w: [float(w.ratio)],
        seed=lambda w: int(w.seed),
