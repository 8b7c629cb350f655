"""The scheduling policy of an experiment: what to skip, what to train again, and the
bookkeeping around it. Where and how runs train is a launcher's business (``launchers``).

Under the experiment's lock, ``execute`` records the raw config (``experiment.yaml``), marks
runs left ``running`` by a command that died as interrupted, skips runs whose record says
completed or diverged (unless forced), hands the rest to a launcher, adds a row to
summary.csv as each run finishes (and rewrites it whole at the start and the end), and calls
the caller's experiment-end hook (the CLI draws the comparison plots and writes the report
there). Ctrl-C is caught here for every launcher: the runs in progress record themselves as
interrupted, the summary is written, and the outcome says ``interrupted``. Imports nothing of
the reading wing.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnlab import events, stopping, store, summary
from nnlab.expansion import RunSpec
from nnlab.fused import groups
from nnlab.launchers import InlineLauncher, Launcher, Unit
from nnlab.lock import experiment_lock


@dataclass
class Outcome:
    """What ``execute`` did: the result of every run, and which ones it trained now."""

    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    trained: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # marked interrupted before training
    interrupted: bool = False
    plot_error: str | None = None  # set by the experiment-end hook
    report: Path | None = None  # report.html, when the hook wrote it
    report_error: str | None = None
    tensorboard_error: str | None = None  # train.tensorboard: writing the HParams failed

    @property
    def failed(self) -> list[str]:
        return [r for r, res in self.results.items() if res.get("status") == store.FAILED]


# called once the runs are over and the summary is written (not after a full disk)
ExperimentEnd = Callable[[Path, list[RunSpec], Outcome], None]


def pending(specs: list[RunSpec], exp_dir: Path, force: bool) -> tuple[list[RunSpec], list[str]]:
    """Runs to train now (``store.will_train``), and the ids skipped."""
    todo, skipped = [], []
    for spec in specs:
        if store.will_train(store.run_status(exp_dir / spec.run_id), force):
            todo.append(spec)
        else:
            skipped.append(spec.run_id)
    return todo, skipped


def execute(
    specs: list[RunSpec],
    exp_dir: Path,
    launcher: Launcher | None = None,
    *,
    force: bool = False,
    on_event: events.OnEvent = events.ignore,
    experiment_end: ExperimentEnd | None = None,
    record: dict[str, Any] | None = None,
    fused: str | bool = False,
) -> Outcome:
    """Train every pending run of ``specs`` under ``exp_dir`` with ``launcher`` (default:
    inline), holding the experiment's lock (``LockError`` when another command holds it).

    ``record`` is the raw config, written as ``experiment.yaml``. Returns the outcome; on
    Ctrl-C the bookkeeping is finished first and the outcome has ``interrupted`` set (the
    caller exits 130). An OSError (a full disk) is raised after the summary is written.
    ``fused`` (``auto``, True, False) says whether pending runs that share a program shape
    train as one fused group (``fused.groups.plan``).
    """
    exp_dir.mkdir(parents=True, exist_ok=True)
    with experiment_lock(exp_dir):
        if record is not None:
            store.write_yaml(exp_dir / store.EXPERIMENT_FILE, record)
        stale = store.mark_stale_runs(exp_dir)  # we hold the lock: left by the dead
        if stale:
            on_event(events.StaleRunsRepaired(tuple(stale)))
        outcome = _train_pending(
            specs, exp_dir, launcher or InlineLauncher(), force, on_event, fused
        )
        outcome.stale = stale
        if experiment_end is not None:
            experiment_end(exp_dir, specs, outcome)
        return outcome


def _train_pending(
    specs: list[RunSpec],
    exp_dir: Path,
    launcher: Launcher,
    force: bool,
    on_event: events.OnEvent,
    fused: str | bool = False,
) -> Outcome:
    todo, skipped = pending(specs, exp_dir, force)
    plan = groups.plan(todo, fused)
    outcome = Outcome(skipped=skipped)
    for spec in specs:
        if spec.run_id in skipped:
            outcome.results[spec.run_id] = store.read_json(exp_dir / spec.run_id / "result.json")
    book = summary.SummaryFile(exp_dir, specs)
    book.rewrite(outcome.results)
    on_event(events.SweepStarted(len(specs), len(todo)))
    for note in plan.notes:
        on_event(events.Notice(note))

    def listen(event: events.Event) -> None:
        if isinstance(event, events.RunFinished):
            outcome.results[event.run_id] = event.result
            outcome.trained.append(event.run_id)
            book.append(event.run_id, event.result)
        on_event(event)

    stopping.state.requested = False
    previous = signal.signal(signal.SIGINT, stopping.request)
    previous_hook = sys.unraisablehook
    sys.unraisablehook = stopping.quiet_stops(previous_hook)
    disk: OSError | None = None  # a file that could not be written: it stops the command
    try:
        launcher.launch([Unit(specs_, on) for specs_, on in plan.units], exp_dir, listen)
    except KeyboardInterrupt:
        outcome.interrupted = True
    except OSError as e:
        disk = e
    finally:
        signal.signal(signal.SIGINT, previous)
        sys.unraisablehook = previous_hook
        outcome.interrupted = outcome.interrupted or stopping.state.requested
        on_event(events.SweepStopped())
        try:
            book.rewrite(_with_records(specs, exp_dir, outcome.results))
        except OSError:
            if disk is None:
                raise  # else the full disk fails this too: the first file is the one to name
    if disk is not None:
        raise disk
    return outcome


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
