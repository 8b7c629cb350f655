"""What the CLI shows while runs train: a live bar on a terminal, one line per finished run
otherwise, nothing with ``--quiet``. A display is an event listener (``nnlab.events``): the
CLI passes it to ``execute`` as ``on_event``. Used only by ``cli``."""

from __future__ import annotations

import math
import time
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from nnlab import events, names


def headline(result: dict[str, Any]) -> str:
    """``val_accuracy 0.953 (best 0.960 @ 41)``: the run's main validation number (the
    training one, ``accuracy 0.953 ...``, without a validation set)."""
    final, best = result.get("final") or {}, result.get("best") or {}
    prefix = "val_" if "val_loss" in final else ""
    key = next((k for k in final if k.startswith(prefix) and k != f"{prefix}loss"
                and (prefix or not k.startswith("val_"))), f"{prefix}loss")  # fmt: skip
    if key not in final:
        return ""
    text = f"{key} {_num(final[key])}"
    if key in best:
        text += f" (best {_num(best[key])}"
        at = _best_epoch_of(result, key)
        text += f" @ {at})" if at is not None else ")"
    return text


def _best_epoch_of(result: dict[str, Any], key: str) -> int | None:
    return result.get("best_epoch") if result.get("monitor") == key else None


def _num(v: Any) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return str(v)
    return f"{v:.4g}"


MAX_EPOCH_BARS = 4  # runs in progress shown with their own epoch bar


class LineProgress:
    """One line per finished run, for logs and pipes."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.total = self.todo = self.done = 0
        self.t0 = time.perf_counter()

    def __call__(self, event: events.Event) -> None:
        if isinstance(event, events.StaleRunsRepaired):
            self.stale(event.run_ids)
        elif isinstance(event, events.SweepStarted):
            self.start(event.total, event.todo)
        elif isinstance(event, events.RunStarted):
            self.run_started(event.run_id, event.epochs)
        elif isinstance(event, events.EpochEnded):
            self.epoch(event.run_id, event.epoch, event.logs)
        elif isinstance(event, events.RunFinished):
            self.run_finished(event.run_id, event.result)
        elif isinstance(event, events.Notice):
            self.notice(event.text)
        elif isinstance(event, events.SweepStopped):
            self.stop()

    def notice(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False)

    def stale(self, run_ids: tuple[str, ...]) -> None:
        self.console.print(f"{len(run_ids)} run(s) left `running` by a command that did not "
                           "finish were marked interrupted; they are trained again when the "
                           "config still has them", markup=False)  # fmt: skip

    def start(self, total: int, todo: int) -> None:
        self.total, self.todo = total, todo
        if todo < total:
            self.console.print(f"{total - todo} of {total} runs already finished; skipping them")

    def run_started(self, run_id: str, epochs: int) -> None: ...

    def epoch(self, run_id: str, epoch: int, logs: dict[str, Any]) -> None: ...

    def run_finished(self, run_id: str, result: dict[str, Any]) -> None:
        self.done += 1
        status = result.get("status", "?")
        extra = headline(result) if status != "failed" else result.get("error", "")
        self.console.print(
            f"[{self.done}/{self.todo}] {run_id} {status} "
            f"{result.get('epochs_run', 0)} epochs {result.get('wall_s', 0):.1f}s {extra}".rstrip(),
            highlight=False,
            markup=False,
        )

    def stop(self) -> None: ...


class BarProgress(LineProgress):
    """A live bar for the runs and one for the current run's epochs, with ETA."""

    def __init__(self, console: Console) -> None:
        super().__init__(console)
        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[info]}"),
            console=console,
            transient=False,
        )
        self.runs_task: Any = None
        self.epoch_tasks: dict[str, Any] = {}  # one bar per run in progress (parallel workers)

    def start(self, total: int, todo: int) -> None:
        super().start(total, todo)
        self.bar.start()
        self.runs_task = self.bar.add_task("runs", total=todo, info="")

    def run_started(self, run_id: str, epochs: int) -> None:
        if len(self.epoch_tasks) < MAX_EPOCH_BARS:  # a fused group starts many at once
            self.epoch_tasks[run_id] = self.bar.add_task(f"  {run_id}", total=epochs, info="")

    def epoch(self, run_id: str, epoch: int, logs: dict[str, Any]) -> None:
        held_out = any(k.startswith("val_") for k in logs)  # else the training metrics rank
        info = "  ".join(
            f"{k} {_num(float(v))}" for k, v in logs.items() if k in ("loss", "val_loss")
            or (k.startswith("val_") == held_out and names.is_maximized(k))
        )  # fmt: skip
        task = self.epoch_tasks.get(run_id)
        if task is not None:
            self.bar.update(task, completed=epoch, info=info)

    def run_finished(self, run_id: str, result: dict[str, Any]) -> None:
        task = self.epoch_tasks.pop(run_id, None)
        if task is not None:
            self.bar.remove_task(task)
        self.bar.update(self.runs_task, advance=1)
        super().run_finished(run_id, result)

    def stop(self) -> None:
        for task in self.epoch_tasks.values():
            self.bar.remove_task(task)
        self.epoch_tasks.clear()
        self.bar.stop()


def make_display(console: Console, quiet: bool) -> events.OnEvent:
    """The event listener ``run`` and ``sweep`` give ``execute``."""
    if quiet:
        return events.ignore
    return BarProgress(console) if console.is_terminal else LineProgress(console)
