"""Rule baselines: persistence, linear and quadratic extrapolation, fit length chosen on val."""

from dlnet import baselines, protocols
from dlnet.io import versions, write_json
from dlnet.logs import Log


def run(input, output, params, log, threads=1):
    log = Log(log)
    splits = protocols.load(input.dataset)
    horizon = splits["train"].y.shape[1]
    result = baselines.evaluate(splits, params.fit_lengths, horizon)
    for name, r in result.items():
        scores = ", ".join(f"{s} {r[s]['mae']:.5f}" for s in protocols.SPLITS if s in r)
        log(f"{name}: fit_len {r['fit_len']} (chosen on val): MAE {scores}")
    write_json(output.metrics, {**result, "versions": versions()})
