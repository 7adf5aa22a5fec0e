"""Rule against_baseline: the deployed int8 model against the quadratic baseline on validation
and every held-out split, with intervals over the split's cells (dlnet/intervals.py)."""

from dlnet import baselines, intervals, protocols
from dlnet.io import read_json, versions, write_json
from dlnet.logs import Log
from dlnet.quant import header, reference

# the quadratic baseline in float: the reference every table quotes and the goals are set against
BASELINE = "quadratic"


def run(input, output, params, log, threads=1):
    log = Log(log)
    splits = protocols.load(input.dataset)
    qm = header.read(input.header)
    quadratic = read_json(input.baselines)["float"][BASELINE]
    horizon = splits["train"].y.shape[1]
    draws, confidence = params.intervals["draws"], params.intervals["confidence"]
    result = {}
    for name in protocols.SPLITS[1:]:
        w = splits.get(name)
        if w is None or not len(w):
            continue
        base = baselines.polynomial_forecast(w.x, quadratic["fit_len"], quadratic["degree"],
                                             horizon)
        r = intervals.against(w.y, reference.predict(qm, w.inputs), base, w.cell, draws,
                              confidence, params.seed)
        result[name] = r
        log(f"{name}: int8 MAE {r['mae']:.5f} {_bounds(r['mae_interval'])}, quadratic "
            f"(k={quadratic['fit_len']}) {r['baseline_mae']:.5f} "
            f"{_bounds(r['baseline_mae_interval'])}, ratio {r['ratio']:.3f} "
            f"{_bounds(r['ratio_interval'], 3)}; below the baseline in "
            f"{100 * r['beats_share']:.1f}% of {draws} draws of its {r['cells']} cells")
    write_json(output.json, {
        "model": input.header, "baseline": {"name": BASELINE, **{k: quadratic[k] for k in
                                                                  ("fit_len", "degree")}},
        "draws": draws, "confidence": confidence, "seed": params.seed, "splits": result,
        "versions": versions()})


def _bounds(interval, digits=5):
    return f"[{interval[0]:.{digits}f}, {interval[1]:.{digits}f}]"
