"""A Ray actor of the Ray launcher (``_ray``): one per slot, on whichever node Ray puts it.

It imports the backend once and takes unit after unit, as a local pool worker does, but it
never sees the experiment's folder: it trains each run into a scratch folder of its own (its
working directory, removed when it leaves) and streams every event back to the driver with
what changed in that run's scratch folder (``_mirror``), and the driver writes the real run
folders. The data sets a run reads from files, and custom builder files, arrive from the
driver through Ray's object store. ``stop`` (a second thread: the actor runs two at once)
asks the run in progress to stop at its next epoch, as SIGTERM does in a pool worker.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnlab import stopping, store
from nnlab.events import Event, RunFinished, RunStarted
from nnlab.launchers._base import RunEnd, Unit, train_unit
from nnlab.launchers._mirror import Change, Watch
from nnlab.launchers._pool import WorkerSetup

# where a worker lists every file it opens (one "mode path" line each), when this variable
# names a file on its node: how a test proves that workers never touch the experiment folder
OPEN_LOG = "NNLAB_RAY_OPEN_LOG"


@dataclass(frozen=True)
class Shipped:
    """What the driver sends each worker once: file-read data sets and builder sources."""

    raws: dict[str, Any] = field(default_factory=dict)  # data.raw_key -> data Raw
    builders: dict[str, str] = field(default_factory=dict)  # builder file -> source
    driver: dict[str, Any] = field(default_factory=dict)  # what env.json says of the command


@dataclass(frozen=True)
class Message:
    """Worker -> driver: one event of a unit, with what it changed in its run's folder."""

    event: Event
    changes: list[Change]
    where: dict[str, Any]  # the node and worker


@dataclass(frozen=True)
class Begun:
    """Worker -> driver, first: the unit has reached the actor (its build may take a while)."""

    where: dict[str, Any]


@dataclass(frozen=True)
class Crash:
    """Worker -> driver: the unit stopped on an error outside any run's own record."""

    error: str


class Worker:
    """The actor's class (``ray.remote`` is applied by the launcher)."""

    def __init__(self, setup: WorkerSetup, slot: int) -> None:
        import ray

        self.scratch = Path(tempfile.mkdtemp(prefix="nnlab-ray-worker-"))
        os.chdir(self.scratch)
        if os.environ.get(OPEN_LOG):
            _log_opens(os.environ[OPEN_LOG])
        sys.unraisablehook = stopping.quiet_stops(sys.unraisablehook)
        from nnlab import backend, envinfo

        backend.limit_threads(setup.backend, setup.threads)
        backend.activate(setup.backend, setup.device)
        context = ray.get_runtime_context()
        self.where = {
            "launcher": "ray",
            "node_id": context.get_node_id(),
            "node_ip": ray.util.get_node_ip_address(),
            "slot": slot,
            "actor_id": context.get_actor_id(),
            "pid": os.getpid(),
        }
        envinfo.WORKER = dict(self.where)
        self.watch = Watch(self.scratch / "runs")
        self.supplied: set[str] = set()
        self.busy = threading.Lock()  # one unit at a time, whatever Ray's two threads allow

    def _supply(self, shipped_refs: list[Any]) -> None:
        """Take the driver's data sets and builder sources (in a list: the object itself is
        fetched here, once per worker, and from the node's object store after the first)."""
        import ray

        key = shipped_refs[0].hex()
        if key in self.supplied:
            return
        from nnlab import data, envinfo, models

        shipped: Shipped = ray.get(shipped_refs[0])
        data.supply(shipped.raws)
        models.supply_builders(shipped.builders)
        envinfo.DRIVER.update(shipped.driver)
        self.supplied.add(key)

    def ready(self) -> dict[str, Any]:
        return self.where

    def stop(self) -> None:
        """Stop the run in progress at its next epoch (an actor lives for one command: the
        request is never cleared)."""
        stopping.state.requested = True

    def close(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)

    def train(
        self, unit: Unit, run_end: RunEnd | None, shipped_refs: list[Any],
        checkpoints: dict[str, bytes] | None = None,
    ) -> Iterator[Begun | Message | Crash]:  # fmt: skip
        """Train ``unit`` in a thread, yielding its events as they come; ``checkpoints`` are
        the driver's copies of its runs' checkpoints, to resume from."""
        if not self.busy.acquire(blocking=False):
            raise RuntimeError("this actor is training another unit")
        try:
            yield Begun(self.where)  # first: fetching the data may take a while
            self._supply(shipped_refs)
            for run_id, data in (checkpoints or {}).items():
                (self.watch.root / run_id).mkdir(parents=True, exist_ok=True)
                store.atomic_write_bytes(self.watch.root / run_id / store.CHECKPOINT_FILE, data)
            yield from self._train(unit, run_end)
        finally:
            self.busy.release()

    def _train(self, unit: Unit, run_end: RunEnd | None) -> Iterator[Message | Crash]:
        out: queue.SimpleQueue[Message | Crash | None] = queue.SimpleQueue()
        started: list[str] = []  # runs started and not finished
        root = self.watch.root

        def emit(event: Event) -> None:
            run_id = getattr(event, "run_id", None)
            changes = self.watch.changes(run_id) if run_id else []
            out.put(Message(event, changes, self.where))
            if isinstance(event, RunStarted):
                started.append(event.run_id)
            elif isinstance(event, RunFinished):
                if event.run_id in started:
                    started.remove(event.run_id)
                self.watch.forget(event.run_id)
                shutil.rmtree(root / event.run_id, ignore_errors=True)

        def work() -> None:
            try:
                train_unit(unit, root, emit, run_end)
            except KeyboardInterrupt:  # each run in progress recorded itself interrupted
                for run_id in list(started):
                    result = store.read_json(root / run_id / store.RESULT_FILE)
                    emit(RunFinished(run_id, result or {"run_id": run_id,
                                                        "status": store.INTERRUPTED}))  # fmt: skip
            except BaseException as e:  # told to the driver, which records it
                from nnlab.train import describe_error

                out.put(Crash(describe_error(e)))
                for run_id in unit.run_ids:
                    shutil.rmtree(root / run_id, ignore_errors=True)
                    self.watch.forget(run_id)
            finally:
                out.put(None)

        root.mkdir(parents=True, exist_ok=True)
        threading.Thread(target=work, name="nnlab-ray-unit", daemon=True).start()
        while (message := out.get()) is not None:
            yield message


def _log_opens(log: str) -> None:
    """Append "mode path" to ``log`` for every file this process opens from now on."""
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def hook(name: str, args: tuple[Any, ...]) -> None:
        if name == "open" and isinstance(args[0], str | bytes | os.PathLike):
            mode = args[1] if isinstance(args[1], str) else f"flags={args[2]}"
            with contextlib.suppress(OSError):
                os.write(fd, f"{mode} {os.path.abspath(os.fsdecode(args[0]))}\n".encode())

    sys.addaudithook(hook)
