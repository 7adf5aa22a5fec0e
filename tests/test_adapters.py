"""Dataset adapters come from one registry (dlnet.data.adapters): a new adapter is one module under
dlnet/data plus its entry in config.schema.yaml, and the workflow's data stage, its inputs and the
paths code outside Snakemake roots all follow from it."""

import copy
import textwrap

import numpy as np
import pandas as pd
import pytest
import yaml

import dlnet.data
from conftest import ROOT
from dlnet import config as config_module
from dlnet.data import adapters
from dlnet.data.sources import input_files
from dlnet.errors import InputError
from dlnet.standalone import build_protocol

SCHEMA = yaml.safe_load((ROOT / "config.schema.yaml").read_text())

# A source this project has never seen: tab-separated, capacity in mAh, its own column names.
MODULE = '''
import pandas as pd

from dlnet.data.adapters import Adapter, Loaded


def load(dataset):
    frame = pd.read_csv(dataset["file"], sep="\\t")
    table = pd.DataFrame({"cell_id": frame["battery"].astype(str), "cycle": frame["n"],
                          "capacity_ah": frame["mah"] / 1000.0})
    return Loaded(table, dataset["file"], None)


ADAPTER = Adapter("tsv_mah", files=lambda d: [d["file"]], load=load, path_keys=("file",),
                  measured=True)
'''


def schema_adapters(schema):
    return set(schema["definitions"]["dataset"]["properties"]["adapter"]["enum"])


def test_the_registry_and_the_schema_name_the_same_adapters():
    assert set(adapters.registry()) == schema_adapters(SCHEMA)
    assert {a.name for a in adapters.registry().values() if not a.measured} == {"dlnet_soh"}


def test_an_unknown_adapter_names_the_field_and_the_choices():
    with pytest.raises(InputError) as e:
        input_files({"adapter": "parquet"})
    assert "adapter" in str(e.value) and "severson2019" in str(e.value)


def test_the_schema_fills_in_the_csv_adapters_column_names():
    dataset = {"adapter": "csv", "file": "x.csv", "soh_reference_ah": 1.1}
    config = {**config_module.load(), "datasets": {"mine": dataset}}
    config_module.validated(config)
    assert (dataset["cell_column"], dataset["cycle_column"], dataset["capacity_column"]) == \
        ("cell_id", "cycle", "capacity_ah")


@pytest.fixture
def new_adapter_module(tmp_path, monkeypatch):
    """tsv_mah.py in a folder of the dlnet.data package, as if dropped into dlnet/data/."""
    folder = tmp_path / "package_folder"
    folder.mkdir()
    (folder / "tsv_mah.py").write_text(textwrap.dedent(MODULE))
    monkeypatch.setattr(dlnet.data, "__path__", [*dlnet.data.__path__, str(folder)])
    adapters.registry.cache_clear()
    yield
    adapters.registry.cache_clear()


def test_a_new_adapter_is_one_module_and_its_schema_entry(tmp_path, new_adapter_module):
    rng = np.random.default_rng(0)
    rows = [{"battery": f"x{c}", "n": k, "mah": 1100 * (1 - 0.0004 * (c + 1) * k) + rng.normal(0, 1)}
            for c in range(6) for k in range(1, 301)]
    data = tmp_path / "project/data"
    data.mkdir(parents=True)
    pd.DataFrame(rows).to_csv(data / "cycles.tsv", sep="\t", index=False)

    config = config_module.load()
    for p in config["protocols"].values():
        p["enabled"] = False
    config["datasets"] = {"lab": {"adapter": "tsv_mah", "file": "data/cycles.tsv",
                                  "soh_reference_ah": 1.1}}
    config["protocols"]["lab"] = {
        "enabled": True, "kind": "cells", "dataset": "lab", "input_len": 50, "output_len": 50,
        "train_step": 10, "eval_step": 20, "scaling": "anchored", "candidates": {"baselines": True},
        "split": {"source": "config", "test_cells": ["x5"], "val_fraction": 0.25, "seed": 1}}
    with pytest.raises(Exception, match="'tsv_mah' is not one of"):   # not in the schema yet
        config_module.validated(copy.deepcopy(config))

    schema = copy.deepcopy(SCHEMA)                       # its schema entry
    dataset = schema["definitions"]["dataset"]
    dataset["properties"]["adapter"]["enum"].append("tsv_mah")
    dataset["allOf"].append({"if": {"properties": {"adapter": {"const": "tsv_mah"}}},
                             "then": {"required": ["file", "soh_reference_ah"]}})
    schema_path = tmp_path / "config.schema.yaml"
    schema_path.write_text(yaml.safe_dump(schema))
    config_module.validated(config, schema_path)

    assert adapters.get(config["datasets"]["lab"]).measured
    assert input_files(config["datasets"]["lab"]) == ["data/cycles.tsv"]
    splits, scaler, series = build_protocol(config, "lab", tmp_path / "project")
    assert set(series.loc[series["split"] == "test", "cell_id"]) == {"x5"}
    assert len(splits["train"]) > 0 and len(splits["test"]) > 0
    # cleaned and divided by the reference capacity, as every measured source is
    assert series["soh"].iloc[0] == pytest.approx(1100 * (1 - 0.0004) / 1000 / 1.1, abs=0.01)
