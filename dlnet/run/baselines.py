"""Rule baselines: persistence, linear and quadratic extrapolation, fit length chosen on val, in
float (the reference) and as the int8 core computes them (what a deployed baseline delivers)."""

from dlnet import baselines, protocols
from dlnet.io import versions, write_json
from dlnet.logs import Log


def run(input, output, params, log, threads=1):
    log = Log(log)
    splits = protocols.load(input.dataset)
    horizon = splits["train"].y.shape[1]
    result = {}
    for arithmetic, forecast in baselines.FORECASTS.items():
        result[arithmetic] = baselines.evaluate(splits, params.fit_lengths, horizon, forecast)
        for name, r in result[arithmetic].items():
            scores = ", ".join(f"{s} {r[s]['mae']:.5f}" for s in protocols.SPLITS if s in r)
            log(f"{name} ({arithmetic}): fit_len {r['fit_len']} (chosen on val): MAE {scores}")
    write_json(output.metrics, {**result, "versions": versions()})
