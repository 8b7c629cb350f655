"""Schedules the runs of an experiment: skips finished ones, trains the rest in this process
(one worker) or in N worker processes, rewrites summary.csv as runs finish, reports progress.

Workers are spawned processes that each import the backend once and take run after run from a
queue, with the CPU threads split between them. A worker ignores Ctrl-C (SIGINT); the main
process catches it and asks each worker to stop with SIGTERM, which the worker turns into one
KeyboardInterrupt so that its run records itself as interrupted. A worker that dies (killed,
out of memory) has its run recorded as failed and is replaced. A worker that cannot write its
run's folder (a full disk) tells the main process, which stops the others the same way and
raises the OSError, as the one-worker path does. A worker whose main process dies without a
word (kill -9) notices, records its run as interrupted and leaves.
"""

from __future__ import annotations

import contextlib
import functools
import os
import queue
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnlab import store, summary
from nnlab.sweep import RunSpec

STOP_GRACE_S = 60  # how long interrupted workers get to write their records

# Ctrl-C (SIGTERM in a worker) raises KeyboardInterrupt where Python happens to be, and
# Python discards it when that is a finalizer or weakref callback. The flag survives that:
# the epoch hook and the scheduling loops check it and raise again from a safe place.
_stop = {"requested": False}


def _request_stop(signum: int, frame: Any) -> None:
    _stop["requested"] = True
    raise KeyboardInterrupt


def _quiet_stops(previous: Any) -> Any:
    """A ``sys.unraisablehook`` for while runs train: a stop request that landed in a
    finalizer is not news (the flag raises it again), so Python's "Exception ignored in"
    report of it is not printed; anything else goes to ``previous``."""

    def hook(unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt) and _stop["requested"]:
            return
        previous(unraisable)

    return hook


def _check_stop() -> None:
    if _stop["requested"]:
        raise KeyboardInterrupt


def _reporting(report: Any) -> Any:
    """The epoch hook given to a run: report progress, and stop if a stop was requested."""

    def hook(epoch: int, logs: dict[str, Any]) -> None:
        _check_stop()
        report(epoch, logs)

    return hook


@dataclass
class Outcome:
    """What ``execute`` did: the result of every run, and which ones it trained now."""

    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    trained: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    interrupted: bool = False
    plot_error: str | None = None
    report: Path | None = None  # report.html, when it was written
    report_error: str | None = None

    @property
    def failed(self) -> list[str]:
        return [r for r, res in self.results.items() if res.get("status") == store.FAILED]


class Progress:
    """Hooks the CLI implements to show progress; the default shows nothing."""

    def start(self, total: int, todo: int) -> None: ...
    def run_started(self, spec: RunSpec, index: int) -> None: ...
    def epoch(self, spec: RunSpec, epoch: int, logs: dict[str, Any]) -> None: ...
    def run_finished(self, spec: RunSpec, result: dict[str, Any]) -> None: ...
    def stop(self) -> None: ...


def pending(specs: list[RunSpec], exp_dir: Path, force: bool) -> tuple[list[RunSpec], list[str]]:
    """Runs to train now, and the ids skipped because their result says completed or
    diverged (``force`` re-runs those too). Failed, interrupted and never-finished
    (``running`` after a crash) runs are always trained again."""
    todo, skipped = [], []
    for spec in specs:
        status = store.run_status(exp_dir / spec.run_id)
        if status in store.FINISHED and not force:
            skipped.append(spec.run_id)
        else:
            todo.append(spec)
    return todo, skipped


