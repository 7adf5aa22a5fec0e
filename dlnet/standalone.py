"""The workflow's data stages from a parsed config.yaml, for code that runs outside Snakemake
(benchmarks, tests, notebooks)."""

from pathlib import Path

from dlnet import protocols
from dlnet.data.sources import load_source

PATH_KEYS = ("summary", "cells", "series", "file", "segments")


def _rooted(entry, root):
    out = {k: str(Path(root) / v) if k in PATH_KEYS and isinstance(v, str) else v
           for k, v in entry.items()}
    if "batches" in entry:
        out["batches"] = {b: _rooted(e, root) for b, e in entry["batches"].items()}
    return out


def build_protocol(config, name, root="."):
    """(splits, scaler, series) of protocol `name`; config.yaml's paths are relative to `root`."""
    pcfg = _rooted(config["protocols"][name], root)
    source = load_source(_rooted(config["datasets"][pcfg["dataset"]], root), config["cleaning"])
    return protocols.build(name, pcfg, source, config["baselines"]["fit_lengths"])
