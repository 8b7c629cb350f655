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
        # run -> file -> (inode, size, mtime, ctime) when last sent
        self.seen: dict[str, dict[str, tuple[int, ...]]] = {}

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

    def _change(self, path: Path, name: str, seen: dict[str, tuple[int, ...]]) -> list[Change]:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            stamp = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
            before = seen.get(name)
            if before == stamp:
                return []
            # a streamed file that grew in place: only its new bytes. A file replaced by a
            # rename may get the inode just freed, so only streamed names are appended to
            grown = (streamed(name) and before is not None and st.st_ino == before[0]
                     and st.st_size >= before[1])  # fmt: skip
            offset = before[1] if grown and before is not None else 0
            f.seek(offset)
            data = f.read()
        seen[name] = (st.st_ino, offset + len(data), st.st_mtime_ns, st.st_ctime_ns)
        return [Change(name, offset, data, whole=not grown)]

    def forget(self, run_id: str) -> None:
        self.seen.pop(run_id, None)


def apply(run_dir: Path, changes: list[Change]) -> None:
    """The driver's side: write ``changes`` into ``run_dir`` as the run's own process would
    have: whole files atomically, streamed ones appended and flushed. An append lands at the
    end of the driver's copy when that is not where the worker's left off (a message lost to
    Ctrl-C between reading and writing it): a row may be missing then, never a hole."""
    for change in changes:
        target = run_dir.joinpath(*change.name.split("/"))
        if not target.resolve().is_relative_to(run_dir.resolve()):
            raise ValueError(f"a worker sent a file outside its run folder: {change.name}")
        if not streamed(change.name):
            store.atomic_write_bytes(target, change.data)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(target, "ab" if change.offset else "wb") as f:
                if change.offset and f.tell() > change.offset:  # sent again: replace the tail
                    f.truncate(change.offset)
                f.write(change.data)
                f.flush()
        except OSError as e:
            raise OSError(e.errno, e.strerror or str(e), str(target)) from e


def streamed(name: str) -> bool:
    """Files written a row at a time (``store.RowFile``): appended in place, as there."""
    return name.endswith(".csv") and name != store.BOUNDARY_FILE
