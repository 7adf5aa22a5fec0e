"""A real single-node Slurm cluster for tests: munged, slurmctld and slurmd on this machine.

Import the ``slurm_cluster`` fixture into a test module (``from slurm_cluster import
slurm_cluster``). It needs root (the daemons run as root and ``/etc/slurm/slurm.conf`` is
linked to the test's configuration) and the Debian packages ``slurm-wlm`` and ``munge``;
without them the tests that use it are skipped with the reason.

What the fixture changes on the machine, and undoes at teardown:

- a private directory (``/tmp/dlnet-slurm-*``) with the munge key, munge socket, slurm.conf,
  state, spool, pid and log files; it is removed at teardown unless ``DLNET_SLURM_KEEP=1``;
- ``/etc/slurm/slurm.conf`` becomes a symlink to that slurm.conf (the Snakemake job-step
  plugin drops ``SLURM_CONF`` before its inner ``srun``, so client commands inside jobs only
  find the default path). An existing file is renamed to ``slurm.conf.dlnet-test-backup``
  and put back; ``/etc/slurm`` is created and removed again if it did not exist;
- three daemons (``munged``, ``slurmctld``, ``slurmd``), started in the foreground as child
  processes of pytest and stopped by their own PIDs (SIGTERM, then SIGKILL after a grace
  period); every job still in the queue is cancelled first. Nothing is ever stopped by name.

The daemons listen on free TCP ports and use their own munge socket, so a munged or Slurm
that already runs on the machine is not disturbed; a live controller behind an existing
``/etc/slurm/slurm.conf`` makes the fixture skip instead of hiding that config from it.
"""

from __future__ import annotations

import atexit
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ETC_SLURM = Path("/etc/slurm")
ETC_CONF = ETC_SLURM / "slurm.conf"
BACKUP = ETC_SLURM / "slurm.conf.dlnet-test-backup"
TMP_PREFIX = "dlnet-slurm-"
PARTITION = "debug"
NODE = "localhost"

DAEMONS = {"munged": "munge", "slurmctld": "slurmctld", "slurmd": "slurmd"}
CLIENTS = ["munge", "unmunge", "sinfo", "squeue", "sbatch", "srun", "scontrol", "scancel"]
MARKER = "slurm: starts a real single-node Slurm cluster (root, slurm-wlm and munge needed)"


def pytest_configure(config):  # used when loaded as a plugin: pytest -p slurm_cluster
    config.addinivalue_line("markers", MARKER)


def _which(name: str) -> str | None:
    """Find a program also in the sbin directories, which a non-login PATH may lack."""
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin", "/usr/local/sbin"])
    return shutil.which(name, path=path)


def skip_reason() -> str | None:
    """Why a real Slurm cannot be started here, or None if it can."""
    if not sys.platform.startswith("linux"):
        return "a real Slurm cluster needs Linux"
    if os.geteuid() != 0:
        return ("not running as root: the Slurm tests start munged, slurmctld and slurmd and "
                "link /etc/slurm/slurm.conf (CI runs them as root)")
    missing = [name for name in [*DAEMONS, *CLIENTS] if _which(name) is None]
    if missing:
        return (f"Slurm/munge programs missing ({', '.join(missing)}): "
                "apt-get install slurm-wlm munge")
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        return "snakemake-executor-plugin-slurm is not installed: pip install -e '.[slurm]'"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _mem_mb() -> int:
    """Memory for the node: 80 % of MemTotal, so that jobs cannot overcommit the machine."""
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(int(line.split()[1]) / 1024 * 0.8)
    return 4000


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _our_stale_link() -> bool:
    """Whether /etc/slurm/slurm.conf is a link left by a killed earlier run of this fixture."""
    if not ETC_CONF.is_symlink():
        return False
    target = os.readlink(ETC_CONF)
    return TMP_PREFIX in target and not Path(target).exists()


def live_controller() -> bool:
    """Whether a Slurm controller already answers for the machine's /etc/slurm/slurm.conf."""
    if not ETC_CONF.exists() or _our_stale_link():
        return False
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    try:
        probe = subprocess.run([_which("scontrol"), "ping"], capture_output=True, text=True,
                               timeout=30, env=env)
    except (subprocess.SubprocessError, OSError):
        return False
    return " is UP" in probe.stdout


