"""Records are written whole or not at all."""

from __future__ import annotations

import json

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
