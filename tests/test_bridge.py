"""The two-line scripts' bridge: a failing rule leaves its traceback in the rule's log."""

from types import SimpleNamespace

import pytest

from dlnet.errors import InputError
from dlnet.logs import Log
from dlnet.run import bridge


def test_a_failure_is_written_to_the_rule_log(tmp_path):
    log = tmp_path / "rule.log"

    def run(input, output, params, log, threads):
        Log(log)("started")
        raise InputError("data.csv", "a bad value", "fix it")

    snakemake = SimpleNamespace(input=None, output=None, params=None, log=[str(log)], threads=1)
    with pytest.raises(InputError):
        bridge(run, snakemake)
    text = log.read_text()
    assert "started" in text and "InputError" in text and "data.csv" in text
