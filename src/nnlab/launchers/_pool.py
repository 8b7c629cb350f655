"""The pool launcher: N worker processes on this machine, each taking unit after unit.

Workers are spawned processes that each import the backend once and take units from a queue,
with the CPU threads split between them. A worker ignores Ctrl-C (SIGINT); the main process
catches it and asks each worker to stop with SIGTERM, which the worker turns into one
KeyboardInterrupt so that its run records itself as interrupted. A worker that dies (killed,
out of memory) has its runs recorded as failed and is replaced. A worker that cannot write its
run's folder (a full disk) tells the main process, which stops the others the same way and
raises the OSError, as the inline launcher does. A worker whose main process dies without a
word (kill -9) notices, records its run as interrupted and leaves.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnlab import stopping, store
from nnlab.events import EpochEnded, Event, Notice, OnEvent, RunFinished, RunStarted
from nnlab.launchers._base import Launcher, RunEnd, Unit, train_unit
from nnlab.launchers._inline import InlineLauncher

STOP_GRACE_S = 60  # how long interrupted workers get to write their records
PARENT_GONE = (
    "the nnlab command that started this worker died (kill -9, or the out-of-memory killer); "
    "the worker stopped the run and left"
)


@dataclass(frozen=True)
class WorkerSetup:
    backend: str
    device: str
    threads: int
    gpu: str | None  # the CUDA device this worker may see, when there are several


def worker_setups(n: int, backend: str, device: str, gpus: list[str]) -> list[WorkerSetup]:
    """Split the CPU threads between ``n`` workers; with several GPUs, one GPU per worker."""
    threads = max(1, (os.cpu_count() or 1) // n)
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    ids = [i for i in visible.split(",") if i.strip()] if visible else [
        str(i) for i in range(len(gpus))
    ]  # fmt: skip
    use_gpus = device != "cpu" and len(ids) > 1
    return [WorkerSetup(backend, device, threads, ids[i % len(ids)] if use_gpus else None)
            for i in range(n)]  # fmt: skip


@dataclass(frozen=True)
class DiskError:
    """Worker -> main: a run's folder could not be written; the worker has left."""

    run_id: str
    errno: int | None
    strerror: str
    filename: str | None


# the kind of each message a worker sends, first in the tuple: cheap to dispatch on
KINDS: dict[type, str] = {RunStarted: "start", EpochEnded: "epoch", RunFinished: "done",
                          DiskError: "oserror", Notice: "notice"}  # fmt: skip
parent_gone = threading.Event()


def watch_parent() -> None:
    """Stop this worker when the main process dies without telling it (kill -9 of its pid,
    the out-of-memory killer). Left alone, a worker would train the rest of the queue with
    nobody recording it, while the experiment's lock is free for the next command to train
    the same runs, and then hang at exit on a queue nobody reads. The main process holds the
    other end of the pipe behind ``parent_process().sentinel``; when it dies, the pipe ends
    and this thread sends the worker the SIGTERM a stop request is."""
    import multiprocessing as mp
    from multiprocessing.connection import wait

    parent = mp.parent_process()
    if parent is None:  # pragma: no cover - not started by multiprocessing
        return

    def watch() -> None:
        wait([parent.sentinel])
        parent_gone.set()
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="nnlab-parent-watch", daemon=True).start()


