"""The workflow on a real single-node Slurm, through profiles/slurm.

Needs root, the Debian packages slurm-wlm and munge, and snakemake-executor-plugin-slurm
(pip install -e '.[slurm]'); skipped otherwise. Select or deselect with `-m slurm` /
`-m "not slurm"`. The fixture (tests/slurm_cluster.py) starts munged, slurmctld and slurmd
once for this module and stops them by PID afterwards.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import copy_workflow
from slurm_cluster import PARTITION, slurm_cluster  # noqa: F401  (fixture)

pytestmark = pytest.mark.slurm

REPO = Path(__file__).resolve().parents[1]
# Faster status polling than the profile's 20 s for these short jobs (the fixture's
# MinJobAge=300 keeps squeue's answer valid; the plugin adds 10 s to the interval after every
# check in which no job finished), and keep the Slurm logs of successful jobs as evidence.
SLURM_ARGS = ["--profile", "profiles/slurm", "--seconds-between-status-checks", "3",
              "--slurm-init-seconds-before-status-checks", "5", "--slurm-keep-successful-logs"]
TIMEOUT = 900

SUBMITTED = re.compile(r"Job \d+ has been submitted with SLURM jobid (\d+) \(log: (.+?)\)\.")
RUN_ID = re.compile(r"SLURM run ID: (\S+)")
REMOTE_JOB = re.compile(r"^(rule|checkpoint) [\w-]+:$", re.M)  # local ones: localrule ...


def snakemake(cluster, workdir: Path, *args: str, timeout: float = TIMEOUT):
    """Run Snakemake in workdir with the cluster's environment; return (result, seconds)."""
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=workdir,
                            env=cluster.env, capture_output=True, text=True, timeout=timeout)
    return result, time.monotonic() - start


def main_log(workdir: Path) -> str:
    logs = sorted((workdir / ".snakemake" / "log").glob("*.snakemake.log"))
    assert logs, "Snakemake wrote no log"
    return logs[-1].read_text()


def assert_ok(result, cluster) -> None:
    assert result.returncode == 0, (
        f"snakemake exited with {result.returncode}\n--- stderr (tail) ---\n"
        + "\n".join(result.stderr.splitlines()[-80:]) + "\n" + cluster.diagnostics())


def slurm_evidence(cluster, workdir: Path, log: str) -> dict[str, str]:
    """Check that each job Snakemake submitted is a real Slurm job; return id -> state."""
    submitted = dict(SUBMITTED.findall(log))  # slurm id -> per-job log
    assert submitted, "no job was submitted to Slurm"
    run_ids = set(RUN_ID.findall(log))
    assert len(run_ids) == 1, run_ids
    known = cluster.completed()  # the job completion record: every job that ended
    ctld = cluster.log("slurmctld").read_text()
    states = {}
    for jid, job_log in submitted.items():
        assert jid in known, f"Slurm job {jid} not in the job completion record: {known}"
        name, states[jid] = known[jid]
        assert name in run_ids, f"Slurm job {jid} is named {name}, not the run ID {run_ids}"
        assert re.search(rf"(Allocate|Started) JobId={jid} (NodeList=|in {PARTITION} on )"
                         rf"localhost", ctld), f"slurmctld did not log starting job {jid}"
        assert re.search(rf"_job_complete: JobId={jid} WEXITSTATUS \d+", ctld)
        assert Path(job_log).is_file(), f"per-job Slurm log {job_log} missing"
        assert Path(job_log).is_relative_to(workdir / ".snakemake" / "slurm_logs")
    return states


def test_tiny_workflow_through_slurm(slurm_cluster, tmp_path, capsys, record_property):
    wf = copy_workflow(tmp_path / "wf")
    # two protocols are enough to show the cluster path (checkpoints, seeds, firmware)
    (wf / "two_protocols.yaml").write_text("protocols: {paper_residual: {enabled: false}}\n")
    config = ["--configfile", "tests/config_tiny.yaml", "two_protocols.yaml"]
    result, seconds = snakemake(slurm_cluster, wf, *SLURM_ARGS, *config)
    assert_ok(result, slurm_cluster)
    record_property("slurm_wall_seconds", round(seconds, 1))

    log = main_log(wf)
    states = slurm_evidence(slurm_cluster, wf, log)
    assert set(states.values()) == {"COMPLETED"}, states
    # Every job that was not a local rule went through Slurm, once (no retries needed).
    assert len(REMOTE_JOB.findall(log)) == len(states), "a non-local job did not go through Slurm"
    assert "Trying to restart job" not in log

    # The default target is complete: a dry run finds nothing to do.
    dry, _ = snakemake(slurm_cluster, wf, "-n", *config, timeout=300)
    assert dry.returncode == 0, dry.stderr[-3000:]
    assert "Nothing to be done" in dry.stdout + dry.stderr, (dry.stdout + dry.stderr)[-3000:]

    with capsys.disabled():
        print(f"\n[slurm] tiny config through Slurm: {seconds:.1f} s wall, "
              f"{len(states)} Slurm jobs (ids {min(states, key=int)}-{max(states, key=int)})")


def run_retry_workflow(cluster, tmp_path, *args: str):
    """Run tests/data/retry (fails on attempt 1) and check attempts.txt; return
    (workdir, main log, [slurm id of attempt 1, slurm id of attempt 2])."""
    wf = tmp_path / "retry"
    shutil.copytree(REPO / "tests" / "data" / "retry", wf)
    shutil.copytree(REPO / "profiles", wf / "profiles")
    result, _ = snakemake(cluster, wf, *args, timeout=300)
    assert_ok(result, cluster)
    assert (wf / "flaky.done").read_text().strip() == "done"

    # Exactly two attempts, each in its own Slurm job.
    lines = (wf / "attempts.txt").read_text().splitlines()
    attempts = [dict(kv.split("=") for kv in line.split()) for line in lines if line]
    assert [a["attempt"] for a in attempts] == ["1", "2"], attempts
    ids = [a["slurm_job_id"] for a in attempts]
    assert ids[0] != ids[1] and "none" not in ids, attempts

    log = main_log(wf)
    assert log.count("Trying to restart job") == 1
    ctld = cluster.log("slurmctld").read_text()
    assert f"_job_complete: JobId={ids[0]} WEXITSTATUS 1" in ctld
    assert f"_job_complete: JobId={ids[1]} WEXITSTATUS 0" in ctld
    return wf, log, ids


def test_failed_job_is_retried_through_slurm(slurm_cluster, tmp_path):
    wf, log, (first, second) = run_retry_workflow(slurm_cluster, tmp_path, *SLURM_ARGS)
    states = slurm_evidence(slurm_cluster, wf, log)
    assert states == {first: "FAILED", second: "COMPLETED"}, states


def test_generic_profile_through_slurm(slurm_cluster, tmp_path):
    """The cluster-generic fallback (sbatch + status.py) on the same retry workflow."""
    pytest.importorskip("snakemake_executor_plugin_cluster_generic",
                        reason="pip install snakemake-executor-plugin-cluster-generic")
    wf, log, (first, second) = run_retry_workflow(
        slurm_cluster, tmp_path, "--profile", "profiles/slurm-generic",
        "--seconds-between-status-checks", "3")
    submitted = re.findall(r"Submitted job \d+ with external jobid '(\d+)", log)
    assert submitted == [first, second], submitted
    jobs = slurm_cluster.completed()
    assert jobs[first] == ("smk-flaky", "FAILED") and jobs[second] == ("smk-flaky", "COMPLETED")
    for jid in (first, second):
        assert (wf / ".snakemake" / "slurm-generic-logs" / "flaky" / f"{jid}.log").is_file()
