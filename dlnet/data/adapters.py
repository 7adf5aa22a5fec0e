"""The dataset adapters: every module of `dlnet.data` that declares an `ADAPTER`.

An adapter is one module: its loader and an `ADAPTER = Adapter(...)` that says which files a
config.yaml dataset entry names (Snakemake's inputs, and the paths code outside Snakemake roots at
the project folder) and whether the source is measured capacity (cleaned with config.yaml's
`cleaning` and divided by `soh_reference_ah`) or SOH already. Everything else (the data rule's
inputs, the cleaning that reaches a protocol, dlnet.standalone) asks this registry, so a new
adapter is its module plus its entry in config.schema.yaml's `dataset` definition.
"""

import importlib
import pkgutil
from dataclasses import dataclass
from functools import cache
from typing import Callable

import pandas as pd

import dlnet.data
from dlnet.errors import InputError, config_source


@dataclass(frozen=True)
class Loaded:
    table: pd.DataFrame          # cell_id, cycle and capacity_ah (measured) or soh
    path: str                    # the file errors about cells should name
    study_split: dict | None     # cell_id -> train | test | test2, where the source has one


@dataclass(frozen=True)
class Adapter:
    name: str                            # the `adapter:` value of a dataset entry
    files: Callable[[dict], list]        # every file the entry makes it read
    load: Callable[[dict], Loaded]
    path_keys: tuple                     # keys holding project-relative paths, at any depth
    measured: bool                       # capacity in Ah to clean, rather than SOH
    # The per-cycle columns beyond cell, cycle and capacity or SOH that every source of the
    # adapter has (the signals read them, dlnet/signals.py), or None where only the file can tell:
    # config validation checks the protocols' signals against it, the data rule against the file.
    columns: frozenset | None = None
    # the files of `files` that a download rule makes (rules/data.smk), which need not exist yet
    fetched: Callable[[dict], list] = lambda dataset: []


@cache
def registry():
    """{name: Adapter} of every module in dlnet.data's folders that declares one."""
    found = {}
    for module in pkgutil.iter_modules(dlnet.data.__path__):
        adapter = getattr(importlib.import_module(f"dlnet.data.{module.name}"), "ADAPTER", None)
        if adapter is not None:
            if adapter.name in found:
                raise ValueError(f"two dataset adapters are named '{adapter.name}'")
            found[adapter.name] = adapter
    return found


def get(dataset):
    """The adapter of a config.yaml dataset entry."""
    adapters = registry()
    name = dataset["adapter"]
    if name not in adapters:
        raise InputError(config_source(), f"unknown dataset adapter '{name}'",
                         f"use one of {tuple(sorted(adapters))}", column="adapter")
    return adapters[name]
