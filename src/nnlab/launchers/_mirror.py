"""Run folders kept on one machine, trained on another: what changed, and applying it.

A remote worker trains a run into a scratch folder of its own and, after every event, sends
what changed there since the last event; the driver applies it to the real run folder. Two
kinds of file exist in a run folder (``store``): streamed ones that only grow (history.csv,
the captures: ``store.RowFile``), sent as the bytes appended since last time, and ones
written whole by a rename (result.json, env.json, boundary.csv), sent whole when their inode
changes. ``config.yaml`` is the driver's own (it writes it when the run starts), so it never
travels. Pure file handling: no Ray, no backend.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from nnlab import store

NOT_SENT = frozenset({store.CONFIG_FILE})


@dataclass(frozen=True)
class Change:
    """One file of a run folder: ``data`` appended at ``offset``, or (``whole``) the file."""

    name: str  # relative to the run folder, with "/" between parts
    offset: int
    data: bytes
    whole: bool


class Watch:
    """The worker's side: what changed in each run's scratch folder since it last looked."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.seen: dict[str, dict[str, tuple[int, int]]] = {}  # run -> file -> (inode, size)

    def changes(self, run_id: str) -> list[Change]:
        run_dir = self.root / run_id
        seen = self.seen.setdefault(run_id, {})
        out: list[Change] = []
        for path in sorted(run_dir.rglob("*")) if run_dir.is_dir() else []:
            name = path.relative_to(run_dir).as_posix()
            if name in NOT_SENT or path.name.startswith(".") or not path.is_file():
                continue  # temporary files of an atomic write are not there yet
            with contextlib.suppress(FileNotFoundError):  # replaced while we look: next time
                out.extend(self._change(path, name, seen))
        return out

    def _change(self, path: Path, name: str, seen: dict[str, tuple[int, int]]) -> list[Change]:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            inode, before = seen.get(name, (-1, 0))
            if st.st_ino == inode and st.st_size == before:
                return []
            grown = st.st_ino == inode and st.st_size > before
            if grown:
                f.seek(before)
            data = f.read()
        seen[name] = (st.st_ino, (before if grown else 0) + len(data))
        return [Change(name, before if grown else 0, data, whole=not grown)]

    def forget(self, run_id: str) -> None:
        self.seen.pop(run_id, None)


def apply(run_dir: Path, changes: list[Change]) -> None:
    """The driver's side: write ``changes`` into ``run_dir`` as the run's own process would
    have: whole files atomically, streamed ones appended and flushed (a file sent whole that
    grows later is streamed: it was created by its first change)."""
    for change in changes:
        target = run_dir.joinpath(*change.name.split("/"))
        if not target.resolve().is_relative_to(run_dir.resolve()):
            raise ValueError(f"a worker sent a file outside its run folder: {change.name}")
        if change.whole and change.offset == 0 and not _streamed(change.name):
            store.atomic_write_bytes(target, change.data)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(target, "r+b" if change.offset and target.exists() else "wb") as f:
                f.seek(change.offset)
                f.truncate()
                f.write(change.data)
                f.flush()
        except OSError as e:
            raise OSError(e.errno, e.strerror or str(e), str(target)) from e


def _streamed(name: str) -> bool:
    """Files written a row at a time (``store.RowFile``): appended in place, as there."""
    return name.endswith(".csv") and name != store.BOUNDARY_FILE
