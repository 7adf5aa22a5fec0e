"""Rule learned_baselines: ridge regression and PCA + kNN, hyperparameters chosen on validation;
ridge's coefficients are kept, since it can be deployed."""

import json

from dlnet import protocols
from dlnet.io import save_npz, versions, write_json
from dlnet.learned import setting_name
from dlnet.logs import Log


def run(input, output, params, log, threads=1):
    from dlnet import learned  # scikit-learn, imported here to keep the workflow's start light

    log = Log(log)
    splits, scaler = protocols.load_with_scaler(input.dataset, input.info)
    result = learned.evaluate(splits, scaler, params.learned, log)
    for name, (_, r) in result.items():
        scores = ", ".join(f"{s} {r[s]['mae']:.5f}" for s in ("val", "test", "test2", "segments")
                           if s in r)
        log(f"{name}: {setting_name(r['setting'])} (chosen on val): MAE {scores}; "
            f"{r['int8_bytes']} int8 bytes, {r['macs']} MACs")
    ridge = result["ridge"][0]
    save_npz(output.ridge, weight=ridge.weight, bias=ridge.bias, alpha=ridge.alpha,
             scaler=json.dumps(scaler.to_dict()))
    write_json(output.metrics, {**{name: r for name, (_, r) in result.items()},
                                "versions": versions()})
