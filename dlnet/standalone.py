"""The workflow's data stages from a parsed config.yaml, for code that runs outside Snakemake
(benchmarks, tests, notebooks)."""

from pathlib import Path

from dlnet import protocols
from dlnet.data import adapters
from dlnet.data.sources import load_source

PROTOCOL_PATH_KEYS = ("segments",)


def _rooted(entry, root, keys):
    """`entry` with the strings under `keys` (at any depth) made relative to `root`."""
    if not isinstance(entry, dict):
        return entry
    return {k: str(Path(root) / v) if k in keys and isinstance(v, str) else _rooted(v, root, keys)
            for k, v in entry.items()}


def build_protocol(config, name, root="."):
    """(splits, scaler, series) of protocol `name`; config.yaml's paths are relative to `root`."""
    pcfg = _rooted(config["protocols"][name], root, PROTOCOL_PATH_KEYS)
    dataset = config["datasets"][pcfg["dataset"]]
    dataset = _rooted(dataset, root, adapters.get(dataset).path_keys)
    source = load_source(dataset, config["cleaning"])
    return protocols.build(name, pcfg, source, config["baselines"]["fit_lengths"])