def worker_main(
    setup: WorkerSetup, tasks: Any, events: Any, exp_dir: Path, run_end: RunEnd | None
) -> None:
    """Entry point of a worker process: set up once, then train units until told to stop.
    Every message to the main process is ``(kind, pid, event)``, kind one of ``KINDS``."""

    def stop(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: let the bookkeeping finish
        stopping.request(signum, frame)

    pid = os.getpid()
    current: list[str] = []  # the run in progress

    def emit(event: Event | DiskError) -> None:
        if isinstance(event, RunFinished):
            current.clear()
        events.put((KINDS[type(event)], pid, event))
        if isinstance(event, RunStarted):  # only once the main process can know of it
            current[:] = [event.run_id]

    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process decides about Ctrl-C
        signal.signal(signal.SIGTERM, stop)
        watch_parent()
        sys.unraisablehook = stopping.quiet_stops(sys.unraisablehook)
        if setup.gpu is not None:
            os.environ["CUDA_VISIBLE_DEVICES"] = setup.gpu
        from nnlab import backend

        backend.limit_threads(setup.backend, setup.threads)
        backend.activate(setup.backend, setup.device)

        while True:
            stopping.check()
            unit = tasks.get()
            if unit is None:
                return
            try:
                train_unit(unit, exp_dir, emit, run_end)
            except KeyboardInterrupt:  # train.run recorded the run as interrupted
                if not current:
                    return
                run_dir = exp_dir / current[0]
                if parent_gone.is_set():  # say why; nobody is listening for an event
                    with contextlib.suppress(OSError):  # not a completed run being plotted
                        if store.run_status(run_dir) in store.STOPPED:
                            store.record_end(run_dir, current[0], store.INTERRUPTED, PARENT_GONE)
                    return
                emit(RunFinished(current[0], store.read_json(run_dir / store.RESULT_FILE)))
                return
            except OSError as e:  # the run's folder cannot be written: the parent says so
                signal.signal(signal.SIGTERM, signal.SIG_IGN)  # leaving; nothing to stop
                run_id = current[0] if current else unit.run_ids[0]
                emit(DiskError(run_id, e.errno, e.strerror or str(e), e.filename))
                return
    except KeyboardInterrupt:
        return
    finally:  # leaving: a late stop request must not interrupt the queue's flush at exit
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if parent_gone.is_set():  # no reader: waiting for the flush would wait forever
            events.cancel_join_thread()


@contextlib.contextmanager
def child_ignores_sigint() -> Iterator[None]:
    """Start a child process with SIGINT ignored from its first instruction. Ctrl-C in a
    terminal reaches the whole process group, and a worker still starting up (importing
    nnlab, before ``worker_main`` can ignore SIGINT) would die with a KeyboardInterrupt
    traceback. Only an ignored signal stays so across exec, so this process ignores SIGINT
    for the few milliseconds ``start()`` takes; a Ctrl-C in them is lost (press it again).
    Blocking it instead does not help: the kernel hands it to another thread."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class PoolLauncher(Launcher):
    """Trains in ``workers`` spawned processes; with one worker, or one unit, inline."""

    def __init__(
        self, workers: int, device: dict[str, Any] | None = None, run_end: RunEnd | None = None
    ) -> None:
        self.workers = workers
        self.gpus = list((device or {}).get("gpus", []))
        self.run_end = run_end

    def launch(
        self, units: Sequence[Unit], exp_dir: Path, on_event: OnEvent
    ) -> dict[str, dict[str, Any]]:
        if self.workers <= 1 or len(units) <= 1:
            return InlineLauncher(self.run_end).launch(units, exp_dir, on_event)
        return _Pool(self, units, exp_dir, on_event).run()


class _Pool:
    """One launch of the pool: the queues, the workers and what each is doing."""

    def __init__(
        self, launcher: PoolLauncher, units: Sequence[Unit], exp_dir: Path, on_event: OnEvent
    ) -> None:
        import multiprocessing as mp

        self.ctx = mp.get_context("spawn")  # never fork a process that has a backend loaded
        self.tasks, self.events = self.ctx.Queue(), self.ctx.Queue()
        self.units, self.exp_dir, self.on_event = units, exp_dir, on_event
        self.run_end = launcher.run_end
        first = units[0].specs[0].config
        n = min(launcher.workers, len(units))
        self.setups = worker_setups(n, first.backend, first.device, launcher.gpus)
        self.procs: dict[int, tuple[Any, WorkerSetup]] = {}
        self.unit_of = {run_id: unit for unit in units for run_id in unit.run_ids}
        self.taken: dict[int, list[str]] = {}  # worker pid -> runs of its unit not yet settled
        self.running: dict[int, str] = {}  # worker pid -> the run it trains
        self.results: dict[str, dict[str, Any]] = {}
        self.remaining = sum(len(u.specs) for u in units)

    def spawn(self, setup: WorkerSetup) -> None:
        args = (setup, self.tasks, self.events, self.exp_dir, self.run_end)
        p = self.ctx.Process(target=worker_main, args=args, daemon=True)
        with child_ignores_sigint():
            p.start()
        self.procs[p.pid] = (p, setup)

    def settle(self, pid: int | None, run_id: str, result: dict[str, Any]) -> None:
        if pid is not None:
            if self.running.get(pid) == run_id:
                del self.running[pid]
            if run_id in self.taken.get(pid, []):
                self.taken[pid].remove(run_id)
        self.results[run_id] = result
        self.remaining -= 1
        self.on_event(RunFinished(run_id, result))

    def run(self) -> dict[str, dict[str, Any]]:
        try:
            for unit in self.units:
                self.tasks.put(unit)
            for setup in self.setups:
                self.spawn(setup)
                self.tasks.put(None)  # one stop sign per worker, behind the units
            while self.remaining > 0:
                stopping.check()
                try:
                    _, pid, event = self.events.get(timeout=0.5)
                except queue.Empty:
                    self.reap()
                    if not self.procs:
                        break  # every worker is gone and none could be replaced
                    continue
                self.handle(pid, event)
        except (KeyboardInterrupt, OSError) as e:  # stop the others, keep what they finish
            why = ("interrupted by the user (Ctrl-C)" if isinstance(e, KeyboardInterrupt)
                   else f"stopped because {e.filename or 'a file'} could not be written "
                        f"({e.strerror or e})")  # fmt: skip
            with contextlib.suppress(KeyboardInterrupt):  # another Ctrl-C cuts the wait short
                self.stop_workers(why)
            raise  # the first error: what the user must hear about
        finally:
            # units never handed out may still sit in this process's queue buffer, waiting
            # for room in the pipe (it holds ~50); at exit, Python would wait for that forever
            self.tasks.cancel_join_thread()
            for p, _ in self.procs.values():
                p.join(timeout=5)
        return self.results

    def handle(self, pid: int, event: Any) -> None:
        if isinstance(event, RunStarted):
            if event.run_id not in self.taken.get(pid, []):  # the first run of a new unit
                self.taken[pid] = list(self.unit_of[event.run_id].run_ids)
            self.running[pid] = event.run_id
            self.on_event(event)
        elif isinstance(event, RunFinished):
            self.settle(pid, event.run_id, event.result)
        elif isinstance(event, DiskError):  # its record stays the whole `running` one
            self.running.pop(pid, None)
            self.taken.pop(pid, None)
            raise OSError(event.errno, event.strerror, event.filename)
        else:
            self.on_event(event)

    def reap(self) -> None:
        """Find workers that died; record their runs as failed and start a replacement."""
        for pid, (p, setup) in list(self.procs.items()):
            if p.is_alive():
                continue
            del self.procs[pid]
            current = self.running.pop(pid, None)
            left = self.taken.pop(pid, [])
            if current is None and not left:
                continue  # it took its stop sign and left
            # the runs of its unit it never started stay without a record: the next command
            # trains them (a failed record would overwrite one a --force run was replacing)
            self.remaining -= len([r for r in left if r != current])
            if current is not None:
                why = (f"the worker process died (exit code {p.exitcode}) during the run; out "
                       "of memory is the usual cause")  # fmt: skip
                result = store.record_end(self.exp_dir / current, current, store.FAILED, why)
                self.settle(None, current, result)
            self.spawn(setup)

    def stop_workers(self, why: str) -> None:
        """Ctrl-C or a write error: ask every worker to stop, wait for them to leave, collect
        the records of the runs they interrupt, and record any run whose worker did not answer
        in time as interrupted, saying ``why``. A record that cannot be written stays the
        `running` one, which the next command trains again."""
        for pid, (p, _) in self.procs.items():
            if p.is_alive():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)

        def settle(pid: int | None, run_id: str, result: dict[str, Any] | None) -> None:
            if result is None:  # its worker never said how it ended: its record may know
                result = store.read_json(self.exp_dir / run_id / store.RESULT_FILE)
            if result is None or result.get("status") in store.STOPPED:
                try:  # say why (a worker's own record says Ctrl-C, whatever stopped it)
                    result = store.record_end(self.exp_dir / run_id, run_id, store.INTERRUPTED,
                                              why)  # fmt: skip
                except OSError:  # the disk: its record stays `running`; the summary says why
                    result = {"run_id": run_id, "status": store.INTERRUPTED, "error": why}
            with contextlib.suppress(OSError):
                self.settle(pid, run_id, result)

        deadline = time.monotonic() + STOP_GRACE_S
        while time.monotonic() < deadline:
            try:
                _, pid, event = self.events.get(timeout=0.5)
            except queue.Empty:
                if not any(p.is_alive() for p, _ in self.procs.values()):
                    break  # every worker has left and what they said has been read
                continue
            if isinstance(event, RunStarted):  # it took a run before it heard: wait for it
                self.running[pid] = event.run_id
            elif isinstance(event, RunFinished):
                settle(pid, event.run_id, event.result)
            elif isinstance(event, DiskError):
                self.running.pop(pid, None)
        for pid, run_id in list(self.running.items()):
            p = self.procs[pid][0]
            if p.is_alive():
                p.kill()
            settle(pid, run_id, None)
