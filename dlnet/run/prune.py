"""Rule prune: global structured pruning of one student at every ratio (before recovery)."""

from dlnet import model as net
from dlnet.evaluate import model_metrics
from dlnet.io import read_json, save_torch, write_json
from dlnet.logs import Log
from dlnet.pruning import prune
from dlnet.run.train_common import load_data
from dlnet.training import set_determinism


def run(input, output, params, log, threads=1):
    log = Log(log)
    set_determinism(params.seed, threads)
    splits, scaler = load_data(input.dataset, input.info)
    student, _, _ = net.load(input.model)
    parent = read_json(input.metrics)
    for ratio, model_path, metrics_path in zip(params.ratios, output.models, output.metrics):
        pruned = prune(student, ratio, params.keep_first_last)
        c = pruned.cfg
        result = model_metrics(pruned, scaler, splits, name=f"{params.student}_p{ratio:g}",
                               stage="pruned", family=parent["family"], width=parent["width"],
                               ratio=ratio, seed=params.seed)
        log(f"{params.student} pruned at {ratio:g}: {net.n_params(student)} -> "
            f"{net.n_params(pruned)} parameters, hidden {c.enc_hidden}/{c.dec_hidden}/"
            f"{c.dec_mid}; val MAE before recovery {result['val']['mae']:.5f} "
            f"(student {parent['val']['mae']:.5f})")
        save_torch(model_path, net.checkpoint(pruned, scaler, seed=params.seed))
        write_json(metrics_path, result)
