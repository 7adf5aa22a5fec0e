"""Rule learned_baselines: ridge regression and PCA + kNN, hyperparameters chosen on validation;
the coefficients of ridge's best setting in int8 are kept, since it can be deployed."""

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
    for name, fitted in result.items():
        r = fitted.record
        for kind, rec in (("float", r), ("int8", r.get("int8"))):
            if rec is not None:
                scores = ", ".join(f"{s} {rec[s]['mae']:.5f}"
                                   for s in ("val", "test", "test2", "segments") if s in rec)
                log(f"{name} in {kind}: {setting_name(rec['setting'])} (chosen on val): "
                    f"MAE {scores}")
        log(f"{name}: {r['int8_bytes']} int8 bytes, {r['macs']} MACs")
    ridge = result["ridge"].int8_model
    save_npz(output.ridge, weight=ridge.weight, bias=ridge.bias, alpha=ridge.alpha,
             scaler=json.dumps(scaler.to_dict()))
    write_json(output.metrics, {**{name: fitted.record for name, fitted in result.items()},
                                "versions": versions()})
