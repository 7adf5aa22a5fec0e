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
