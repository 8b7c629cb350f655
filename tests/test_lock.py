"""Two commands on one experiment: the second is refused, naming the first; a lock left by a
killed process is taken over."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from nnlab import lock, store
from nnlab.cli import app
from nnlab.errors import LockError

from helpers import TINY

HOLD = """
import sys, time
from nnlab.lock import experiment_lock
with experiment_lock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(120)
"""


def hold(exp: Path) -> subprocess.Popen[str]:
    """Another process holding ``exp``'s lock, once it has printed "held"."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(exp)], stdout=subprocess.PIPE,
                            text=True)  # fmt: skip
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


@pytest.mark.slow
def test_a_second_command_is_refused_with_the_holder_and_changes_nothing(tmp_path):
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY))
    exp = tmp_path / "tiny"
    exp.mkdir()
    (exp / store.EXPERIMENT_FILE).write_text("name: tiny\n# the first command's\n")
    holder = hold(exp)
    try:
        result = CliRunner().invoke(app, ["run", str(config), "--out", str(tmp_path)])
        assert result.exit_code == 2, result.output
        line = result.output.strip()
        assert line.startswith(f"error: {exp}: another nnlab command is working on this ")
        assert f"process {holder.pid} on {socket.gethostname()} since " in line
        assert "wait for it to finish, or stop it" in line
        # nothing written: no run folder, the experiment file untouched
        assert sorted(p.name for p in exp.iterdir()) == [lock.LOCK_FILE, store.EXPERIMENT_FILE]
        assert (exp / store.EXPERIMENT_FILE).read_text().endswith("# the first command's\n")
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.slow
def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path):
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY))
    exp = tmp_path / "tiny"
    exp.mkdir()
    holder = hold(exp)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert lock.holder(exp)["pid"] == holder.pid  # the dead process's record is still there
    assert not lock.held(exp)  # and `nnlab ls` can tell it is dead
    result = CliRunner().invoke(app, ["run", str(config), "--out", str(tmp_path), "-q"])
    assert result.exit_code == 0, result.output
    assert len(store.run_dirs(exp)) == 1
    assert not (exp / lock.LOCK_FILE).exists()  # released at the end


def test_the_lock_is_exclusive_within_a_process_too_and_released_on_error(tmp_path):
    with lock.experiment_lock(tmp_path):
        record = lock.holder(tmp_path)
        assert record["pid"] == os.getpid() and record["host"] == socket.gethostname()
        with (
            pytest.raises(LockError, match=f"process {os.getpid()} on "),
            lock.experiment_lock(tmp_path),
        ):
            pass
    with pytest.raises(RuntimeError), lock.experiment_lock(tmp_path):
        raise RuntimeError("a crash inside")
    with lock.experiment_lock(tmp_path):  # free again: a crash inside released it
        assert lock.holder(tmp_path)["pid"] == os.getpid()
    assert not (tmp_path / lock.LOCK_FILE).exists()


def test_held_reads_the_lock_file_and_never_takes_the_lock(tmp_path, monkeypatch):
    real_flock = lock.fcntl.flock
    asked = []
    monkeypatch.setattr(lock.fcntl, "flock", lambda fd, op: asked.append(op) or real_flock(fd, op))
    assert not lock.held(tmp_path)  # no file: free
    with lock.experiment_lock(tmp_path):
        assert lock.held(tmp_path)
    record = {"pid": os.getpid(), "host": "another-host", "started": "x", "command": "nnlab"}
    (tmp_path / lock.LOCK_FILE).write_text(__import__("json").dumps(record))
    assert lock.held(tmp_path)  # a holder on another host cannot be checked from here
    (tmp_path / lock.LOCK_FILE).write_text("")
    assert lock.held(tmp_path)  # a record being written: someone holds it
    assert len(asked) == 1  # the one flock was experiment_lock's own: held() takes none
