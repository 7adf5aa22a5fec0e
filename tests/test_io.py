"""Atomic writes: a failed write leaves the old file, and a killed one's leftovers go."""

import pytest

from dlnet.io import atomic_path, write_text


def test_a_failed_write_keeps_the_old_file_and_a_killed_ones_leftover_is_removed(tmp_path):
    target = tmp_path / "out" / "metrics.json"
    write_text(target, "old")
    # what a write killed by SIGKILL leaves: its temporary file, never renamed
    stale = target.parent / ".metrics.json.k1ll3d.tmp"
    stale.write_text("half")
    other = target.parent / ".model.pt.k1ll3d.tmp"            # another output's: not this write's
    other.write_text("half")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("new, but the job fails")
            raise RuntimeError("job failed")
    assert target.read_text() == "old" and not stale.exists() and other.exists()
    write_text(target, "new")
    assert target.read_text() == "new"
    assert sorted(p.name for p in target.parent.iterdir()) == [".model.pt.k1ll3d.tmp",
                                                               "metrics.json"]


def test_the_same_content_gives_the_same_bytes(tmp_path):
    """Two writes of one table or one checkpoint are byte for byte equal: no temporary file
    name or time lands in the gzip header or the checkpoint's archive."""
    import hashlib
    import time

    import pandas as pd
    import torch

    from dlnet.io import read_csv_with_ids, save_torch, write_csv

    frame = pd.DataFrame({"cell_id": ["01", "b"], "soh": [0.9, 0.8]})
    digests = []
    for name in ("a", "b"):
        write_csv(tmp_path / f"{name}.csv.gz", frame)
        save_torch(tmp_path / f"{name}.pt", {"w": torch.arange(4.0)})
        digests.append([hashlib.sha256((tmp_path / f"{name}{s}").read_bytes()).hexdigest()
                        for s in (".csv.gz", ".pt")])
        time.sleep(1.1)                                  # a gzip header's time has 1 s steps
    assert digests[0] == digests[1]
    assert read_csv_with_ids(tmp_path / "a.csv.gz").equals(frame)
    assert torch.equal(torch.load(tmp_path / "a.pt")["w"], torch.arange(4.0))


def test_outputs_name_the_commit_that_made_them():
    """Snakemake does not rerun a job when the package changes: metrics files say which code
    made them."""
    import re
    from pathlib import Path

    import pytest

    from dlnet.io import versions

    root = Path(__file__).resolve().parents[1]
    if not (root / ".git").exists():
        pytest.skip("not a git checkout: the commit is None by design")
    assert re.fullmatch(r"[0-9a-f]{12}(-dirty)?", versions()["dlnet_commit"])