def execute(
    specs: list[RunSpec],
    exp_dir: Path,
    *,
    force: bool = False,
    workers: int = 1,
    progress: Progress | None = None,
    device: dict[str, Any] | None = None,
) -> Outcome:
    """Train every pending run of ``specs`` under ``exp_dir``.

    Returns the outcome; on Ctrl-C the bookkeeping is finished first and the outcome has
    ``interrupted`` set (the caller exits 130).
    """
    progress = progress or Progress()
    todo, skipped = pending(specs, exp_dir, force)
    outcome = Outcome(skipped=skipped)
    for spec in specs:
        if spec.run_id in skipped:
            outcome.results[spec.run_id] = store.read_json(exp_dir / spec.run_id / "result.json")
    summary.write_summary(exp_dir, specs, outcome.results)
    progress.start(len(specs), len(todo))
    by_id = {s.run_id: s for s in specs}

    def finished(run_id: str, result: dict[str, Any]) -> None:
        outcome.results[run_id] = result
        outcome.trained.append(run_id)
        summary.write_summary(exp_dir, specs, outcome.results)
        progress.run_finished(by_id[run_id], result)

    _stop["requested"] = False
    previous = signal.signal(signal.SIGINT, _request_stop)
    previous_hook = sys.unraisablehook
    sys.unraisablehook = _quiet_stops(previous_hook)
    disk: OSError | None = None  # a file that could not be written: it stops the command
    try:
        if workers <= 1 or len(todo) <= 1:
            _in_process(todo, exp_dir, progress, finished)
        else:
            _in_workers(todo, exp_dir, min(workers, len(todo)), progress, finished, device)
    except KeyboardInterrupt:
        outcome.interrupted = True
    except OSError as e:
        disk = e
    finally:
        signal.signal(signal.SIGINT, previous)
        sys.unraisablehook = previous_hook
        outcome.interrupted = outcome.interrupted or _stop["requested"]
        progress.stop()
        try:
            summary.write_summary(exp_dir, specs, _with_records(specs, exp_dir, outcome.results))
        except OSError:
            if disk is None:
                raise  # else the full disk fails this too: the first file is the one to name
    if disk is not None:
        raise disk
    if len(specs) > 1:
        outcome.plot_error = plot_experiment(exp_dir)
    outcome.report, outcome.report_error = write_report(exp_dir)
    return outcome


def plot_experiment(exp_dir: Path) -> str | None:
    """Draw the comparison plots; returns the problem, if any (never fatal: the results are
    safe on disk and ``nnlab plot`` can retry)."""
    from nnlab import plots

    try:
        plots.plot_experiment(exp_dir)
    except Exception as e:
        return f"{type(e).__name__}: {e}"
    return None


def write_report(exp_dir: Path) -> tuple[Path | None, str | None]:
    """Write report.md and report.html; returns the HTML path, or the problem (never fatal:
    the results are safe on disk and ``nnlab report`` can retry)."""
    from nnlab import report

    try:
        _, html = report.write_report(exp_dir)
    except Exception as e:
        return None, f"{type(e).__name__}: {e}"
    return html, None


def _with_records(
    specs: list[RunSpec], exp_dir: Path, results: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The results, plus what interrupted runs recorded on disk."""
    out = dict(results)
    for spec in specs:
        if spec.run_id not in out:
            record = store.read_json(exp_dir / spec.run_id / store.RESULT_FILE)
            if record is not None:
                out[spec.run_id] = record
    return out


def _in_process(todo: list[RunSpec], exp_dir: Path, progress: Progress, finished: Any) -> None:
    from nnlab import train  # imports Keras: the backend is active by now

    for i, spec in enumerate(todo):
        _check_stop()
        progress.run_started(spec, i)
        report = _reporting(functools.partial(progress.epoch, spec))
        result = train.run(spec, exp_dir / spec.run_id, report)
        plot_run(exp_dir / spec.run_id, result)
        finished(spec.run_id, result)


def plot_run(run_dir: Path, result: dict[str, Any]) -> None:
    """Draw the run's plots; a plotting problem is noted in the result, never fatal."""
    from nnlab import plots

    try:
        plots.plot_run(run_dir)
    except Exception as e:  # the run's data is safe on disk; `nnlab plot` can retry
        result["plot_error"] = f"{type(e).__name__}: {e}"
        store.write_json(run_dir / store.RESULT_FILE, result)


# ---------------------------------------------------------------------------------------------
# worker processes


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


PARENT_GONE = (
    "the nnlab command that started this worker died (kill -9, or the out-of-memory killer); "
    "the worker stopped the run and left"
)
_parent_gone = threading.Event()


def _watch_parent() -> None:
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
        _parent_gone.set()
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="nnlab-parent-watch", daemon=True).start()


