"""The scheduling policy of ``execute``, with a fake launcher: nothing trains, so every rule
(skip, retrain, force, stale repair, lock, summary rewrites, stops, hooks) is checked in
milliseconds."""

from __future__ import annotations

import csv
import errno
from pathlib import Path
from typing import Any

import pytest

from nnlab import events, execute, store
from nnlab.config import validate
from nnlab.errors import LockError
from nnlab.expansion import expand
from nnlab.launchers import Launcher
from nnlab.lock import experiment_lock

from helpers import TINY, merge

SPECS = expand(validate(merge(TINY, {"repeats": 2, "sweep": {"train.batch_size": [8, 16]}})))


def summary_rows(exp_dir: Path) -> list[dict[str, str]]:
    with open(exp_dir / store.SUMMARY_FILE, newline="") as f:
        return list(csv.DictReader(f))


class Fake(Launcher):
    """Writes a record per run as a real run would, with the status ``statuses`` gives it
    (default completed); ``stop_after`` raises KeyboardInterrupt (Ctrl-C) after that many
    runs, ``disk_full_after`` an OSError."""

    def __init__(self, statuses: dict[str, str] | None = None, stop_after: int | None = None,
                 disk_full_after: int | None = None) -> None:  # fmt: skip
        self.statuses = statuses or {}
        self.stop_after, self.disk_full_after = stop_after, disk_full_after
        self.launched: list[str] = []
        self.summary_sizes: list[int] = []  # summary.csv rows seen as each run starts

    def launch(self, units, exp_dir, on_event):
        results: dict[str, dict[str, Any]] = {}
        for unit in units:
            for spec in unit.specs:
                if len(self.launched) == self.stop_after:
                    raise KeyboardInterrupt
                if len(self.launched) == self.disk_full_after:
                    raise OSError(errno.ENOSPC, "No space left on device", "x/history.csv")
                self.summary_sizes.append(len(summary_rows(exp_dir)))
                self.launched.append(spec.run_id)
                on_event(events.RunStarted(spec.run_id, spec.config.train.epochs))
                on_event(events.EpochEnded(spec.run_id, 1, {"loss": 0.5}))
                status = self.statuses.get(spec.run_id, store.COMPLETED)
                result = {"run_id": spec.run_id, "status": status, "epochs_run": 1,
                          "final": {"loss": 0.5}, "best": {"loss": 0.5}}  # fmt: skip
                store.begin_run(exp_dir / spec.run_id, spec.config.run_dict(), result)
                store.write_json(exp_dir / spec.run_id / store.RESULT_FILE, result)
                results[spec.run_id] = result
                on_event(events.RunFinished(spec.run_id, result))
        return results


def record(exp_dir: Path, run_id: str, status: str) -> None:
    (exp_dir / run_id).mkdir(parents=True, exist_ok=True)
    store.write_json(exp_dir / run_id / store.RESULT_FILE, {"run_id": run_id, "status": status})


def test_every_run_is_launched_once_and_the_summary_grows_run_by_run(tmp_path):
    fake, seen = Fake(), []
    outcome = execute.execute(SPECS, tmp_path, fake, on_event=seen.append, record={"a": 1})
    ids = [s.run_id for s in SPECS]
    assert fake.launched == ids and outcome.trained == ids and outcome.skipped == []
    assert fake.summary_sizes == [0, 1, 2, 3]  # rewritten after every finished run
    assert [r["run_id"] for r in summary_rows(tmp_path)] == ids
    assert [type(e).__name__ for e in seen][:1] == ["SweepStarted"]
    assert seen[0] == events.SweepStarted(total=4, todo=4)
    assert isinstance(seen[-1], events.SweepStopped)
    assert sum(isinstance(e, events.RunFinished) for e in seen) == 4
    assert store.read_json(tmp_path / SPECS[0].run_id / store.RESULT_FILE)["status"] == "completed"
    assert (tmp_path / store.EXPERIMENT_FILE).read_text() == "a: 1\n"


