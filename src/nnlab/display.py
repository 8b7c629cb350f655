"""What the CLI shows while runs train: a live bar on a terminal, one line per finished run
otherwise, nothing with ``--quiet``. Used only by ``cli``."""

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

from nnlab import execute, names
from nnlab.sweep import RunSpec


def headline(result: dict[str, Any]) -> str:
    """``val_accuracy 0.953 (best 0.960 @ 41)``: the run's main validation number."""
    final, best = result.get("final") or {}, result.get("best") or {}
    key = next((k for k in final if k.startswith("val_") and k != "val_loss"), None)
    key = key or ("val_loss" if "val_loss" in final else "loss")
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


class LineProgress(execute.Progress):
    """One line per finished run, for logs and pipes."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.total = self.todo = self.done = 0
        self.t0 = time.perf_counter()

    def start(self, total: int, todo: int) -> None:
        self.total, self.todo = total, todo
        if todo < total:
            self.console.print(f"{total - todo} of {total} runs already finished; skipping them")

    def run_finished(self, spec: RunSpec, result: dict[str, Any]) -> None:
        self.done += 1
        status = result.get("status", "?")
        extra = headline(result) if status != "failed" else result.get("error", "")
        self.console.print(
            f"[{self.done}/{self.todo}] {spec.run_id} {status} "
            f"{result.get('epochs_run', 0)} epochs {result.get('wall_s', 0):.1f}s {extra}".rstrip(),
            highlight=False,
            markup=False,
        )


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

    def run_started(self, spec: RunSpec, index: int) -> None:
        self.epoch_tasks[spec.run_id] = self.bar.add_task(
            f"  {spec.run_id}", total=spec.config.train.epochs, info=""
        )

    def epoch(self, spec: RunSpec, epoch: int, logs: dict[str, Any]) -> None:
        info = "  ".join(
            f"{k} {_num(float(v))}" for k, v in logs.items() if k in ("loss", "val_loss")
            or (k.startswith("val_") and names.is_maximized(k))
        )  # fmt: skip
        task = self.epoch_tasks.get(spec.run_id)
        if task is not None:
            self.bar.update(task, completed=epoch, info=info)

    def run_finished(self, spec: RunSpec, result: dict[str, Any]) -> None:
        task = self.epoch_tasks.pop(spec.run_id, None)
        if task is not None:
            self.bar.remove_task(task)
        self.bar.update(self.runs_task, advance=1)
        super().run_finished(spec, result)

    def stop(self) -> None:
        for task in self.epoch_tasks.values():
            self.bar.remove_task(task)
        self.epoch_tasks.clear()
        self.bar.stop()


def make_progress(console: Console, quiet: bool) -> execute.Progress:
    if quiet:
        return execute.Progress()
    return BarProgress(console) if console.is_terminal else LineProgress(console)
