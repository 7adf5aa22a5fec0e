"""The workflow itself, run by Snakemake on the tiny config (a few cells, 2 epochs)."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from conftest import ROOT, copy_workflow, snakemake
from dlnet.config import student_settings

PROTOCOLS = ("paper", "paper_residual", "cells")


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


def test_tiny_run_writes_every_stage_for_every_protocol(tiny_run):
    wd, _ = tiny_run
    for p in PROTOCOLS:
        r = wd / "results" / p
        for f in ["data/dataset.npz", "data/dataset.json", "data/series.csv.gz", "data/dropped.csv",
                  "baselines/metrics.json", "baselines/learned.json", "baselines/ridge.npz",
                  "teacher/model.pt", "teacher/train_log.csv",
                  "teacher/benchmark.tsv", "teacher/train.log", "students/front1.csv",
                  "pareto/candidates.csv", "pareto/pareto.csv", "pareto/selected.json",
                  "pareto/seeds.csv", "pareto/pareto.png"]:
            assert (r / f).exists(), f"{p}: {f}"
        teacher = json.loads((r / "teacher/metrics.json").read_text())
        scored = ["val", "test", "segments"] if p.startswith("paper") else ["val", "test", "test2"]
        for s in scored:
            m = teacher[s]
            assert {"mae", "rmse", "mape", "mae_at_10", "mae_at_100", "n_windows", "by_band"} <= set(m)
            assert 0 < m["mae"] <= m["rmse"] and m["n_windows"] > 0
        assert {"params", "seed", "versions", "mc_dropout"} <= set(teacher)
        log = (r / "teacher/train.log").read_text()
        assert "epoch    2/2" in log and "val_mae" in log
        baselines = json.loads((r / "baselines/metrics.json").read_text())
        for arithmetic in ("float", "int8"):
            assert {"persistence", "linear", "quadratic"} <= set(baselines[arithmetic])
        learned = json.loads((r / "baselines/learned.json").read_text())
        assert {"ridge", "knn"} <= set(learned) and "int8" in learned["ridge"]


def test_checkpoints_build_the_pruning_and_seed_parts_of_the_dag(tiny_run):
    wd, _ = tiny_run
    for p in PROTOCOLS:
        front = pd.read_csv(wd / "results" / p / "students/front1.csv")
        chosen = front.loc[front["prune"], "name"].tolist()
        # each protocol trains its families (config.yaml): the paper's widths as published,
        # the deploy protocols the family that fits their 8 kB
        trained = {"h4", "h2"} if p == "paper" else {"h3-tiny"}
        assert chosen and set(front["name"]) == trained
        assert {d.name for d in (wd / "results" / p / "students").iterdir() if d.is_dir()} == trained
        cands = pd.read_csv(wd / "results" / p / "pareto/candidates.csv")
        recovered = sorted(cands.loc[cands["stage"] == "recovered", "name"])
        assert recovered == sorted(f"{s}_p{r}" for s in chosen for r in ("0.2", "0.5"))
        for name in recovered:
            assert (wd / "results" / p / "recovered" / name / "model.pt").exists()
            assert (wd / "results" / p / "pruned" / name / "model.pt").exists()
        assert set(cands["stage"]) == {"teacher", "student", "recovered", "baseline", "learned"}
        if p == "paper":  # as published, the students alone compete: the teacher is no finalist
            assert not cands.loc[cands["stage"] == "teacher", "eligible"].any()
        finalists = cands[cands["finalist"]]
        assert len(finalists) <= 2 and (finalists["kind"] == "liquid").all()
        assert (finalists["front"] == 1).all() and finalists["eligible"].all()
        seeds = pd.read_csv(wd / "results" / p / "pareto/seeds.csv")
        assert sorted(seeds["name"]) == sorted(list(finalists["name"]) * 3)
        assert set(seeds["seed"]) == ({42, 43, 44} if len(finalists) else set())
        for _, f in finalists.iterrows():
            folder = {"teacher": "teacher", "student": f"students/{f['name']}",
                      "recovered": f"recovered/{f['name']}"}[f["stage"]]
            for seed in (43, 44):  # trained together, stacked, and each its own model
                metrics = json.loads((wd / "results" / p / f"seeds/s{seed}" / folder /
                                      "metrics.json").read_text())
                assert metrics["seed"] == seed and metrics["name"] == f["name"]
            assert metrics["val"]["mae"] != json.loads(
                (wd / "results" / p / "seeds/s43" / folder / "metrics.json").read_text())["val"]["mae"]
        selected = json.loads((wd / "results" / p / "pareto/selected.json").read_text())
        assert selected["name"] in set(cands["name"]) and "validation MAE" in selected["reason"]
        assert 0 <= selected["stability"]["held"] <= 1
        assert not any(k.startswith(("test", "segments")) for k in selected), \
            "selected.json holds what selection read: validation errors and costs only"
        pareto = pd.read_csv(wd / "results" / p / "pareto/pareto.csv")
        assert pareto["selected"].sum() == 1


def test_a_ratio_pruned_and_recovered_alone_is_what_its_students_job_made(tiny_run, tmp_path):
    """prune_recover prunes and recovers every ratio of a student in one process; the last ratio
    done in a process of its own comes out the same, number for number."""

    import torch

    from dlnet.run.prune_recover import run

    wd, _ = tiny_run
    config = yaml.safe_load((wd / "config.yaml").read_text())
    tiny = yaml.safe_load((wd / "tests/config_tiny.yaml").read_text())
    r = wd / "results/cells"
    front = pd.read_csv(r / "students/front1.csv")
    student = front.loc[front["prune"], "name"].iloc[0]
    ratio = tiny["pruning"]["ratios"][-1]
    name = f"{student}_p{ratio:g}"
    params = SimpleNamespace(
        student=student, ratios=[ratio], keep_first_last=config["pruning"]["keep_first_last"],
        epochs=tiny["pruning"]["recovery_epochs"], seeds=[config["seed"]],
        training={**config["training"], **tiny["training"],
                  **config["protocols"]["cells"].get("training", {})},
        distill=student_settings(config["students"])[1])
    out = {k: [tmp_path / k / f] for k, f in (("pruned", "model.pt"), ("pruned_metrics", "m.json"),
                                              ("models", "model.pt"), ("metrics", "m.json"),
                                              ("histories", "log.csv"))}
    run(SimpleNamespace(dataset=r / "data/dataset.npz", info=r / "data/dataset.json",
                        teacher=r / "teacher/model.pt", students=[r / f"students/{student}/model.pt"],
                        student_metrics=[r / f"students/{student}/metrics.json"]),
        SimpleNamespace(**out), params, str(tmp_path / "run.log"))
    for stage, model, metrics in (("pruned", "pruned", "pruned_metrics"),
                                  ("recovered", "models", "metrics")):
        assert comparable(out[metrics][0]) == comparable(r / stage / name / "metrics.json")
        alone = torch.load(out[model][0], weights_only=False)["state_dict"]
        batched = torch.load(r / stage / name / "model.pt", weights_only=False)["state_dict"]
        assert all(torch.equal(alone[k], batched[k]) for k in batched), stage


def test_the_paper_protocol_chooses_among_liquid_networks_only(tiny_run):
    wd, _ = tiny_run
    cands = pd.read_csv(wd / "results/paper/pareto/candidates.csv")
    assert set(cands.loc[cands["eligible"], "kind"]) == {"liquid"}
    selected = json.loads((wd / "results/paper/pareto/selected.json").read_text())
    assert selected["kind"] == "liquid"
    # the deployed seed's own cost, which the header quantize writes holds
    size = json.loads((wd / "results/paper/deploy/size.json").read_text())
    assert size["native_model_bytes"] == selected["deployed_int8_bytes"]
    seeds = pd.read_csv(wd / "results/paper/pareto/seeds.csv")
    deployed = seeds[(seeds["name"] == selected["name"]) & (seeds["seed"] == selected["seed"])]
    assert deployed["int8_bytes"].tolist() == [selected["deployed_int8_bytes"]]
    # every deploy file names the seed that trained what it holds
    metrics = json.loads((wd / "results/paper/deploy/metrics.json").read_text())
    assert metrics["seed"] == selected["seed"] and metrics["model"] == selected["model"]
    residual = pd.read_csv(wd / "results/paper_residual/pareto/candidates.csv")
    assert {"liquid", "polynomial", "linear"} >= set(residual.loc[residual["eligible"], "kind"])
    assert "polynomial" in set(residual.loc[residual["eligible"], "kind"])
    assert (residual.loc[residual["eligible"], "int8_bytes"] <= 8192).all()


def test_a_baseline_that_no_network_beats_is_deployed_and_runs_on_the_m4(tiny_run):
    """Two epochs of training beat no parabola: on the residual paper protocol the int8
    quadratic baseline is deployed, a model without a network, bit-exact in QEMU."""
    wd, _ = tiny_run
    r = wd / "results/paper_residual"
    selected = json.loads((r / "pareto/selected.json").read_text())
    assert selected["kind"] == "polynomial" and selected["name"].startswith("quadratic")
    assert "no liquid network is significantly better" in selected["reason"]
    m4 = json.loads((r / "firmware/m4_report.json").read_text())
    assert m4["all_bit_exact"] and m4["windows_compared"] > 0
    deploy = json.loads((r / "deploy/metrics.json").read_text())
    assert "tflite" not in deploy and "no TFLite or ONNX export" in deploy["exports"]
    assert not (r / "deploy/model_int8.tflite").exists()
    size = json.loads((r / "deploy/size.json").read_text())
    assert size["native_model_bytes"] == selected["int8_bytes"] < 1024
    assert selected["deployed_int8_bytes"] == selected["int8_bytes"]


def test_every_candidate_is_timed_on_the_m4_and_a_slow_one_is_not_deployed(tiny_run, tmp_path):
    """A latency limit (candidates.max_latency_ms) added to a protocol reruns no training before
    the front. Rule latency times every network and baseline within the byte limit, in QEMU on
    validation windows, and the front leaves out what is slower than the limit; latency_seeds
    times the finalists' other seeds; the deployed model's figure agrees with firmware_m4's on
    held-out windows; and a limit nothing meets fails with the key to change. (The tiny run's
    `paper` has liquid finalists and no limit; its other protocols deploy a baseline, timed
    too.)"""
    wd, _ = tiny_run
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    for p in ("cells", "paper_residual"):
        r = wd / "results" / p
        lat = pd.read_csv(r / "pareto/latency.csv")
        cands = pd.read_csv(r / "pareto/candidates.csv")
        limit = config["protocols"][p]["candidates"]["max_latency_ms"]
        timed = cands[cands["kind"].isin(["liquid", "polynomial", "linear"])
                      & (cands["int8_bytes"] <= 8192)]
        assert sorted(lat["name"]) == sorted(timed["name"])
        assert (cands["eligible"] == (cands["latency_ms"] <= limit) & cands["name"].isin(
            timed["name"])).all()
        selected = json.loads((r / "pareto/selected.json").read_text())
        assert selected["max_latency_ms"] == limit and selected["latency_ms"]["high"] <= limit
    assert not (wd / "results/paper/pareto/latency.csv").exists()
    before = json.loads((wd / "results/paper/pareto/selected.json").read_text())
    assert before["latency_ms"] is None and before["max_latency_ms"] is None

    other = tmp_path / "wf"
    shutil.copytree(wd, other, symlinks=True)
    target = "results/paper/pareto/selected.json"

    def with_limit(ms, check=True):
        (tmp_path / "limit.yaml").write_text(yaml.safe_dump(
            {"protocols": {"paper": {"candidates": {"max_latency_ms": ms}}}}))
        return snakemake(other, target, "--cores", "1", "--configfile", "tests/config_tiny.yaml",
                         str(tmp_path / "limit.yaml"), check=check)

    proc = with_limit(1000.0)
    ran = set(re.findall(r"(?:local)?(?:rule|checkpoint) (\w+):", proc.stdout + proc.stderr))
    assert ran == {"latency", "pareto", "latency_seeds", "select"}, ran
    r = other / "results/paper"
    lat = pd.concat([pd.read_csv(r / "pareto/latency.csv"),
                     pd.read_csv(r / "pareto/latency_seeds.csv")])
    assert (lat["kind"] == "liquid").all()                        # no baseline competes here
    cands = pd.read_csv(r / "pareto/candidates.csv")
    eligible = cands.loc[cands["eligible"], "name"]
    assert sorted(lat.loc[lat["seed"] == config["seed"], "name"]) == sorted(eligible)
    seeds = pd.read_csv(r / "pareto/seeds.csv")
    assert len(seeds) >= 6 and set(zip(seeds["name"], seeds["seed"])) <= set(
        zip(lat["name"], lat["seed"]))
    assert (lat["cycles"] > lat["instructions"]).all()
    assert ((0 < lat["latency_ms_low"]) & (lat["latency_ms_low"] < lat["latency_ms_high"])).all()
    loose = json.loads((other / target).read_text())
    assert (loose["name"], loose["seed"]) == (before["name"], before["seed"])
    m4 = json.loads((wd / "results/paper/firmware/m4_report.json").read_text())
    assert m4["latency_ms"]["high"] == pytest.approx(loose["latency_ms"]["high"], rel=0.03)

    # between the two fastest networks: the slower leaves the front, the choice keeps the limit
    first = lat[lat["seed"] == config["seed"]].sort_values("latency_ms_high")
    limit = float(first["latency_ms_high"].iloc[:2].mean())
    with_limit(limit)
    cands = pd.read_csv(r / "pareto/candidates.csv")
    assert cands.loc[cands["eligible"], "name"].tolist() == [first["name"].iloc[0]]
    tight = json.loads((other / target).read_text())
    assert tight["name"] == first["name"].iloc[0] and tight["latency_ms"]["high"] <= limit

    proc = with_limit(float(first["latency_ms_high"].iloc[0]) / 2, check=False)
    assert proc.returncode != 0
    assert "no candidate of protocol paper is eligible" in proc.stdout + proc.stderr
    assert "max_latency_ms" in proc.stdout + proc.stderr


def test_ridge_is_timed_like_the_networks_when_it_competes(tiny_run, tmp_path, monkeypatch):
    """Ridge regression's int8 model (rule latency builds the core with it when it is eligible)
    runs bit-exact on the Cortex-M4, slower than the parabola it corrects: 100 x 101
    multiply-accumulates against one fit."""
    from dlnet import protocols
    from dlnet.firmware import held_out_windows
    from dlnet.quant import calibrate
    from dlnet.run import latency

    wd, _ = tiny_run
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    monkeypatch.chdir(wd)
    r = "results/cells"
    frame = pd.read_csv(f"{r}/pareto/candidates.csv")
    frame["eligible"] |= frame["kind"] == "linear"
    found = latency.deployables(frame[frame["eligible"]], config["seed"], 100, 100)
    (name, seed, kind, path, model), = [c for c in found if c[2] == "linear"]
    assert seed is None and path.endswith("ridge.npz")
    quantization = {k: v for k, v in config["deploy"].items()
                    if k not in ("verify", "int8_tolerance")}
    x_cal = calibrate.sample(protocols.load(f"{r}/data/dataset.npz")["train"].inputs, 200)
    qm = model.quantize(x_cal, quantization)
    windows = held_out_windows.pick(f"{r}/data/dataset.npz", 4, 100, qm.dims["signals"],
                                    splits=("val",))
    assert set(windows.split) == {"val"}
    measured = latency.measure(qm, path, windows, tmp_path, config["firmware"],
                               ROOT / "firmware/core", ROOT / "firmware/m4", lambda _: None)
    timed = pd.read_csv(f"{r}/pareto/latency.csv")
    assert measured["cycles"] > 2 * timed.loc[timed["kind"] == "polynomial", "cycles"].max()
    assert measured["latency_ms_low"] < measured["latency_ms_high"]


def test_changing_the_latency_limit_reruns_only_the_choice(tiny_run, tmp_path):
    """The limit moves the front and the choice only: the data, the models and their timings
    stay."""
    wd, _ = tiny_run
    changed = yaml.safe_load((wd / "tests/config_tiny.yaml").read_text())
    changed["protocols"]["cells"]["candidates"] = {"max_latency_ms": 0.25}
    (tmp_path / "changed.yaml").write_text(yaml.safe_dump(changed, sort_keys=False))
    proc = snakemake(wd, "-n", "--configfile", str(tmp_path / "changed.yaml"))
    counts = job_counts(proc.stdout + proc.stderr)
    assert counts["pareto"] == counts["select"] == 1, counts
    for untouched in ("prepare_data", "teacher", "student", "prune_recover", "latency"):
        assert untouched not in counts, counts


def test_editing_one_students_config_reruns_only_what_depends_on_it(tiny_run, tmp_path):
    wd, _ = tiny_run
    proc = snakemake(wd, "-n", "--configfile", "tests/config_tiny.yaml")
    assert "Nothing to be done" in proc.stdout + proc.stderr
    changed = yaml.safe_load((wd / "tests/config_tiny.yaml").read_text())
    changed["students"]["families"]["tiny"]["enc_hidden"] = 6
    (tmp_path / "changed.yaml").write_text(yaml.safe_dump(changed, sort_keys=False))
    proc = snakemake(wd, "-n", "--configfile", str(tmp_path / "changed.yaml"))
    counts = job_counts(proc.stdout + proc.stderr)
    assert counts["student"] == 2                     # h3-tiny, in each protocol that trains it
    assert counts["front1"] == 2
    assert "results/paper/" not in proc.stdout.split("Job stats")[0]   # the paper's widths only
    for untouched in ("prepare_data", "baselines", "teacher"):
        assert untouched not in counts, counts


def test_a_config_that_repeats_values_or_defaults_reruns_nothing(tiny_run, tmp_path):
    """Snakemake compares params with their key order: a value repeated in another file, or a
    schema default written out, moved a key and reran every rule that reads its section."""
    wd, _ = tiny_run
    (tmp_path / "same.yaml").write_text(yaml.safe_dump({
        "training": {"clip": 1.0}, "pareto": {"select": {"cost": "int8_bytes"}},
        "protocols": {"cells": {"candidates": {"teacher": True}}}}))
    proc = snakemake(wd, "-n", "--configfile", "tests/config_tiny.yaml", str(tmp_path / "same.yaml"))
    assert "Nothing to be done" in proc.stdout + proc.stderr, proc.stdout[-3000:]


def test_turning_the_ablation_off_reruns_only_the_report(tiny_run, tmp_path):
    """`ablation` adds report jobs: the protocol's data, models and choice stay."""
    wd, _ = tiny_run
    changed = yaml.safe_load((wd / "tests/config_tiny.yaml").read_text())
    changed["protocols"]["cells"]["ablation"] = False
    (tmp_path / "changed.yaml").write_text(yaml.safe_dump(changed, sort_keys=False))
    proc = snakemake(wd, "-n", "--configfile", str(tmp_path / "changed.yaml"))
    counts = job_counts(proc.stdout + proc.stderr)
    assert counts["summary"] == 1 and "signals_ablation" not in counts
    assert set(counts) <= {"summary", "report_figures", "all", "total"}, counts


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