@pytest.mark.parametrize(
    ("status", "force", "trained_again"),
    [
        pytest.param(store.COMPLETED, False, False, id="completed_skipped"),
        pytest.param(store.DIVERGED, False, False, id="diverged_skipped"),
        pytest.param(store.FAILED, False, True, id="failed_retrained"),
        pytest.param(store.INTERRUPTED, False, True, id="interrupted_retrained"),
        pytest.param(store.COMPLETED, True, True, id="forced"),
    ],
)
def test_which_recorded_runs_train_again(tmp_path, status, force, trained_again):
    first = SPECS[0].run_id
    record(tmp_path, first, status)
    fake = Fake()
    outcome = execute.execute(SPECS, tmp_path, fake, force=force)
    assert (first in fake.launched) is trained_again
    assert len(fake.launched) == 3 + trained_again
    assert outcome.skipped == ([] if trained_again else [first])
    assert len(summary_rows(tmp_path)) == 4


def test_a_run_left_running_by_a_dead_command_is_repaired_and_trained_again(tmp_path):
    first = SPECS[0].run_id
    record(tmp_path, first, store.RUNNING)
    seen: list[events.Event] = []
    fake = Fake()
    outcome = execute.execute(SPECS, tmp_path, fake, on_event=seen.append)
    assert seen[0] == events.StaleRunsRepaired((first,))
    assert outcome.stale == [first] and first in fake.launched


def test_another_command_holding_the_experiment_stops_this_one_before_anything(tmp_path):
    fake = Fake()
    with experiment_lock(tmp_path), pytest.raises(LockError):
        execute.execute(SPECS, tmp_path, fake, record={"a": 1})
    assert fake.launched == [] and not (tmp_path / store.EXPERIMENT_FILE).exists()


def test_ctrl_c_keeps_what_finished_and_still_calls_the_end_hook(tmp_path):
    ended: list[execute.Outcome] = []
    fake = Fake(stop_after=2)
    outcome = execute.execute(SPECS, tmp_path, fake,
                              experiment_end=lambda d, s, o: ended.append(o))  # fmt: skip
    assert outcome.interrupted and outcome.trained == fake.launched and len(fake.launched) == 2
    assert [r["status"] for r in summary_rows(tmp_path)] == ["completed", "completed"]
    assert ended == [outcome]
    again = Fake()
    execute.execute(SPECS, tmp_path, again)  # the same command finishes the rest
    assert again.launched == [s.run_id for s in SPECS[2:]]


def test_a_full_disk_is_raised_after_the_summary_and_skips_the_end_hook(tmp_path):
    ended: list[Any] = []
    seen: list[events.Event] = []
    with pytest.raises(OSError, match="No space left"):
        execute.execute(SPECS, tmp_path, Fake(disk_full_after=1), on_event=seen.append,
                        experiment_end=lambda *a: ended.append(a))  # fmt: skip
    assert ended == [] and isinstance(seen[-1], events.SweepStopped)
    assert len(summary_rows(tmp_path)) == 1


def test_failed_runs_are_counted_as_failed(tmp_path):
    fake = Fake(statuses={SPECS[1].run_id: store.FAILED})
    outcome = execute.execute(SPECS, tmp_path, fake)
    assert outcome.failed == [SPECS[1].run_id]


def test_a_summary_cut_by_a_kill_is_accepted_and_made_whole_by_the_next_command(tmp_path):
    execute.execute(SPECS, tmp_path, Fake(stop_after=3))
    with open(tmp_path / store.SUMMARY_FILE, "a") as f:
        f.write(SPECS[3].run_id + ",16,1,compl")  # a kill -9 in the middle of an append
    from nnlab import results

    read = results.read_summary_text(tmp_path / store.SUMMARY_FILE)  # as ls and plots read it
    assert [r["run_id"] for r in read] == [s.run_id for s in SPECS[:3]]
    again = Fake()
    execute.execute(SPECS, tmp_path, again)
    assert again.launched == [SPECS[3].run_id]  # nothing lost, nothing trained twice
    rows = summary_rows(tmp_path)
    assert [r["run_id"] for r in rows] == [s.run_id for s in SPECS]
    assert {r["status"] for r in rows} == {"completed"}
