"""Rule pareto (checkpoint): fronts of error against cost over every candidate, and the
finalists that are trained again with more seeds before the selection (rule select)."""

import numpy as np
import pandas as pd

from dlnet import candidates, pareto
from dlnet.errors import InputError, config_source
from dlnet.io import write_csv
from dlnet.logs import Log


def run(input, output, params, log, threads=1):
    """candidates.csv: every model, baseline and learned reference with its cost and errors;
    `eligible` (what the protocol may deploy), `front` (rank among the eligible ones) and
    `finalist` (the front's liquid networks retrained with every seed: dlnet.pareto.finalists)."""
    log = Log(log)
    pcfg = params.protocol
    frame = candidates.of_protocol(input, pcfg["input_len"], pcfg["output_len"])
    if getattr(input, "latency", None):
        frame = candidates.with_latency(frame, pd.read_csv(input.latency))
    frame["eligible"] = candidates.eligible(frame, pcfg["candidates"])
    ok = frame["eligible"].to_numpy(bool)
    if not ok.any():
        raise InputError(config_source(), f"no candidate of protocol {params.name} is eligible",
                         f"raise protocols.{params.name}.candidates.max_int8_bytes"
                         + (" or max_latency_ms" if "latency_ms" in frame else ""))
    frame["front"] = np.nan
    frame.loc[ok, "front"] = pareto.front_ranks(frame.loc[ok, params.objectives].to_numpy(float))
    frame["front"] = frame["front"].astype("Int64")
    networks = frame[ok & (frame["front"] == 1) & (frame["kind"] == "liquid")]
    chosen = pareto.finalists(networks["val_mae"], networks[params.cost], params.finalists,
                              params.finalist_band)
    frame["finalist"] = frame.index.isin(networks.index[chosen])
    log(f"{len(frame)} candidates, {int(ok.sum())} eligible "
        f"({pcfg['candidates']}), {int((frame['front'] == 1).sum())} on front 1")
    for _, r in frame[frame["finalist"]].iterrows():
        log(f"finalist {r['name']}: val MAE {r['val_mae']:.5f}, {int(r['int8_bytes'])} bytes")
    write_csv(output.candidates, frame)
