#!/usr/bin/env python3
"""Job status for Snakemake's cluster-generic executor on Slurm.

Usage: status.py JOBID   (JOBID as printed by `sbatch --parsable`: "123" or "123;cluster")
Prints exactly one of: running, success, failed.

Asks squeue first (works without accounting), then scontrol, then sacct (needs slurmdbd).
A job none of them knows any more ended more than MinJobAge seconds ago on a cluster without
accounting; it is reported as success and Snakemake then checks that its outputs exist.
A failing query (controller busy or restarting) is reported as running, to ask again later.
"""

import shutil
import subprocess
import sys

RUNNING = {"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED",
           "REQUEUE_FED", "REQUEUE_HOLD", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED",
           "RESV_DEL_HOLD", "SPECIAL_EXIT"}
SUCCESS = {"COMPLETED"}
FAILED = {"FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL",
          "DEADLINE", "PREEMPTED", "REVOKED"}


def query(cmd):
    """(returncode, stdout, stderr) of a Slurm command; rc 127 if it is not installed."""
    if shutil.which(cmd[0]) is None:
        return 127, "", f"{cmd[0]} not found"
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return 124, "", "timeout"
    return p.returncode, p.stdout.strip(), p.stderr.strip()


def classify(state):
    state = state.split()[0].rstrip("+") if state else ""  # "CANCELLED by 0", "FAILED+"
    if state in SUCCESS:
        return "success"
    if state in FAILED:
        return "failed"
    if state in RUNNING:
        return "running"
    return None


def status(jobid):
    transient = False
    rc, out, err = query(["squeue", "-h", "--states=all", "-j", jobid, "-o", "%T"])
    if rc == 0 and out:
        return classify(out.splitlines()[0]) or "running"
    transient |= rc not in (0, 127) and "Invalid job id" not in err

    rc, out, err = query(["scontrol", "-o", "show", "job", jobid])
    if rc == 0 and "JobState=" in out:
        return classify(out.split("JobState=", 1)[1]) or "running"
    transient |= rc not in (0, 127) and "Invalid job id" not in err

    rc, out, _ = query(["sacct", "-n", "-X", "-P", "-j", jobid, "-o", "State"])
    if rc == 0 and out:
        return classify(out.splitlines()[-1]) or "running"

    if transient:
        return "running"
    print(f"status.py: Slurm job {jobid} is unknown to squeue, scontrol and sacct; "
          "assuming it finished (Snakemake checks its outputs)", file=sys.stderr)
    return "success"


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: status.py JOBID")
    print(status(sys.argv[1].split(";")[0].strip()))
