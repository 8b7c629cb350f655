"""The progress display, fed events by hand: what a user reads while a sweep trains."""

from __future__ import annotations

import io

from rich.console import Console

from nnlab import display, events


def console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=200, force_terminal=False), out


RESULT = {"status": "completed", "epochs_run": 12, "wall_s": 3.25, "monitor": "val_accuracy",
          "best_epoch": 9, "final": {"val_loss": 0.31, "val_accuracy": 0.9512},
          "best": {"val_accuracy": 0.96}}  # fmt: skip


def test_the_headline_is_the_validation_metric_with_its_best_epoch():
    assert display.headline(RESULT) == "val_accuracy 0.9512 (best 0.96 @ 9)"
    assert display.headline({"final": {"loss": 0.5}}) == "loss 0.5"
    assert display.headline({}) == ""


def test_lines_say_what_was_skipped_and_each_finished_run():
    c, out = console()
    show = display.make_display(c, quiet=False)
    assert isinstance(show, display.LineProgress)  # not a terminal: lines, no bar
    show(events.StaleRunsRepaired(("a",)))
    show(events.SweepStarted(total=5, todo=2))
    show(events.RunStarted("r1", 12))
    show(events.EpochEnded("r1", 1, {"loss": 1.0}))
    show(events.RunFinished("r1", RESULT))
    show(events.RunFinished("r2", {"status": "failed", "error": "boom", "wall_s": 0.5}))
    show(events.SweepStopped())
    assert out.getvalue().splitlines() == [
        "1 run(s) left `running` by a command that did not finish were marked interrupted; "
        "they are trained again when the config still has them",
        "3 of 5 runs already finished; skipping them",
        "[1/2] r1 completed 12 epochs 3.2s val_accuracy 0.9512 (best 0.96 @ 9)",
        "[2/2] r2 failed 0 epochs 0.5s boom",
    ]


def test_quiet_shows_nothing():
    assert display.make_display(console()[0], quiet=True) is events.ignore


def test_the_bar_tracks_each_run_in_progress_and_closes():
    c, _ = console()
    bar = display.BarProgress(c)
    bar(events.SweepStarted(total=2, todo=2))
    bar(events.RunStarted("r1", 10))
    bar(events.RunStarted("r2", 10))
    bar(events.EpochEnded("r1", 4, {"loss": 0.5, "val_accuracy": 0.8, "accuracy": 0.9}))
    task = bar.bar.tasks[bar.epoch_tasks["r1"]]
    assert (task.completed, task.total) == (4, 10)
    assert task.fields["info"] == "loss 0.5  val_accuracy 0.8"
    bar(events.RunFinished("r1", RESULT))
    assert list(bar.epoch_tasks) == ["r2"] and bar.bar.tasks[bar.runs_task].completed == 1
    bar(events.SweepStopped())
    assert bar.epoch_tasks == {}
