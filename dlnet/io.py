"""Atomic file writes and provenance, so that a failed job never leaves a half-written output.

Every writer goes through a temporary file in the target folder and a rename, which is atomic on
POSIX file systems; Snakemake then sees either the complete file or none.
"""

import contextlib
import glob
import json
import os
import platform
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # what a job killed outright (SIGKILL, power loss) left of an earlier write of this file: one
    # job writes one output, so no other writer owns them
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    # mkstemp makes the file private (0600); outputs get the usual mode the umask allows
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text(path, text):
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path, obj):
    write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


def read_json(path):
    with open(path) as f:
        return json.load(f)


def write_csv(path, frame, **kwargs):
    with atomic_path(path) as tmp:
        if not str(path).endswith(".gz"):
            frame.to_csv(tmp, index=False, **kwargs)
            return
        import gzip

        # no file name (the temporary one) and no time in the gzip header: the same table gives
        # the same bytes
        with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                                                    mtime=0) as gz:
            gz.write(frame.to_csv(index=False, **kwargs).encode())


def read_csv_with_ids(path, ids="cell_id"):
    """A CSV that write_csv wrote, its `ids` column as text: a user's cell '01' stays '01' and
    'NA' a cell (pandas reads them as 1 and a missing value); an empty field elsewhere is NaN,
    as write_csv writes one."""
    import pandas as pd

    header = pd.read_csv(path, nrows=0).columns
    return pd.read_csv(path, dtype={ids: str}, keep_default_na=False,
                       na_values={c: [""] for c in header if c != ids})


def save_npz(path, **arrays):
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            import numpy as np

            np.savez_compressed(f, **arrays)


def save_torch(path, obj):
    import torch

    # through a file object: torch names the archive's folder after a path (the temporary
    # one), which made two saves of the same model differ
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        torch.save(obj, f)


def save_figure(path, fig, **kwargs):
    suffix = Path(path).suffix.lstrip(".")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=suffix, **kwargs)


def versions():
    """Versions of what shapes the numbers, recorded in every metrics file, and the machine:
    its architecture and the kernels the numerical libraries run (dlnet.numerics)."""
    from importlib.metadata import PackageNotFoundError, version

    import torch

    import dlnet
    from dlnet import numerics

    out = {"dlnet": dlnet.__version__, "dlnet_commit": _commit(Path(dlnet.__file__).parents[1]),
           "python": platform.python_version()}
    for package in ("numpy", "scipy", "pandas", "scikit-learn", "torch-pruning"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = None
    return {**out, "torch": torch.__version__, "machine": platform.machine(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "numerics": numerics.in_force()}


def _commit(root):
    """The checkout's commit (with -dirty for local changes) that the code ran from: Snakemake
    does not rerun a job when the package changes, so outputs say which code made them. None
    outside a git checkout (an installed package)."""
    import subprocess

    if not (root / ".git").exists():
        return None
    try:
        proc = subprocess.run(["git", "-C", str(root), "describe", "--always", "--dirty",
                               "--abbrev=12"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() or None


def _json_default(obj):
    import numpy as np

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
