"""Rule deploy_summary refuses to summarize a liquid network without its exports' checks."""

import json
from types import SimpleNamespace

import pytest

from dlnet.errors import InputError
from dlnet.run import deploy_summary


def test_a_liquid_network_without_its_export_checks_asks_for_another_run(tmp_path):
    metrics, size = tmp_path / "int8_metrics.json", tmp_path / "int8_size.json"
    metrics.write_text(json.dumps({"model": "m.pt", "kind": "liquid"}))
    size.write_text("{}")
    # what Snakemake hands the job when its plan still waits on the select checkpoint
    handed = SimpleNamespace(int8_metrics=str(metrics), int8_size=str(size), header="h.h")
    out = SimpleNamespace(metrics=str(tmp_path / "metrics.json"), sizes=str(tmp_path / "size.json"))
    with pytest.raises(InputError, match="run snakemake again"):
        deploy_summary.run(handed, out, None, str(tmp_path / "log"))
    assert not (tmp_path / "metrics.json").exists()
