"""Rule latency_seeds: the Cortex-M4 latency of the finalists' runs with the other seeds, timed
as rule latency times the main tree (dlnet/run/latency.py). Pruning may leave a seed in another
shape than the configured one, so select deploys only a seed within the protocol's limit."""

from pathlib import Path

from dlnet import deployable
from dlnet.io import read_json, write_csv
from dlnet.logs import Log
from dlnet.run import planned
from dlnet.run.latency import time_models


def run(input, output, params, log, threads=1):
    log = Log(log)
    models = []
    finalists = Path(output.latency).with_name("candidates.csv")   # pareto's, beside this output
    for metrics_path, model_path in zip(
            planned(input.seed_metrics, "seed_metrics", "metrics.json", finalists),
            planned(input.seed_models, "seed_models", "model.pt", finalists)):
        m = read_json(metrics_path)
        models.append((m["name"], int(m["seed"]), "liquid", str(model_path),
                       deployable.Liquid(model_path)))
    log(f"timing {len(models)} runs of the finalists on the Cortex-M4")
    write_csv(output.latency, time_models(models, input.dataset, input.info, params, input.core,
                                          input.m4, log))
