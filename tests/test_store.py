"""Records are written whole or not at all."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from nnlab import store


def test_a_write_that_fails_halfway_leaves_the_old_record_whole(tmp_path):
    target = tmp_path / store.RESULT_FILE
    store.write_json(target, {"status": "running"})
    with pytest.raises(OSError), store.atomic_path(target) as tmp:
        tmp.write_text('{"status": "compl')  # cut off, as by a full disk or a kill
        raise OSError(28, "No space left on device")
    assert json.loads(target.read_text()) == {"status": "running"}
    assert [p.name for p in tmp_path.iterdir()] == [store.RESULT_FILE]  # no temporary left


def test_a_write_replaces_the_file_in_one_step(tmp_path):
    target = tmp_path / store.SUMMARY_FILE
    store.atomic_write_text(target, "a,b\n1,2\n")
    inode = target.stat().st_ino
    store.atomic_write_text(target, "a,b\n3,4\n")
    assert target.read_text() == "a,b\n3,4\n"
    assert target.stat().st_ino != inode  # a new file renamed over the old, never rewritten
    assert oct(target.stat().st_mode & 0o777) == oct(store.FILE_MODE)


def test_a_full_disk_names_the_file_being_written(tmp_path, monkeypatch):
    """A real ENOSPC comes from write() or fsync() and names no file; the error must name the
    record, not nothing or the temporary file."""
    import errno
    import os

    target = tmp_path / store.RESULT_FILE
    store.write_json(target, {"status": "running"})

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError) as caught:
        store.write_json(target, {"status": "completed"})
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(target)
    assert json.loads(target.read_text()) == {"status": "running"}
    assert [p.name for p in tmp_path.iterdir()] == [store.RESULT_FILE]


def test_a_streamed_csv_that_cannot_be_written_names_its_file(tmp_path, monkeypatch):
    import errno

    rows = store.RowFile(tmp_path / store.HISTORY_FILE, ["epoch", "loss"])
    rows.write([[0, 0.7]])

    class FullDisk:
        def write(self, text):  # a buffered write that reaches the disk fails with no name
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(rows, "_writer", __import__("csv").writer(FullDisk()))
    with pytest.raises(OSError) as caught:
        rows.write([[1, 0.6]])
    assert caught.value.errno == errno.ENOSPC
    assert caught.value.filename == str(tmp_path / store.HISTORY_FILE)
    rows.close()
    assert (tmp_path / store.HISTORY_FILE).read_text().splitlines() == ["epoch,loss", "0,0.7"]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_a_streamed_csv_on_a_really_full_disk_raises_once_and_closes(tmp_path):
    """On /dev/full, a real full disk, the flush fails and so does close(), which tries the
    buffered row again. The write raises, naming the file; close() then closes the file
    without raising again, so the run can still write its record."""
    rows = store.RowFile(tmp_path / store.HISTORY_FILE, ["epoch", "loss"])
    rows._file.close()
    rows._file = open("/dev/full", "w", newline="", encoding="utf-8")  # noqa: SIM115
    rows._writer = csv.writer(rows._file)
    with pytest.raises(OSError) as caught:
        rows.write([[1, 0.6]])
    assert caught.value.errno == 28 and caught.value.filename == str(tmp_path / "history.csv")
    rows.close()  # the row is still buffered: a plain close() would raise ENOSPC here
    assert rows._file.closed


def test_a_new_attempt_starts_without_the_files_of_the_last_one(tmp_path):
    """A retried run (after a failure, a Ctrl-C, or with --force) that stops before it writes
    its first epoch must not leave the earlier attempt's curves, boundary or captures beside
    its new record, where plots and the report would take them for its own."""
    run_dir = tmp_path / "run"
    (run_dir / "plots").mkdir(parents=True)
    earlier = ["history.csv", "boundary.csv", "weights.csv", "gradients.csv", "batches.csv",
               "plots/learning_curves.png", "plots/decision_boundary.png"]  # fmt: skip
    for name in earlier:
        (run_dir / name).write_text("from the earlier attempt\n")
    store.begin_run(run_dir, {"name": "x"}, {"status": "running"})
    left = sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.is_file())
    assert left == ["config.yaml", "result.json"]


def test_a_file_written_by_name_is_fsynced_before_the_rename(tmp_path, monkeypatch):
    """Plots are written by name (``savefig(tmp)``), not through a file nnlab holds: the
    temporary file must still reach the disk before it takes the target's name."""
    import os

    synced: list[bytes] = []
    real = os.fsync

    def fsync(fd):
        synced.append(os.pread(fd, 100, 0))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    target = tmp_path / "plot.png"
    with store.atomic_path(target) as tmp:
        tmp.write_bytes(b"\x89PNG not really")
        assert not target.exists()
    assert synced == [b"\x89PNG not really"] and target.read_bytes() == b"\x89PNG not really"
