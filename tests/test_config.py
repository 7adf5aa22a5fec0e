"""config.schema.yaml catches a misspelt key or a value out of range before anything runs."""

import copy

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from conftest import ROOT

CONFIG = yaml.safe_load((ROOT / "config.yaml").read_text())
SCHEMA = str(ROOT / "config.schema.yaml")


def with_change(path, value):
    config = copy.deepcopy(CONFIG)
    node = config
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return config


def test_the_shipped_config_and_the_test_config_are_valid():
    validate(copy.deepcopy(CONFIG), SCHEMA)
    tiny = yaml.safe_load((ROOT / "tests/config_tiny.yaml").read_text())
    merged = copy.deepcopy(CONFIG)
    for section, values in tiny.items():
        for key, value in values.items():
            if isinstance(value, dict) and isinstance(merged[section].get(key), dict):
                merged[section][key] = {**merged[section][key], **value}
            else:
                merged[section][key] = value
    validate(merged, SCHEMA)


@pytest.mark.parametrize("path,value,words", [
    (("training", "epoch"), 10, ["epoch"]),                                  # misspelt key
    (("protocols", "cells", "trend_lenght"), 50, ["trend_lenght"]),
    (("pareto", "select", "tolerence"), 0.1, ["tolerence"]),
    (("training", "epochs"), 0, ["minimum"]),                                # out of range
    (("pruning", "ratios"), [0.5, 1.0], ["maximum"]),
    (("protocols", "cells", "scaling"), "log", ["log"]),
    (("deploy", "weights"), "per_row", ["per_row"]),
])
def test_a_bad_key_or_value_is_refused_naming_it(path, value, words):
    with pytest.raises(WorkflowError) as e:
        validate(with_change(path, value), SCHEMA)
    for word in words:
        assert word in str(e.value)


@pytest.mark.parametrize("path,value,words", [
    (("training", "epoch"), 10, ["column 'training'", "'epoch' was unexpected",
                                 "did you mean 'epochs'?"]),
    (("protocols", "cells", "trend_lenght"), 50, ["did you mean 'trend_len'?"]),
    (("protocols", "cell"), {"include_cells": ["b2c0"]},
     ["column 'protocols.cell'", "protocol 'cell' is not complete", "did you mean 'cells'?"]),
    (("training", "epochs"), 0, ["column 'training.epochs'", "minimum", "documents training.epochs"]),
    (("pareto", "select", "rule"), "within-noise", ["column 'pareto.select.rule'", "within-noise"]),
    (("protocols", "cells", "exclude_cells"), [10], ["column 'protocols.cells.exclude_cells.0'",
                                                     "write the id in quotes", "the number 10"]),
    (("cleaning", "max_jump_ah"), 0.05, ["max_jump_ah' was unexpected", "became max_soh and "
                                         "max_jump_soh, fractions of the dataset's soh_reference_ah"]),
    (("protocols", "paper", "smoothing"), {"method": "savgol"},
     ["column 'protocols.paper.smoothing'", "'window' is a required property"]),
    (("deploy", "calibration_windows"), 1, ["column 'deploy.calibration_windows'", "minimum"]),
    (("protocols", "cells", "split"), {"source": "config", "test_cells": ["b1c1"],
                                       "val_cells": []},
     ["column 'protocols.cells.split.val_cells'", "[]"]),
    (("protocols", "cells", "split"), {"source": "config", "test_cells": ["b1c1"],
                                       "val_fraction": 0.2},
     ["column 'protocols.cells.split'", "needs val_cells, or val_fraction and seed",
      "add val_cells, or seed"]),
])
def test_a_refused_setting_is_named_in_one_line_with_the_closest_key(path, value, words):
    from dlnet.config import check
    from dlnet.errors import InputError

    with pytest.raises(InputError) as e:
        check(with_change(path, value))
    message = str(e.value)
    assert "\n" not in message and len(message) < 400, message
    for word in words:
        assert word in message, message
    check(copy.deepcopy(CONFIG))                          # the shipped config passes


def described_keys(node, path=""):
    """(path, has a description) of every key the schema defines, definitions included."""
    if not isinstance(node, dict):
        return
    for key, sub in (node.get("properties") or {}).items():
        if isinstance(sub, dict):
            yield f"{path}.{key}", "description" in sub
            yield from described_keys(sub, f"{path}.{key}")
    for key in ("additionalProperties", "items"):
        if isinstance(node.get(key), dict):
            yield from described_keys(node[key], f"{path}.<{key}>")


def test_the_schema_describes_every_key():
    schema = yaml.safe_load((ROOT / "config.schema.yaml").read_text())
    keys = list(described_keys(schema))
    for name, definition in schema["definitions"].items():
        keys += described_keys(definition, f"definitions.{name}")
    assert len(keys) > 100
    assert [k for k, described in keys if not described] == []


def test_an_error_about_a_setting_names_the_files_it_came_from(tmp_path):
    """With --configfile or --config over config.yaml, "file config.yaml" alone would send the
    user to the wrong file: the Snakefile records what the run read, and jobs inherit it."""
    from conftest import copy_workflow, snakemake

    workdir = copy_workflow(tmp_path / "wf")
    (workdir / "mine.yaml").write_text("protocols:\n  cells:\n    dataset: severson\n")
    proc = snakemake(workdir, "-n", "--configfile", "mine.yaml", check=False)
    assert proc.returncode != 0
    assert ("file config.yaml + mine.yaml, column 'protocols.cells.dataset': protocol cells "
            "reads dataset 'severson'") in proc.stderr + proc.stdout
    proc = snakemake(workdir, "-n", "--configfile", "mine.yaml", "--config", "seed=x",
                     check=False)
    assert "file config.yaml + mine.yaml + --config, column 'seed'" in proc.stderr + proc.stdout


def test_only_a_cell_id_is_told_to_be_quoted():
    from dlnet.config import check
    from dlnet.errors import InputError

    with pytest.raises(InputError) as e:
        check(with_change(("protocols", "cells", "dataset"), 2019))
    assert "column 'protocols.cells.dataset'" in str(e.value) and "quotes" not in str(e.value)


def test_listed_validation_cells_need_no_fraction_or_seed():
    """val_fraction and seed only draw validation cells: with val_cells they are not needed."""
    from dlnet.config import check

    listed = with_change(("protocols", "cells", "split"),
                         {"source": "config", "test_cells": ["b1c1"], "val_cells": ["b1c2"]})
    check(copy.deepcopy(listed))
    validate(listed, SCHEMA)                              # as the Snakefile validates it


def test_keys_come_in_the_shipped_order_whatever_order_the_files_gave():
    """Snakemake compares params with their key order (tests/test_workflow.py runs it)."""
    import json

    from dlnet.config import in_shipped_order

    a, b = copy.deepcopy(CONFIG), copy.deepcopy(CONFIG)
    a["training"] = dict(reversed(list(a["training"].items())))
    a["protocols"]["cells"]["candidates"]["teacher"] = True          # written last ...
    b["protocols"]["cells"]["candidates"] = {"teacher": True,         # ... or first
                                             **b["protocols"]["cells"]["candidates"]}
    assert json.dumps(in_shipped_order(a)) == json.dumps(in_shipped_order(b))
    assert list(a["training"]) == list(CONFIG["training"])
    shipped = in_shipped_order(copy.deepcopy(CONFIG))
    assert json.dumps(shipped) == json.dumps(CONFIG)                  # the shipped file: as it is
