"""The two-line scripts' bridge: bad input ends a rule with its message, a bug with its
traceback, both in the rule's log; list inputs are checked against what was planned."""

from types import SimpleNamespace

import pytest

from dlnet.errors import InputError
from dlnet.logs import Log
from dlnet.run import bridge, planned


def rule(log, error):
    def run(input, output, params, log, threads):
        Log(log)("started")
        raise error

    return run, SimpleNamespace(input=None, output=None, params=None, log=[str(log)], threads=1)


def test_bad_input_ends_the_job_with_its_message_and_no_traceback(tmp_path, capsys):
    log = tmp_path / "rule.log"
    run, snakemake = rule(log, InputError("data.csv", "a bad value", "fix it", column="soh"))
    with pytest.raises(SystemExit) as stop:
        bridge(run, snakemake)
    assert stop.value.code == 1
    text, err = log.read_text(), capsys.readouterr().err
    message = "error: file data.csv, column 'soh': a bad value. Fix: fix it"
    assert "started" in text and message in text and "Traceback" not in text
    assert err.strip() == message


def test_a_bug_keeps_its_traceback_in_the_log(tmp_path):
    log = tmp_path / "rule.log"
    run, snakemake = rule(log, KeyError("scaler"))
    with pytest.raises(KeyError):
        bridge(run, snakemake)
    text = log.read_text()
    assert "started" in text and "Traceback" in text and "KeyError: 'scaler'" in text


def test_a_job_handed_a_checkpoints_output_for_a_list_says_to_run_again():
    files = ["results/p/logs/a_benchmark.tsv", "results/p/teacher/benchmark.tsv"]
    assert planned(files, "benchmarks", "benchmark.tsv", "sel.json") == files
    assert planned([], "logs", "train_log.csv", "sel.json") == []
    for handed in ("results/p/pareto/selected.json", ["results/p/pareto/selected.json"]):
        with pytest.raises(InputError, match="run snakemake again") as e:
            planned(handed, "benchmarks", "benchmark.tsv", "results/p/pareto/selected.json")
        assert "selected.json as its benchmarks" in str(e.value)
