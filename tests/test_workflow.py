"""The workflow itself, run by Snakemake on the tiny config (a few cells, 2 epochs)."""

import json

import pandas as pd
import yaml

from conftest import snakemake

PROTOCOLS = ("paper", "cells")


def job_counts(output):
    """{rule: count} from the 'Job stats' table of a (dry) run."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Job stats:"))
    counts = {}
    for line in lines[start + 3:]:
        parts = line.split()
        if len(parts) != 2 or parts[0] == "total":
            break
        counts[parts[0]] = int(parts[1])
    return counts


def test_tiny_run_writes_every_stage_for_both_protocols(tiny_run):
    wd, _ = tiny_run
    for p in PROTOCOLS:
        r = wd / "results" / p
        for f in ["data/dataset.npz", "data/dataset.json", "data/series.csv.gz", "data/dropped.csv",
                  "baselines/metrics.json", "teacher/model.pt", "teacher/train_log.csv",
                  "teacher/benchmark.tsv", "teacher/train.log", "students/front1.csv",
                  "pareto/candidates.csv", "pareto/pareto.csv", "pareto/selected.json",
                  "pareto/pareto.png"]:
            assert (r / f).exists(), f"{p}: {f}"
        teacher = json.loads((r / "teacher/metrics.json").read_text())
        scored = ["val", "test", "segments"] if p == "paper" else ["val", "test", "test2"]
        for s in scored:
            m = teacher[s]
            assert {"mae", "rmse", "mape", "mae_at_10", "mae_at_100", "n_windows", "by_band"} <= set(m)
            assert 0 < m["mae"] <= m["rmse"] and m["n_windows"] > 0
        assert {"params", "seed", "versions", "mc_dropout"} <= set(teacher)
        log = (r / "teacher/train.log").read_text()
        assert "epoch    2/2" in log and "val_mae" in log
        baselines = json.loads((r / "baselines/metrics.json").read_text())
        assert {"persistence", "linear", "quadratic"} <= set(baselines)


def test_checkpoint_builds_the_pruning_part_of_the_dag(tiny_run):
    wd, _ = tiny_run
    for p in PROTOCOLS:
        front = pd.read_csv(wd / "results" / p / "students/front1.csv")
        chosen = front.loc[front["prune"], "name"].tolist()
        assert chosen and set(front["name"]) == {"h4", "h2", "h3-tiny"}
        cands = pd.read_csv(wd / "results" / p / "pareto/candidates.csv")
        recovered = sorted(cands.loc[cands["stage"] == "recovered", "name"])
        assert recovered == sorted(f"{s}_p{r}" for s in chosen for r in ("0.2", "0.5"))
        for name in recovered:
            assert (wd / "results" / p / "recovered" / name / "model.pt").exists()
            assert (wd / "results" / p / "pruned" / name / "model.pt").exists()
        assert set(cands["stage"]) == {"teacher", "student", "recovered", "baseline"}
        selected = json.loads((wd / "results" / p / "pareto/selected.json").read_text())
        assert selected["name"] in set(cands["name"]) and "val_mae" in selected["reason"]
        pareto = pd.read_csv(wd / "results" / p / "pareto/pareto.csv")
        assert pareto["selected"].sum() == 1 and (pareto["front"] == 1).all()


def test_editing_one_students_config_reruns_only_what_depends_on_it(tiny_run, tmp_path):
    wd, _ = tiny_run
    proc = snakemake(wd, "-n", "--configfile", "tests/config_tiny.yaml")
    assert "Nothing to be done" in proc.stdout + proc.stderr
    changed = yaml.safe_load((wd / "tests/config_tiny.yaml").read_text())
    changed["students"]["families"]["tiny"]["enc_hidden"] = 6
    (tmp_path / "changed.yaml").write_text(yaml.safe_dump(changed, sort_keys=False))
    proc = snakemake(wd, "-n", "--configfile", str(tmp_path / "changed.yaml"))
    counts = job_counts(proc.stdout + proc.stderr)
    assert counts["student"] == 2                     # h3-tiny, in each protocol
    assert counts["front1"] == 2
    for untouched in ("prepare_data", "baselines", "teacher"):
        assert untouched not in counts, counts


def test_dag_and_rulegraph_draw(tiny_run):
    wd, _ = tiny_run
    dag = snakemake(wd, "--configfile", "tests/config_tiny.yaml", "--dag").stdout
    assert dag.lstrip().startswith("digraph") and "teacher" in dag and "front1" in dag
    rules = snakemake(wd, "--configfile", "tests/config_tiny.yaml", "--rulegraph").stdout
    assert "prepare_data" in rules and "pareto" in rules


def test_a_bad_config_fails_at_once_with_the_key(tiny_run, tmp_path):
    wd, _ = tiny_run
    (tmp_path / "bad.yaml").write_text("training:\n  epochs: 0\n")
    proc = snakemake(wd, "-n", "--configfile", str(tmp_path / "bad.yaml"), check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "epochs" in out and "minimum" in out


def test_lint_is_clean(tiny_run):
    wd, _ = tiny_run
    proc = snakemake(wd, "--lint", "--configfile", "tests/config_tiny.yaml", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Congratulations" in proc.stdout + proc.stderr


def test_selecting_the_raw_batch_files_schedules_their_download(tiny_run, tmp_path):
    wd, _ = tiny_run
    override = {"protocols": {"cells": {"dataset": "matr_raw"}, "paper": {"enabled": False}}}
    (tmp_path / "matr.yaml").write_text(yaml.safe_dump(override))
    proc = snakemake(wd, "-n", "--configfile", "tests/config_tiny.yaml", str(tmp_path / "matr.yaml"))
    counts = job_counts(proc.stdout + proc.stderr)
    assert counts["download_matr"] == 3 and counts["prepare_data"] == 1
    assert "2017-05-12_batchdata_updated_struct_errorcorrect.mat" in proc.stdout


def test_html_report_has_every_section(tiny_run):
    wd, _ = tiny_run
    snakemake(wd, "--configfile", "tests/config_tiny.yaml", "--report", "results/report.html")
    html = (wd / "results/report.html").read_text(errors="replace")
    for section in ("Metrics", "Pareto", "Predictions", "Training", "Firmware"):
        assert section in html, section
    for p in PROTOCOLS:
        summary = (wd / "results" / p / "summary.md").read_text()
        assert "[published]" in summary and "native C core" in summary and "TFLite" in summary
        assert "On the microcontroller" in summary


def test_deployed_model_is_bit_exact_everywhere(tiny_run):
    wd, _ = tiny_run
    for p in PROTOCOLS:
        verify = json.loads((wd / "results" / p / "deploy/verify.json").read_text())
        m4 = json.loads((wd / "results" / p / "firmware/m4_report.json").read_text())
        assert m4["all_bit_exact"] and m4["windows_compared"] > 0
        assert m4["instructions_per_inference"]["max"] > 0
        deploy = json.loads((wd / "results" / p / "deploy/metrics.json").read_text())
        assert set(deploy) >= {"float", "int8", "tflite"}
        assert verify["summary"]["all_exact"] is True


def test_cleaning_rules_do_not_touch_the_paper_protocol(tiny_run, tmp_path):
    """The DLNet series are not cleaned, so editing the cleaning reruns only `cells`."""
    wd, _ = tiny_run
    changed = yaml.safe_load((wd / "tests/config_tiny.yaml").read_text())
    changed["cleaning"] = {"max_capacity_ah": 1.2, "median_window": 10, "max_jump_ah": 0.04}
    (tmp_path / "cleaning.yaml").write_text(yaml.safe_dump(changed, sort_keys=False))
    proc = snakemake(wd, "-n", "--configfile", str(tmp_path / "cleaning.yaml"))
    counts = job_counts(proc.stdout + proc.stderr)
    assert counts["prepare_data"] == 1 and counts["teacher"] == 1
    assert "results/paper/" not in proc.stdout.split("Job stats")[0]