class SlurmCluster:
    """One slurmctld + one slurmd (node ``localhost``, partition ``debug``) and a munged."""

    def __init__(self, cpus: int | None = None, mem_mb: int | None = None,
                 min_job_age: int = 3600):
        # At least 4 job slots even on a 2-core machine (SlurmdParameters=config_overrides
        # lets the node claim more CPUs than it has): short jobs then overlap the
        # workflow's status-polling latency instead of queueing behind it.
        self.cpus = cpus or max(4, os.cpu_count() or 1)
        self.mem_mb = mem_mb or _mem_mb()
        self.min_job_age = min_job_age
        self.root: Path | None = None
        self.procs: dict[str, subprocess.Popen] = {}
        self._made_etc_slurm = False
        self._backed_up = False
        self._linked = False
        self._stopped = False

    # -- paths and environment -------------------------------------------------------------
    @property
    def conf(self) -> Path:
        return self.root / "slurm.conf"

    @property
    def munge_socket(self) -> Path:
        return self.root / "munge" / "munge.socket"

    def log(self, daemon: str) -> Path:
        return self.root / "log" / f"{daemon}.log"

    @property
    def env(self) -> dict[str, str]:
        """Environment for client commands and Snakemake: SLURM_CONF, and the interpreter's
        bin directory first on PATH (sbatch --export=ALL hands it to the jobs)."""
        env = {k: v for k, v in os.environ.items()  # not another allocation's variables
               if not k.startswith(("SLURM_", "SBATCH_", "SRUN_", "SALLOC_"))}
        env["SLURM_CONF"] = str(self.conf)
        bindir = str(Path(sys.executable).parent)
        env["PATH"] = os.pathsep.join([bindir, env.get("PATH", ""), "/usr/sbin", "/sbin"])
        return env

    def run(self, *cmd: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
        """Run a client command (sinfo, squeue, scontrol, ...) against this cluster."""
        return subprocess.run(list(cmd), env=self.env, capture_output=True, text=True,
                              check=check, timeout=timeout)

    # -- configuration -----------------------------------------------------------------------
    def _write_files(self) -> None:
        r = self.root
        for sub in ["munge", "state", "spool", "log", "run"]:
            (r / sub).mkdir(mode=0o700)
        key = r / "munge" / "munge.key"
        key.write_bytes(secrets.token_bytes(1024))
        key.chmod(0o400)
        (r / "plugstack.conf").write_text("")  # keep /etc/slurm/plugstack.conf.d out of it
        self.ctld_port, self.slurmd_port = _free_port(), _free_port()
        conf = f"""\
# Written by tests/slurm_cluster.py; removed at teardown.
ClusterName=dlnettest
SlurmctldHost=localhost
SlurmctldPort={self.ctld_port}
SlurmdPort={self.slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.munge_socket}
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
# Every finished job's final state, kept for the cluster's life: the tests' evidence, whatever
# squeue still remembers (MinJobAge) when a slow run ends.
JobCompType=jobcomp/filetxt
JobCompLoc={self.log("jobcomp")}
JobAcctGatherType=jobacct_gather/none
PlugStackConfig={r / "plugstack.conf"}
SlurmdParameters=config_overrides
StateSaveLocation={r / "state"}
SlurmdSpoolDir={r / "spool"}
SlurmctldPidFile={r / "run" / "slurmctld.pid"}
SlurmdPidFile={r / "run" / "slurmd.pid"}
SlurmctldLogFile={self.log("slurmctld")}
SlurmdLogFile={self.log("slurmd")}
SlurmctldDebug=info
SlurmdDebug=info
ReturnToService=2
# squeue (the status command without accounting) sees a finished job for MinJobAge seconds: an
# hour, far longer than the slowest test run, so that the tests' evidence (every job's final
# state) does not depend on how fast the machine is.
MinJobAge={self.min_job_age}
InactiveLimit=0
KillWait=5
NodeName={NODE} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={self.mem_mb} State=UNKNOWN
PartitionName={PARTITION} Nodes={NODE} Default=YES MaxTime=INFINITE State=UP
"""
        self.conf.write_text(conf)

    def _link_etc_conf(self) -> None:
        if _our_stale_link():  # a killed earlier run: undo what it left
            ETC_CONF.unlink()
            if BACKUP.exists() or BACKUP.is_symlink():
                os.replace(BACKUP, ETC_CONF)
        if not ETC_SLURM.exists():
            ETC_SLURM.mkdir(parents=True)
            self._made_etc_slurm = True
        if ETC_CONF.exists() or ETC_CONF.is_symlink():
            if BACKUP.exists() or BACKUP.is_symlink():
                raise RuntimeError(f"{BACKUP} exists already; restore or remove it by hand")
            os.replace(ETC_CONF, BACKUP)
            self._backed_up = True
        ETC_CONF.symlink_to(self.conf)
        self._linked = True

    def _restore_etc_conf(self) -> None:
        if self._linked and ETC_CONF.is_symlink() and os.readlink(ETC_CONF) == str(self.conf):
            ETC_CONF.unlink()
        self._linked = False
        if self._backed_up:
            os.replace(BACKUP, ETC_CONF)
            self._backed_up = False
        if self._made_etc_slurm:
            try:
                ETC_SLURM.rmdir()
            except OSError:
                pass
            self._made_etc_slurm = False

    # -- daemons -------------------------------------------------------------------------------
    def _spawn(self, name: str, cmd: list[str]) -> None:
        out = open(self.root / "log" / f"{name}.stdout", "wb")
        try:
            self.procs[name] = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                                stdin=subprocess.DEVNULL, env=self.env)
        finally:
            out.close()

    def _wait(self, what: str, ok, timeout: float, daemon: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = self.procs[daemon]
            if proc.poll() is not None:
                raise RuntimeError(f"{daemon} exited with {proc.returncode} while waiting for "
                                   f"{what}:\n{self.diagnostics()}")
            try:
                if ok():
                    return
            except (subprocess.SubprocessError, OSError):
                pass
            time.sleep(0.5)
        raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}:\n"
                           f"{self.diagnostics()}")

    def _munge_ok(self) -> bool:
        sock = f"--socket={self.munge_socket}"
        cred = subprocess.run([_which("munge"), sock, "-n"], capture_output=True, timeout=10)
        if cred.returncode != 0:
            return False
        return subprocess.run([_which("unmunge"), sock], input=cred.stdout,
                              capture_output=True, timeout=10).returncode == 0

    def node_state(self) -> str:
        return self.run("sinfo", "-h", "-n", NODE, "-o", "%T", check=False).stdout.strip()

    def start(self) -> "SlurmCluster":
        self.root = Path(tempfile.mkdtemp(prefix=TMP_PREFIX))  # short: unix socket paths
        self.root.chmod(0o700)
        atexit.register(self.stop)  # safety net; stop() is idempotent
        try:
            self._write_files()
            m = self.root / "munge"
            self._spawn("munged", [_which("munged"), "--foreground", "--force",
                                   f"--socket={self.munge_socket}", f"--key-file={m / 'munge.key'}",
                                   f"--pid-file={m / 'munged.pid'}", f"--seed-file={m / 'seed'}",
                                   f"--log-file={self.log('munged')}"])
            self._wait("munge credentials", self._munge_ok, 30, "munged")
            self._link_etc_conf()
            self._spawn("slurmctld", [_which("slurmctld"), "-D", "-f", str(self.conf)])
            self._wait("slurmctld", lambda: self.run("scontrol", "ping", check=False,
                                                     timeout=10).stdout.count("UP") > 0,
                       60, "slurmctld")
            self._spawn("slurmd", [_which("slurmd"), "-D", "-N", NODE, "-f", str(self.conf)])
            self._wait(f"node {NODE} idle", lambda: self.node_state() == "idle", 90, "slurmd")
        except BaseException:
            self.stop()
            raise
        return self

    def job_ids(self) -> list[str]:
        out = self.run("squeue", "-h", "--states=all", "-o", "%i", check=False).stdout
        return out.split()

    def jobs(self) -> dict[str, tuple[str, str]]:
        """Slurm job id -> (job name, state) for every job squeue still knows (MinJobAge)."""
        out = self.run("squeue", "-h", "--states=all", "-o", "%i|%j|%T", check=False).stdout
        rows = [line.split("|") for line in out.splitlines() if line.count("|") == 2]
        return {jid: (name, state) for jid, name, state in rows}

    def completed(self) -> dict[str, tuple[str, str]]:
        """Slurm job id -> (job name, final state) of every job that ended, from the job
        completion record (jobcomp/filetxt), which keeps them all."""
        path = self.log("jobcomp")
        text = path.read_text() if path.exists() else ""
        rows = re.findall(r"JobId=(\d+) .*?Name=(\S*) JobState=(\S+)", text)
        return {jid: (name, state) for jid, name, state in rows}

    def diagnostics(self) -> str:
        parts = []
        for name in DAEMONS:
            for suffix in ("log", "stdout"):
                path = self.root / "log" / f"{name}.{suffix}" if self.root else None
                if path and path.exists() and path.stat().st_size:
                    parts.append(f"--- {path} (tail) ---\n{_tail(path)}")
        return "\n".join(parts)

    def _cancel_all_jobs(self) -> None:
        if self.procs.get("slurmctld") is None or self.procs["slurmctld"].poll() is not None:
            return
        active = {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED", "REQUEUED"}
        try:
            ids = [j for j, (_, st) in self.jobs().items() if st in active]
            if ids:
                self.run("scancel", *ids, check=False)
            deadline = time.monotonic() + 30
            while ids and time.monotonic() < deadline:
                if not any(st in active for _, st in self.jobs().values()):
                    break
                time.sleep(1)
        except (subprocess.SubprocessError, OSError):
            pass

    def stop(self) -> None:
        """Cancel remaining jobs, stop the daemons we started (by PID), restore /etc/slurm."""
        if self._stopped:
            return
        self._stopped = True
        try:
            self._cancel_all_jobs()
            for name in ["slurmd", "slurmctld", "munged"]:
                proc = self.procs.get(name)
                if proc is None or proc.poll() is not None:
                    continue
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
        finally:
            self._restore_etc_conf()
            if self.root and os.environ.get("DLNET_SLURM_KEEP") != "1":
                shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def slurm_cluster():
    """A running single-node Slurm for the test module; skipped where it cannot run."""
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    if live_controller():
        pytest.skip(f"a live Slurm controller answers for {ETC_CONF}; not replacing it")
    cluster = SlurmCluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()
