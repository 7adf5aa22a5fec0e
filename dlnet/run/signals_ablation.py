"""Rule signals_ablation: one student architecture with one group of signals, once per seed."""

import time

from dlnet import ablation, protocols
from dlnet.io import read_csv_with_ids, versions, write_json
from dlnet.logs import Log
from dlnet.scaling import Scaler


def run(input, output, params, log, threads=1):
    log = Log(log)
    splits, scaler = protocols.load_with_scaler(input.dataset, input.info)
    # the protocol's SOH scaling; each group fits the scalings of its own signals
    soh_only = Scaler.from_dict({**scaler.to_dict(), "signals": []})
    series = read_csv_with_ids(input.series)
    start = time.perf_counter()
    runs = ablation.run_group(splits, soh_only, series, params.signals, params.tried,
                              params.arch, params.shape, params.training, params.seeds, log=log,
                              path=input.series)
    write_json(output.result, {"group": params.group, "signals": params.signals,
                               "model": params.model, "runs": runs,
                               "seconds": time.perf_counter() - start, "versions": versions()})
