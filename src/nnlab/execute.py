"""Schedules the runs of an experiment: skips finished ones, trains the rest in this process,
and reports progress. (Parallel workers arrive with the sweep engine.)"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnlab import store
from nnlab.sweep import RunSpec


@dataclass
class Outcome:
    """What ``execute`` did: the result of every run, and which ones it trained now."""

    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    trained: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[str]:
        return [r for r, res in self.results.items() if res.get("status") == store.FAILED]


class Progress:
    """Hooks the CLI implements to show progress; the default shows nothing."""

    def start(self, total: int, todo: int) -> None: ...
    def run_started(self, spec: RunSpec, index: int) -> None: ...
    def epoch(self, spec: RunSpec, epoch: int, logs: dict[str, Any]) -> None: ...
    def run_finished(self, spec: RunSpec, result: dict[str, Any]) -> None: ...


def pending(specs: list[RunSpec], exp_dir: Path, force: bool) -> tuple[list[RunSpec], list[str]]:
    """Runs to train now, and the ids skipped because their result says completed/diverged."""
    todo, skipped = [], []
    for spec in specs:
        status = store.run_status(exp_dir / spec.run_id)
        if status in store.FINISHED and not force:
            skipped.append(spec.run_id)
        else:
            todo.append(spec)
    return todo, skipped


def execute(
    specs: list[RunSpec], exp_dir: Path, *, force: bool = False, progress: Progress | None = None
) -> Outcome:
    """Train every pending run of ``specs`` under ``exp_dir``, one after another."""
    from nnlab import train  # imports Keras: the backend is active by now

    progress = progress or Progress()
    todo, skipped = pending(specs, exp_dir, force)
    outcome = Outcome(skipped=skipped)
    for run_id in skipped:
        outcome.results[run_id] = store.read_json(exp_dir / run_id / store.RESULT_FILE) or {}
    progress.start(len(specs), len(todo))
    for i, spec in enumerate(todo):
        progress.run_started(spec, i)
        report = functools.partial(progress.epoch, spec)
        result = train.run(spec, exp_dir / spec.run_id, report)
        outcome.results[spec.run_id] = result
        outcome.trained.append(spec.run_id)
        _plot(exp_dir / spec.run_id, result)
        progress.run_finished(spec, result)
    return outcome


def _plot(run_dir: Path, result: dict[str, Any]) -> None:
    """Draw the run's plots; a plotting problem is noted in the result, never fatal."""
    from nnlab import plots

    try:
        plots.plot_run(run_dir)
    except Exception as e:  # the run's data is safe on disk; `nnlab plot` can retry
        result["plot_error"] = f"{type(e).__name__}: {e}"
        store.write_json(run_dir / store.RESULT_FILE, result)