def test_rules_are_formatted_with_snakefmt():
    """The Snakefile and rules as snakefmt (pinned in constraints.txt) writes them."""
    snakefmt = Path(sys.executable).with_name("snakefmt")
    files = [ROOT / "Snakefile", *sorted((ROOT / "rules").glob("*.smk"))]
    proc = subprocess.run([str(snakefmt), "--check", "--diff", *map(str, files)], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_rule_runs_the_script_and_run_module_named_after_it():
    """rule x -> scripts/x.py -> dlnet/run/x.py, for every rule and checkpoint (the seed rules
    reuse theirs with `use rule`)."""
    found = {}
    for path in sorted((ROOT / "rules").glob("*.smk")):
        text = path.read_text()
        for m in re.finditer(r"^(?:rule|checkpoint) (\w+):\n(.*?)(?=^\S|\Z)", text, re.M | re.S):
            found[m.group(1)] = re.search(r'script:\s*\n\s*"([^"]+)"', m.group(2))
    assert len(found) > 20
    for name, script in found.items():
        assert script and script.group(1).endswith(f"scripts/{name}.py"), name
        bridge = (ROOT / "scripts" / f"{name}.py").read_text()
        assert f"from dlnet.run.{name} import run" in bridge, name
        assert (ROOT / "dlnet" / "run" / f"{name}.py").is_file(), name


def test_selecting_the_raw_batch_files_schedules_their_download(tiny_run, tmp_path):
    wd, _ = tiny_run
    override = {"protocols": {"cells": {"dataset": "matr_raw"}, "paper": {"enabled": False},
                              "paper_residual": {"enabled": False}}}
    (tmp_path / "matr.yaml").write_text(yaml.safe_dump(override))
    proc = snakemake(wd, "-n", "--configfile", "tests/config_tiny.yaml", str(tmp_path / "matr.yaml"))
    counts = job_counts(proc.stdout + proc.stderr)
    assert counts["download_matr"] == 3 and counts["prepare_data"] == 1
    assert "2017-05-12_batchdata_updated_struct_errorcorrect.mat" in proc.stdout


def test_html_report_has_every_section(tiny_run):
    wd, _ = tiny_run
    snakemake(wd, "--configfile", "tests/config_tiny.yaml", "--report", "results/report.html")
    html = (wd / "results/report.html").read_text(errors="replace")
    for section in ("Metrics", "Pareto", "Predictions", "Training", "Firmware", "Time per stage"):
        assert section in html, section
    for p in PROTOCOLS:
        summary = (wd / "results" / p / "summary.md").read_text()
        selected = json.loads((wd / "results" / p / "pareto/selected.json").read_text())
        assert "[published]" in summary and "native C core" in summary
        assert ("(int8, TFLite Micro)" in summary) == (selected["kind"] == "liquid")
        assert "On the microcontroller" in summary and "simulated reruns" in summary
        assert ("[peer: absent, fetch it with: snakemake --cores 1 data/peers/dlnet_paper.tflite]"
                in summary) == p.startswith("paper")
        assert "ridge (alpha=" in summary and "knn (components=" in summary


def test_the_summary_shows_what_the_selection_read_and_what_was_deployed(tiny_run):
    """The summary's selection table is select's pool, the selected row the one selected.json
    names, with its mean int8 validation MAE and within the noise; the deployed rows carry the
    deployed seed's own parameters and MACs (quantize's size.json), not the candidate's."""
    wd, _ = tiny_run
    several = 0
    for p in PROTOCOLS:
        r = wd / "results" / p
        selected = json.loads((r / "pareto/selected.json").read_text())
        pool = pd.read_csv(r / "pareto/pareto.csv")
        shown = pd.read_csv(r / "report/finalists.csv")
        assert len(shown) == len(pool) and shown["model"].str.endswith(" (selected)").sum() == 1
        row = shown[shown["model"] == selected["name"] + " (selected)"].iloc[0]
        assert row["val_mae_int8"] == pytest.approx(selected["val_mae_mean"])
        assert row["within_noise"] == "yes" and pd.isna(row["beaten_by"])
        text = (r / "summary.md").read_text()
        assert "## The selection" in text
        cells = selected["stability"]["cells"]
        val_cells = json.loads((r / "data/dataset.json").read_text())["splits"]["val"]["cells"]
        assert cells["cells"] == len(set(val_cells))
        assert cells["draws"] == selected["stability"]["draws"]
        if cells["cells"] > 1:
            assert f"the choice holds in {cells['held']:.0%} of the draws" in text
            several += 1
        else:
            assert cells["held"] == 1.0 and "Validation is one cell" in text
        val = json.loads((r / "data/dataset.json").read_text())["splits"]["val"]
        assert f"{val['windows']:,} from {len(val['cells'])} cells, reaching {val['reach']:,} values" in text
        # the protocol as configured (the tiny segments file), not as the shipped config has it
        splits = json.loads((r / "data/dataset.json").read_text())["splits"]
        assert (f"plus {splits['segments']['windows']} fixed segments (tests/data/segments_tiny.json)"
                if p.startswith("paper") else "every window of the Prim. Test (test) cells and "
                "the Sec. test (test2) cells is scored") in text
        if selected["kind"] == "liquid":                # the TFLite file says what it holds
            assert "int8 weights (per tensor, rounded by GPTQ)" in (r / "deploy/model_tflite.h").read_text()
        size = json.loads((r / "deploy/size.json").read_text())
        table = pd.read_csv(r / "report/main_table.csv")
        deployed = table[table["stage"] == "deployed"]
        assert (deployed["params"] == size["params"]).all() and (deployed["macs"] == size["macs"]).all()
        if selected["kind"] == "liquid":
            assert (selected["deployed_params"], selected["deployed_macs"]) == \
                (size["params"], size["macs"])
    assert several, "no protocol of the tiny run validates on more than one cell"


def test_the_deployed_model_meets_the_quadratic_baseline_with_intervals_over_cells(tiny_run):
    """against_baseline's point numbers are quantize's int8 MAE and the baselines rule's float
    quadratic MAE of every held-out split; each interval holds its number; the summary shows
    them."""
    wd, _ = tiny_run
    for p in PROTOCOLS:
        r = wd / "results" / p
        against = json.loads((r / "report/against_baseline.json").read_text())
        int8 = json.loads((r / "deploy/int8_metrics.json").read_text())["int8"]
        quadratic = json.loads((r / "baselines/metrics.json").read_text())["float"]["quadratic"]
        cells = json.loads((r / "data/dataset.json").read_text())["splits"]
        scored = ["val", "test", "segments"] if p.startswith("paper") else ["val", "test", "test2"]
        assert sorted(against["splits"]) == sorted(scored)
        assert against["baseline"]["fit_len"] == quadratic["fit_len"] and against["seed"] == 42
        for s in scored:
            a = against["splits"][s]
            assert a["mae"] == pytest.approx(int8[s]["mae"], rel=1e-9)
            assert a["baseline_mae"] == pytest.approx(quadratic[s]["mae"], rel=1e-9)
            assert a["ratio"] == pytest.approx(a["mae"] / a["baseline_mae"], rel=1e-9)
            assert a["cells"] == len(set(cells[s]["cells"])) and a["windows"] == int8[s]["n_windows"]
            for key, value in (("mae_interval", a["mae"]), ("ratio_interval", a["ratio"]),
                               ("baseline_mae_interval", a["baseline_mae"])):
                lo, hi = a[key]
                assert lo <= value <= hi, (p, s, key)
        text = (r / "summary.md").read_text()
        assert "## Against the quadratic baseline" in text
        shown = pd.read_csv(r / "report/against_baseline.csv")
        assert list(shown["split"]) == list(against["splits"])


def test_time_per_stage_counts_every_training_job(tiny_run):
    """The summary's time per stage holds a row per stage that ran, and as many training jobs
    as the run's training logs say ran: no job is left out, none counted twice."""
    wd, _ = tiny_run
    for p in PROTOCOLS:
        r = wd / "results" / p
        times = pd.read_csv(r / "report/time_per_stage.csv").set_index("stage")
        for stage in ("data", "baselines", "teacher", "students", "pruning and recovery",
                      "selection", "deploy", "firmware"):
            assert times.loc[stage, "jobs"] >= 1 and times.loc[stage, "job_seconds"] > 0, (p, stage)
        front = pd.read_csv(r / "students/front1.csv")
        assert times.loc["students", "jobs"] == len(front)
        assert times.loc["pruning and recovery", "jobs"] == front["prune"].sum()
        seed_jobs = len(list((r / "seeds").rglob("*benchmark.tsv")))
        assert (times.loc["seed reruns", "jobs"] if seed_jobs else 0) == seed_jobs
        assert abs(times["share"].sum() - 1) < 0.01
        assert "## Time per stage" in (r / "summary.md").read_text()


def test_core_scaling_replays_the_runs_jobs(tiny_run):
    """benchmarks/core_scaling.py reads the run's log: every training job with its benchmark,
    the seed reruns waiting for their protocol's pareto checkpoint; one core replays the sum of
    the job seconds, and no number of cores beats the longest chain."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import core_scaling

    wd, _ = tiny_run
    log = sorted((wd / ".snakemake/log").glob("*.snakemake.log"))[0]  # the tiny run's own
    jobs = core_scaling.parse(log)
    logged = {job["benchmark"] for job in jobs.values()}
    stacked = []
    for p in PROTOCOLS:
        trained = [f.relative_to(wd).as_posix() for sub in ("students", "seeds")
                   for f in (wd / "results" / p / sub).rglob("*benchmark.tsv")]
        assert trained and set(trained) <= logged, p
        stacked += [f for f in trained if "/seeds/logs/student_" in f]
    assert stacked, "the seed jobs' benchmarks (seeds/logs/) are in the log"
    needs = core_scaling.dependencies(jobs)
    seed_jobs = [j for j, job in jobs.items() if job["rule"] == "student_seeds"]
    assert seed_jobs
    for j in seed_jobs:
        gates = [jobs[d] for d in needs[j] if jobs[d]["rule"] == "pareto"]
        assert [core_scaling.protocol(g) for g in gates] == [core_scaling.protocol(jobs[j])]
    cost = {j: core_scaling.seconds(job, wd) for j, job in jobs.items()}
    tail, _ = core_scaling.chains(jobs, needs, cost)
    total, chain = sum(cost.values()), max(tail.values())
    assert 0 < chain < total
    assert core_scaling.replay(needs, cost, tail, 1) == pytest.approx(total)
    assert chain <= core_scaling.replay(needs, cost, tail, 2) < total
    assert core_scaling.replay(needs, cost, tail, len(jobs)) == pytest.approx(chain)


def test_a_protocols_training_section_reaches_every_training_rule(tiny_run):
    """`protocols.<name>.training` reaches the teacher, each student and each recovery: their
    logs give the first epoch's learning rate, the protocol's where it sets one (cells: 4x the
    paper's, with 4x its batch, which the logs do not record), the paper's otherwise."""
    wd, _ = tiny_run
    config = yaml.safe_load((wd / "config.yaml").read_text())
    for p in PROTOCOLS:
        want = {**config["training"], **config["protocols"][p].get("training", {})}["lr"]
        r = wd / "results" / p
        logs = [r / "teacher/train_log.csv", *(r / "students").glob("*/train_log.csv"),
                *(r / "recovered").glob("*/train_log.csv")]
        assert len(logs) >= 3, p
        for log in logs:
            assert abs(pd.read_csv(log)["lr"].iloc[0] - want) < 1e-12, (p, log)
    assert config["protocols"]["cells"]["training"]["lr"] != config["training"]["lr"]
    assert "training" not in config["protocols"]["paper"]


def test_deployed_model_is_bit_exact_everywhere(tiny_run):
    wd, _ = tiny_run
    for p in PROTOCOLS:
        verify = json.loads((wd / "results" / p / "deploy/verify.json").read_text())
        m4 = json.loads((wd / "results" / p / "firmware/m4_report.json").read_text())
        assert m4["all_bit_exact"] and m4["windows_compared"] > 0
        assert m4["instructions_per_inference"]["max"] > 0
        deploy = json.loads((wd / "results" / p / "deploy/metrics.json").read_text())
        liquid = json.loads((wd / "results" / p / "pareto/selected.json").read_text())["kind"] == "liquid"
        assert set(deploy) >= {"float", "int8"} and ("tflite" in deploy) == liquid
        assert verify["summary"]["all_exact"] is True


def test_cleaning_rules_do_not_touch_the_paper_protocol(tiny_run, tmp_path):
    """The DLNet series are not cleaned, so editing the cleaning reruns only `cells`."""
    wd, _ = tiny_run
    changed = yaml.safe_load((wd / "tests/config_tiny.yaml").read_text())
    changed["cleaning"] = {"max_soh": 1.09, "median_window": 10, "max_jump_soh": 0.036,
                          "max_cycle_gap": 10}
    (tmp_path / "cleaning.yaml").write_text(yaml.safe_dump(changed, sort_keys=False))
    proc = snakemake(wd, "-n", "--configfile", str(tmp_path / "cleaning.yaml"))
    counts = job_counts(proc.stdout + proc.stderr)
    assert counts["prepare_data"] == 1 and counts["teacher"] == 1
    assert "results/paper/" not in proc.stdout.split("Job stats")[0]


HELD_OUT = ("test", "test2", "segments")


def scrambled(obj, rng, held_out=False):
    """obj with every number under a held-out split's key replaced by a random one."""
    if isinstance(obj, dict):
        return {k: scrambled(v, rng, held_out or k in HELD_OUT) for k, v in obj.items()}
    if isinstance(obj, list):
        return [scrambled(v, rng, held_out) for v in obj]
    if held_out and isinstance(obj, float):
        return float(rng.uniform(0, 1))
    return obj


def test_selection_reads_no_test_column(tiny_run, tmp_path, monkeypatch):
    """The front1, pareto and select rules again on the tiny run's models, once as they are and
    once with every test and segments number in their inputs replaced, and the test windows too:
    the fronts, the finalists and selected.json come out the same, for a protocol that chooses
    among networks and one where baselines compete."""

    from dlnet import protocols
    from dlnet.firmware import core_files
    from dlnet.run import front1, latency, latency_seeds, pareto, select

    wd, _ = tiny_run
    config = yaml.safe_load((wd / "config.yaml").read_text())
    tiny = yaml.safe_load((wd / "tests/config_tiny.yaml").read_text())
    quantization = {k: v for k, v in config["deploy"].items()
                    if k not in ("verify", "int8_tolerance")}
    folders = {"teacher": "teacher", "student": "students/{}", "recovered": "recovered/{}"}
    rng = np.random.default_rng(0)
    held_out_columns = [f"{s}_mae" for s in HELD_OUT]
    for p in ("paper", "paper_residual"):
        r = f"results/{p}"
        pcfg = config["protocols"][p]
        students = sorted(q.parent.name for q in (wd / r / "students").glob("*/model.pt"))
        recovered = sorted(q.parent.name for q in (wd / r / "recovered").glob("*/model.pt"))
        trees = dict(
            baselines=f"{r}/baselines/metrics.json", learned=f"{r}/baselines/learned.json",
            ridge=f"{r}/baselines/ridge.npz", teacher_model=f"{r}/teacher/model.pt",
            teacher_metrics=f"{r}/teacher/metrics.json",
            student_models=[f"{r}/students/{n}/model.pt" for n in students],
            student_metrics=[f"{r}/students/{n}/metrics.json" for n in students],
            recovered_models=[f"{r}/recovered/{n}/model.pt" for n in recovered],
            recovered_metrics=[f"{r}/recovered/{n}/metrics.json" for n in recovered])
        out = {}
        for variant in ("same", "scrambled"):
            # the run's tree under the same relative paths (tables hold them): metrics files
            # copied (scrambled or not), everything else linked
            d = tmp_path / p / variant
            monkeypatch.chdir(wd)
            for path in Path(r).rglob("*"):
                if path.is_file() and "pareto" not in path.parts:
                    (d / path).parent.mkdir(parents=True, exist_ok=True)
                    if path.suffix == ".json":
                        m = json.loads(path.read_text())
                        (d / path).write_text(json.dumps(scrambled(m, rng) if variant ==
                                                         "scrambled" else m))
                    else:
                        (d / path).symlink_to(wd / path)
            monkeypatch.chdir(d)
            splits = protocols.load(f"{r}/data/dataset.npz")
            if variant == "scrambled":
                for s in ("test", "segments"):
                    w = splits[s]
                    splits[s] = type(w)(w.x[::-1], w.y[::-1] + 0.01, w.cell, w.start)
            protocols.save("dataset.npz", splits)
            limit = pcfg["candidates"].get("max_latency_ms")
            timing = SimpleNamespace(
                protocol={"input_len": pcfg["input_len"], "output_len": pcfg["output_len"],
                          "candidates": {k: v for k, v in pcfg["candidates"].items()
                                         if k != "max_latency_ms"}},
                windows=8, seed=config["seed"], quantization=quantization,
                firmware={k: config["firmware"][k] for k in ("optimize", "qemu_timeout")})
            firmware_files = {"core": [str(ROOT / f) for f in core_files.rule_inputs()],
                              "m4": [str(ROOT / "firmware/m4/main.c")]}
            if limit:
                latency.run(SimpleNamespace(**trees, dataset="dataset.npz",
                                            info=f"{r}/data/dataset.json", **firmware_files),
                            SimpleNamespace(latency="latency.csv"), timing, "latency.log")
            front1.run(SimpleNamespace(metrics=[f"{r}/students/{n}/metrics.json" for n in students],
                                       models=[f"{r}/students/{n}/model.pt" for n in students]),
                       SimpleNamespace(front="front1.csv"),
                       SimpleNamespace(objectives=config["pareto"]["objectives"],
                                       front1_ranks=config["pareto"]["front1_ranks"]),
                       "front1.log")
            front_latency = {"latency": "latency.csv"} if limit else {}
            pareto.run(SimpleNamespace(**trees, **front_latency),
                SimpleNamespace(candidates="candidates.csv"),
                SimpleNamespace(name=p, objectives=config["pareto"]["objectives"],
                                finalists=tiny["pareto"]["finalists"],
                                finalist_band=config["pareto"]["finalist_band"],
                                cost=config["pareto"]["select"]["cost"],
                                protocol={k: pcfg[k] for k in ("input_len", "output_len",
                                                               "candidates")}),
                "pareto.log")
            cands = pd.read_csv("candidates.csv")
            finalists = cands.loc[cands["finalist"], ["name", "stage", "model"]].to_numpy()
            seed_dirs = [f"{r}/seeds/s{seed}/" + folders[stage].format(name)
                         for name, stage, _ in finalists for seed in (43, 44)]
            seed_files = {"seed_metrics": [f"{f}/metrics.json" for f in seed_dirs],
                          "seed_models": [f"{f}/model.pt" for f in seed_dirs]}
            choice_latency = {}
            if limit:
                latency_seeds.run(SimpleNamespace(**seed_files, dataset="dataset.npz",
                                                  info=f"{r}/data/dataset.json", **firmware_files),
                                  SimpleNamespace(latency="latency_seeds.csv"), timing,
                                  "latency_seeds.log")
                choice_latency = {"latency": "latency.csv", "latency_seeds": "latency_seeds.csv"}
            select.run(SimpleNamespace(
                candidates="candidates.csv", dataset="dataset.npz", info=f"{r}/data/dataset.json",
                ridge=f"{r}/baselines/ridge.npz", finalists=[m for *_, m in finalists],
                **seed_files, **choice_latency),
                SimpleNamespace(selected="selected.json", pareto="pareto.csv", seeds="seeds.csv",
                                plot="pareto.png"),
                SimpleNamespace(name=p, select=config["pareto"]["select"],
                                objectives=config["pareto"]["objectives"],
                                runs=tiny["pareto"]["seeds"], seed=config["seed"],
                                stability_draws=tiny["pareto"]["stability_draws"],
                                quantization=quantization,
                                max_int8_bytes=pcfg["candidates"].get("max_int8_bytes"),
                                max_latency_ms=limit,
                                int8_tolerance=config["deploy"]["int8_tolerance"]),
                "select.log")
            out[variant] = {t: pd.read_csv(t) for t in ("front1.csv", "candidates.csv")}
            out[variant]["selected"] = Path("selected.json").read_bytes()
            if limit:     # the timings too: validation windows only
                out[variant]["latency"] = Path("latency.csv").read_bytes()
                assert out[variant]["latency"] == (wd / r / "pareto/latency.csv").read_bytes()
        for t in ("front1.csv", "candidates.csv"):
            same, other = out["same"][t], out["scrambled"][t]
            assert not same[held_out_columns[::2]].equals(other[held_out_columns[::2]])
            pd.testing.assert_frame_equal(same.drop(columns=held_out_columns, errors="ignore"),
                                          other.drop(columns=held_out_columns, errors="ignore"),
                                          obj=f"{p} {t}")
        assert out["same"]["selected"] == out["scrambled"]["selected"], p
        assert out["same"]["selected"] == (wd / r / "pareto/selected.json").read_bytes(), p


def test_a_peer_is_scored_once_its_file_is_there(tiny_run, exported, tmp_path):
    """Offline, the peer's row says how to fetch it; given the file (here a TFLite model the
    tests build), the same target is rerun and scored in TFLite Micro."""
    wd, _ = tiny_run
    target = "results/paper/peers/dlnet_paper/metrics.json"
    before = json.loads((wd / target).read_text())
    assert before["status"] == "absent"
    *_, path, data = exported
    (tmp_path / "peer.yaml").write_text(yaml.safe_dump({"peers": {"dlnet_paper": {"file": str(path)}}}))
    proc = snakemake(wd, target, "--cores", "1", "--configfile", "tests/config_tiny.yaml",
                     str(tmp_path / "peer.yaml"))
    after = json.loads((wd / target).read_text())
    assert after["status"] == "scored" and after["flatbuffer_bytes"] == len(data)
    assert after["sha256_matches_pin"] is False       # not the paper's file: said, not hidden
    assert set(after["scalings"]) == {"firmware", "protocol"}
    assert "score_peer" in proc.stdout + proc.stderr


def comparable(path):
    """A metrics file without what may differ between two runs of the same computation: times,
    and the machine's description."""
    def strip(obj):
        if isinstance(obj, dict):
            return {k: strip(v) for k, v in obj.items()
                    if not k.endswith("seconds") and k not in ("versions", "cpu_capability")}
        if isinstance(obj, list):
            return [strip(v) for v in obj]
        return obj
    return strip(json.loads(Path(path).read_text()))


def test_other_vector_kernels_give_the_same_numbers(tiny_run, tmp_path):
    """Another x86-64 machine with the same package versions (constraints.txt) would pick other
    kernels: MKL's AUTO branch, PyTorch's AVX-512 kernels, OpenBLAS's SkylakeX ones (the pins of
    dlnet/numerics.py override these), and NumPy's own loops without AVX-512 (not pinned: they
    must not matter). The tiny workflow again in that environment trains, selects and quantizes
    the same numbers, bit for bit, and every metrics file records the pinned kernels."""
    wd, _ = tiny_run
    other = copy_workflow(tmp_path / "wf")
    snakemake(other, "--cores", "2", "--configfile", "tests/config_tiny.yaml",
              env={"MKL_CBWR": "AUTO", "ATEN_CPU_CAPABILITY": "avx512",
                   "OPENBLAS_CORETYPE": "SkylakeX", "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL"})
    metrics = json.loads((other / "results/cells/students/h3-tiny/metrics.json").read_text())
    assert metrics["versions"]["numerics"] == {"pinned": True, "mkl_branch": "COMPATIBLE",
                                               "aten": "AVX2", "openblas": "Haswell"}
    checked = 0
    for path in sorted((wd / "results").rglob("*.json")):
        rel = path.relative_to(wd)
        if "peers" in rel.parts:
            continue    # another test may have given the peer its file
        assert comparable(other / rel) == comparable(path), rel
        checked += 1
    assert checked > 50
    for p in PROTOCOLS:
        assert (other / "results" / p / "pareto/selected.json").read_bytes() == \
            (wd / "results" / p / "pareto/selected.json").read_bytes()
        assert (other / "results" / p / "deploy/dlnet_model.h").read_bytes() == \
            (wd / "results" / p / "deploy/dlnet_model.h").read_bytes()


def test_a_run_killed_in_training_leaves_nothing_a_rerun_trusts(tmp_path):
    """SIGKILL to Snakemake and its jobs while the teacher trains: no output of the killed job
    exists (outputs are written to a temporary file, then renamed), what does exist is whole,
    the next run says to unlock the folder (Snakemake could not), and after `--unlock` it redoes
    the killed job and completes."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import torch

    wd = copy_workflow(tmp_path / "wf")
    (wd / "kill.yaml").write_text(yaml.safe_dump({
        "protocols": {"paper": {"enabled": False}, "paper_residual": {"enabled": False}},
        "training": {"epochs": 40}}))
    args = ["--configfile", "tests/config_tiny.yaml", "kill.yaml"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", "1", *args], cwd=wd,
                            env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    teacher = wd / "results/cells/teacher"
    deadline = time.monotonic() + 300
    while not ((teacher / "train.log").exists() and "epoch    2/" in (teacher / "train.log").read_text()):
        assert proc.poll() is None and time.monotonic() < deadline, "the teacher never trained"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    for name in ("model.pt", "metrics.json", "train_log.csv"):
        assert not (teacher / name).exists(), name
    for path in (wd / "results").rglob("*"):
        if path.name.startswith(".") and path.name.endswith(".tmp"):
            continue                                  # the killed write's temporary file
        if path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix == ".pt":
            torch.load(path, weights_only=False)
        elif path.name.endswith(".csv"):
            pd.read_csv(path)
        elif path.suffix == ".npz":
            np.load(path)
    dry = snakemake(wd, "-n", *args).stdout
    assert "rule teacher:" in dry or "localrule teacher:" in dry
    locked = snakemake(wd, "--cores", "2", *args, check=False)
    assert locked.returncode != 0 and "--unlock" in locked.stdout + locked.stderr
    snakemake(wd, "--unlock", *args)
    snakemake(wd, "--cores", "2", *args)
    assert (teacher / "model.pt").exists()
    again = snakemake(wd, "-n", *args)
    assert "Nothing to be done" in again.stdout + again.stderr


def test_signals_reach_the_deployed_model_and_the_ablation_is_reported(tiny_run):
    """Protocols with signals store them beside the windows, their liquid networks read them
    and so does the deployed int8 model; the ablation runs one job per group and its table
    reaches the summary and the time per stage."""
    wd, _ = tiny_run
    config = yaml.safe_load((wd / "config.yaml").read_text())
    tiny = yaml.safe_load((wd / "tests/config_tiny.yaml").read_text())
    for p in PROTOCOLS:
        r = wd / "results" / p
        names = tiny["protocols"][p].get("signals", config["protocols"][p].get("signals", []))
        with np.load(r / "data/dataset.npz") as z:
            assert z["train_s"].shape == (len(z["train_x"]), len(names))
        teacher = torch.load(r / "teacher/model.pt", weights_only=False)
        assert teacher["config"]["signals"] == len(names)
        selected = json.loads((r / "pareto/selected.json").read_text())
        header = (r / "deploy/dlnet_model.h").read_text()
        reads = len(names) if selected["kind"] in ("liquid", "linear") else 0
        assert f"#define DLNET_N_SIGNALS {reads}" in header
        summary = (r / "summary.md").read_text()
        assert "## Signals beside the SOH window" in summary
        ablation = config["protocols"][p].get("ablation", False)
        times = pd.read_csv(r / "report/time_per_stage.csv").set_index("stage")
        table = pd.read_csv(r / "report/signals_ablation.csv")
        if ablation:
            assert table["group"].tolist() == ["soh", *config["ablation"]["signals"]]
            assert (table["val_mae"] > 0).all() and table["val_change"].iloc[0] == 0
            assert times.loc["signals ablation", "jobs"] == len(table)
            assert "`ablation.min_gain`" in summary
        else:
            assert table.empty and "signals ablation" not in times.index