def _worker_main(setup: WorkerSetup, tasks: Any, events: Any, exp_dir: Path) -> None:
    """Entry point of a worker process: set up once, then train runs until told to stop."""

    def stop(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: let the bookkeeping finish
        _request_stop(signum, frame)

    pid = os.getpid()
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process decides about Ctrl-C
        signal.signal(signal.SIGTERM, stop)
        _watch_parent()
        sys.unraisablehook = _quiet_stops(sys.unraisablehook)
        if setup.gpu is not None:
            os.environ["CUDA_VISIBLE_DEVICES"] = setup.gpu
        from nnlab import backend

        backend.limit_threads(setup.backend, setup.threads)
        backend.activate(setup.backend, setup.device)
        from nnlab import train

        while True:
            _check_stop()
            spec = tasks.get()
            if spec is None:
                return
            run_dir = exp_dir / spec.run_id
            events.put(("start", pid, spec.run_id))

            def report(epoch: int, logs: dict[str, Any], run_id: str = spec.run_id) -> None:
                events.put(("epoch", pid, run_id, epoch, logs))

            try:
                result = train.run(spec, run_dir, _reporting(report))
                plot_run(run_dir, result)
            except KeyboardInterrupt:  # train.run recorded the run as interrupted
                if _parent_gone.is_set():  # say why; nobody is listening for an event
                    with contextlib.suppress(OSError):  # not a completed run being plotted
                        if store.run_status(run_dir) in store.STOPPED:
                            store.record_end(run_dir, spec.run_id, store.INTERRUPTED, PARENT_GONE)
                    return
                events.put(("done", pid, spec.run_id, store.read_json(run_dir / "result.json")))
                return
            except OSError as e:  # the run's folder cannot be written: the parent says so
                signal.signal(signal.SIGTERM, signal.SIG_IGN)  # leaving; nothing to stop
                events.put(("oserror", pid, spec.run_id, (e.errno, e.strerror or str(e),
                                                          e.filename)))  # fmt: skip
                return
            events.put(("done", pid, spec.run_id, result))
    except KeyboardInterrupt:
        return
    finally:  # leaving: a late stop request must not interrupt the queue's flush at exit
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if _parent_gone.is_set():  # no reader: waiting for the flush would wait forever
            events.cancel_join_thread()


def _in_workers(
    todo: list[RunSpec],
    exp_dir: Path,
    n: int,
    progress: Progress,
    finished: Any,
    device: dict[str, Any] | None,
) -> None:
    import multiprocessing as mp

    ctx = mp.get_context("spawn")  # never fork a process that has a backend loaded
    tasks, events = ctx.Queue(), ctx.Queue()
    first = todo[0].config
    setups = worker_setups(n, first.backend, first.device, (device or {}).get("gpus", []))
    procs: dict[int, tuple[Any, WorkerSetup]] = {}

    def spawn(setup: WorkerSetup) -> None:
        p = ctx.Process(target=_worker_main, args=(setup, tasks, events, exp_dir), daemon=True)
        with child_ignores_sigint():
            p.start()
        procs[p.pid] = (p, setup)

    by_id = {s.run_id: s for s in todo}
    running: dict[int, str] = {}  # worker pid -> run id
    remaining = len(todo)
    try:
        for spec in todo:
            tasks.put(spec)
        for setup in setups:
            spawn(setup)
            tasks.put(None)  # one stop sign per worker, behind the runs
        while remaining:
            _check_stop()
            try:
                event = events.get(timeout=0.5)
            except queue.Empty:
                remaining -= _reap(procs, running, exp_dir, by_id, finished, spawn)
                if not procs:
                    return  # every worker is gone and none could be replaced
                continue
            kind, pid, run_id = event[:3]
            if kind == "start":
                running[pid] = run_id
                progress.run_started(by_id[run_id], len(todo) - remaining)
            elif kind == "epoch":
                progress.epoch(by_id[run_id], event[3], event[4])
            elif kind == "done":
                running.pop(pid, None)
                remaining -= 1
                finished(run_id, event[3])
            elif kind == "oserror":  # its record stays the whole `running` one: resumable
                running.pop(pid, None)
                raise OSError(*event[3])
    except (KeyboardInterrupt, OSError) as e:  # stop the others, keep what they finish
        why = ("interrupted by the user (Ctrl-C)" if isinstance(e, KeyboardInterrupt)
               else f"stopped because {e.filename or 'a file'} could not be written "
                    f"({e.strerror or e})")  # fmt: skip
        with contextlib.suppress(KeyboardInterrupt):  # another Ctrl-C cuts the wait short
            _stop_workers(procs, running, events, exp_dir, finished, why)
        raise  # the first error: what the user must hear about
    finally:
        # runs never handed out may still sit in this process's queue buffer, waiting for room
        # in the pipe (it holds ~50 specs); at exit, Python would wait for that forever
        tasks.cancel_join_thread()
        for p, _ in procs.values():
            p.join(timeout=5)


@contextlib.contextmanager
def child_ignores_sigint() -> Any:
    """Start a child process with SIGINT ignored from its first instruction. Ctrl-C in a
    terminal reaches the whole process group, and a worker still starting up (importing
    nnlab, before ``_worker_main`` can ignore SIGINT) would die with a KeyboardInterrupt
    traceback. Only an ignored signal stays so across exec, so this process ignores SIGINT
    for the few milliseconds ``start()`` takes; a Ctrl-C in them is lost (press it again).
    Blocking it instead does not help: the kernel hands it to another thread."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _reap(
    procs: dict[int, tuple[Any, WorkerSetup]],
    running: dict[int, str],
    exp_dir: Path,
    by_id: dict[str, RunSpec],
    finished: Any,
    spawn: Any,
) -> int:
    """Find workers that died; record their run as failed and start a replacement.
    Returns how many runs were settled that way."""
    settled = 0
    for pid, (p, setup) in list(procs.items()):
        if p.is_alive():
            continue
        del procs[pid]
        run_id = running.pop(pid, None)
        if run_id is None:
            continue  # it took its stop sign and left
        settled += 1
        result = store.record_end(exp_dir / run_id, run_id, store.FAILED,
                                  f"the worker process died (exit code {p.exitcode}) during the "
                                  "run; out of memory is the usual cause")  # fmt: skip
        finished(run_id, result)
        spawn(setup)
    return settled


def _stop_workers(
    procs: dict[int, tuple[Any, WorkerSetup]],
    running: dict[int, str],
    events: Any,
    exp_dir: Path,
    finished: Any,
    why: str,
) -> None:
    """Ctrl-C or a write error: ask every worker to stop, wait for them to leave, collect the
    records of the runs they interrupt, and record any run whose worker did not answer in
    time as interrupted, saying ``why``. A record that cannot be written stays the `running`
    one, which the next command trains again."""
    for pid, (p, _) in procs.items():
        if p.is_alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def settle(run_id: str, result: dict[str, Any] | None) -> None:
        if result is None or result.get("status") in store.STOPPED:
            try:  # say why (a worker's own record says Ctrl-C, whatever stopped it)
                result = store.record_end(exp_dir / run_id, run_id, store.INTERRUPTED, why)
            except OSError:  # the disk: its record stays `running`; the summary says why
                result = {"run_id": run_id, "status": store.INTERRUPTED, "error": why}
        with contextlib.suppress(OSError):
            finished(run_id, result)

    deadline = time.monotonic() + STOP_GRACE_S
    while time.monotonic() < deadline:
        try:
            event = events.get(timeout=0.5)
        except queue.Empty:
            if not any(p.is_alive() for p, _ in procs.values()):
                break  # every worker has left and what they said has been read
            continue
        kind, pid, run_id = event[:3]
        if kind == "start":  # it took a run before it heard: wait for that record too
            running[pid] = run_id
        elif kind == "done":
            running.pop(pid, None)
            settle(run_id, event[3])
        elif kind == "oserror":
            running.pop(pid, None)
    for pid, run_id in running.items():
        p = procs[pid][0]
        if p.is_alive():
            p.kill()
        settle(run_id, None)
