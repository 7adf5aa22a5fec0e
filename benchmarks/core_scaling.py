"""How a finished run's wall time would scale with --cores: its jobs replayed on n cores.

    python benchmarks/core_scaling.py [--log .snakemake/log/<run>.snakemake.log]
                                      [--cores 1 2 4 8 16]

Reads a finished run's Snakemake log (the newest one by default): every job, its input and
output files (which job waits for which; a job that a checkpoint creates waits for that
checkpoint too) and its seconds, from the job's benchmark.tsv where the
rule has one, else from the log's timestamps (one-second steps). Prints the job seconds, the
longest chain of dependent jobs (no number of cores runs the workflow faster), the jobs on that
chain, and for each n the wall time of the jobs replayed on n cores, one thread each, the job
whose chain to the end is longest started first. The replay assumes a job takes as long as it
did in the run; on n cores of the same speed it does (every training job runs one thread), and
the replay for the run's own core count can be checked against its measured wall time.
"""

import argparse
import heapq
import re
from datetime import datetime
from pathlib import Path

import pandas as pd

JOB = re.compile(r"^(?:local)?(?:rule|checkpoint) (\w+):$")
STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")
FINISHED = re.compile(r"^Finished jobid: (\d+)")
# Jobs that exist only once a checkpoint of their protocol has run (rules/common.smk:
# pruned_students reads front1, finalist_seed_files reads pareto): no input file says so.
CREATED_BY = {"prune_recover": "front1", "student_seeds": "pareto", "teacher_seed": "pareto",
              "prune_recover_seeds": "pareto"}


def parse(log):
    """{jobid: {rule, input, output, benchmark, start, end}} of every job the log ran."""
    jobs, current, stamp = {}, None, None
    for line in Path(log).read_text().splitlines():
        if m := STAMP.match(line):
            stamp = datetime.strptime(m.group(1), "%a %b %d %H:%M:%S %Y")
        elif m := JOB.match(line):
            current = {"rule": m.group(1), "input": [], "output": [], "benchmark": None,
                       "start": stamp, "end": None}
        elif current is not None and line.startswith("    ") and ": " in line:
            key, value = line.strip().split(": ", 1)
            if key in ("input", "output"):
                current[key] = [v.strip() for v in value.split(",") if v.strip()]
            elif key == "benchmark":
                current["benchmark"] = value.strip()
            elif key == "jobid":
                jobs[int(value)] = current
        elif (m := FINISHED.match(line)) and int(m.group(1)) in jobs:
            jobs[int(m.group(1))]["end"] = stamp
    return jobs


def seconds(job, root):
    bench = job["benchmark"] and root / job["benchmark"]
    if bench and bench.exists():
        return float(pd.read_csv(bench, sep="\t")["s"].iloc[0])
    if job["end"] is None:
        return 0.0
    return (job["end"] - job["start"]).total_seconds()


def protocol(job):
    return job["output"][0].split("/")[1] if job["output"] else None


def dependencies(jobs):
    made_by = {f: j for j, job in jobs.items() for f in job["output"]}
    checkpoints = {(job["rule"], protocol(job)): j for j, job in jobs.items()}
    needs = {}
    for j, job in jobs.items():
        deps = {made_by[f] for f in job["input"] if f in made_by}
        gate = checkpoints.get((CREATED_BY.get(job["rule"]), protocol(job)))
        needs[j] = sorted((deps | ({gate} if gate is not None else set())) - {j})
    return needs


def dependents(needs):
    needed_by = {j: [] for j in needs}
    for j, deps in needs.items():
        for d in deps:
            needed_by[d].append(j)
    return needed_by


def chains(jobs, needs, cost):
    """Each job's longest chain of seconds from its start to the end of the run, and the next
    job on it."""
    needed_by = dependents(needs)
    tail, after = {}, {}

    def visit(j):
        if j not in tail:
            nxt = max(needed_by[j], key=visit, default=None)
            tail[j] = cost[j] + (tail[nxt] if nxt is not None else 0.0)
            after[j] = nxt
        return tail[j]

    for j in jobs:
        visit(j)
    return tail, after


def replay(needs, cost, tail, cores):
    """Wall time of the jobs on `cores` cores, the longest remaining chain first."""
    waiting = {j: len(d) for j, d in needs.items()}
    needed_by = dependents(needs)
    ready = [(-tail[j], j) for j, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    running, now = [], 0.0
    while ready or running:
        while ready and len(running) < cores:
            _, j = heapq.heappop(ready)
            heapq.heappush(running, (now + cost[j], j))
        now, j = heapq.heappop(running)
        for k in needed_by[j]:
            waiting[k] -= 1
            if waiting[k] == 0:
                heapq.heappush(ready, (-tail[k], k))
    return now


def minutes(s):
    return f"{int(s // 60)} min {s % 60:4.1f} s"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log", type=Path)
    ap.add_argument("--cores", type=int, nargs="*", default=[1, 2, 4, 8, 16])
    args = ap.parse_args()
    logs = sorted(Path(".snakemake/log").glob("*.snakemake.log"))
    if not args.log and not logs:
        raise SystemExit(".snakemake/log holds no Snakemake log: run this in the folder of a "
                         "finished run, or pass --log <run>.snakemake.log")
    log = args.log or logs[-1]
    if not log.is_file():
        raise SystemExit(f"{log}: no such Snakemake log; pass the .snakemake/log file of a run")
    root = log.resolve().parents[2]
    jobs = parse(log)
    needs = dependencies(jobs)
    cost = {j: seconds(job, root) for j, job in jobs.items()}
    tail, after = chains(jobs, needs, cost)
    print(f"{log}: {len(jobs)} jobs, {sum(cost.values()):.0f} job seconds")
    start = max(tail, key=tail.get)
    print(f"longest chain of dependent jobs: {minutes(tail[start])}")
    j = start
    while j is not None:
        first_output = ", ".join(jobs[j]["output"][:1])
        print(f"  {cost[j]:7.1f} s  {jobs[j]['rule']:<20s} {first_output}")
        j = after[j]
    print(f"{'cores':>6s} {'wall time, replayed':>22s}")
    for n in args.cores:
        print(f"{n:6d} {minutes(replay(needs, cost, tail, n)):>22s}")


if __name__ == "__main__":
    main()
