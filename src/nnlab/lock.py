"""One ``nnlab run`` or ``sweep`` at a time per experiment directory.

The lock is an advisory ``flock`` on ``<experiment>/.nnlab.lock``, which records who holds it
(process id, host, start time, command) for the message the second command prints. The
kernel drops the lock when its holder dies, however it dies, so a lock left by a killed
process is taken over by the next command without any guessing about process ids; the stale
record is then overwritten. Only ``held``, for what ``nnlab ls`` shows, reads the process
id. Where ``fcntl`` does not exist (Windows) there is no lock.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nnlab.errors import LockError

LOCK_FILE = ".nnlab.lock"

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX
    fcntl = None  # type: ignore[assignment]


def holder(exp_dir: str | Path) -> dict[str, Any] | None:
    """The record of the lock file (who holds it, or last held it), if it can be read."""
    try:
        data = json.loads((Path(exp_dir) / LOCK_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def held(exp_dir: str | Path) -> bool:
    """Whether a live command seems to hold the experiment, read from the lock file alone
    (taking the lock to find out could refuse a command starting at that moment). No file:
    free (the holder removes it as it lets go). A file whose process is gone from this
    host: left by a killed command. A holder on another host cannot be checked: held."""
    who = holder(exp_dir)
    if who is None:
        return (Path(exp_dir) / LOCK_FILE).exists()  # unreadable: being written, so held
    if who.get("host") != socket.gethostname() or not isinstance(who.get("pid"), int):
        return True
    try:
        os.kill(who["pid"], 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


@contextlib.contextmanager
def experiment_lock(exp_dir: str | Path) -> Iterator[None]:
    """Hold the experiment's lock for the block; raise ``LockError`` naming the holder when
    another live process has it. ``exp_dir`` must exist."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    path = Path(exp_dir) / LOCK_FILE
    fd = _acquire(path)
    try:
        record = {"pid": os.getpid(), "host": socket.gethostname(),
                  "started": datetime.now(UTC).isoformat(timespec="seconds"),
                  "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])}  # fmt: skip
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode(), 0)
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()  # while still locked: the next command makes a fresh file
        os.close(fd)  # releases the lock


def _acquire(path: Path) -> int:
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LockError(_busy_message(path)) from None
        # the holder before us may have removed the file between our open and our lock: then
        # we locked an unlinked file, and must lock the one at the path now
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


def _busy_message(path: Path) -> str:
    who = holder(path.parent) or {}
    pid, host = who.get("pid", "?"), who.get("host", "?")
    since = f" since {who['started']}" if who.get("started") else ""
    command = f" (`{who['command']}`)" if who.get("command") else ""
    return (
        f"{path.parent}: another nnlab command is working on this experiment: process {pid} "
        f"on {host}{since}{command}; wait for it to finish, or stop it, then run again"
    )
