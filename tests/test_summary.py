"""summary.csv as the training wing writes it: a row per run with a result, in config order."""

from __future__ import annotations

import csv

import pytest

from nnlab import store, summary
from nnlab.config import validate
from nnlab.expansion import expand

from helpers import TINY, merge

SPECS = expand(validate(merge(TINY, {"sweep": {"train.learning_rate": [0.1, 0.01]}})))


def test_rows_follow_the_specs_with_axes_metrics_and_diagnosis(tmp_path):
    a, b = SPECS
    results = {
        b.run_id: {"status": "completed", "epochs_run": 3, "best_epoch": 2, "wall_s": 1.5,
                   "final": {"loss": 0.25, "val_accuracy": 0.9}, "best": {"loss": 0.2},
                   "diagnosis": {"label": "good fit"}},
        a.run_id: {"status": "failed", "error": "boom"},
    }  # fmt: skip
    path = summary.write_summary(tmp_path, SPECS, results)
    assert path == tmp_path / store.SUMMARY_FILE
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["run_id", "train.learning_rate", "seed", "status", "epochs_run",
                       "final_loss", "final_val_accuracy", "best_loss", "best_val_accuracy",
                       "best_epoch", "wall_s", "diagnosis"]  # fmt: skip
    assert rows[1] == [a.run_id, "0.1", "0", "failed", "", "", "", "", "", "", "", ""]
    assert rows[2] == [b.run_id, "0.01", "0", "completed", "3", "0.25", "0.9", "0.2", "",
                       "2", "1.5", "good fit"]  # fmt: skip


def test_runs_without_a_result_are_left_out_and_nan_is_an_empty_cell(tmp_path):
    results = {SPECS[1].run_id: {"status": "diverged", "final": {"loss": float("nan")}}}
    summary.write_summary(tmp_path, SPECS, results)
    with open(tmp_path / store.SUMMARY_FILE, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["run_id"] for r in rows] == [SPECS[1].run_id]
    assert rows[0]["final_loss"] == "" and rows[0]["status"] == "diverged"


GRID = expand(validate(merge(TINY, {"repeats": 2, "sweep": {"train.learning_rate": [0.1, 0.01]}})))


def done(i: int, **extra) -> dict:
    return {"status": "completed", "epochs_run": 3, "wall_s": 0.5 + i,
            "final": {"loss": 0.1 * i}, "best": {"loss": 0.05 * i}, **extra}  # fmt: skip


def test_finished_runs_are_appended_in_place_and_match_a_full_rewrite(tmp_path):
    book = summary.SummaryFile(tmp_path, GRID)
    book.rewrite({})
    book.append(GRID[0].run_id, done(0))  # the first row brings the metric columns: rewritten
    inode = (tmp_path / store.SUMMARY_FILE).stat().st_ino
    for i, spec in enumerate(GRID[1:], start=1):
        book.append(spec.run_id, done(i))
    assert (tmp_path / store.SUMMARY_FILE).stat().st_ino == inode  # appended, never replaced
    appended = (tmp_path / store.SUMMARY_FILE).read_text()
    summary.write_summary(tmp_path, GRID, {s.run_id: done(i) for i, s in enumerate(GRID)})
    assert appended == (tmp_path / store.SUMMARY_FILE).read_text()


def test_a_row_with_a_new_column_or_a_run_listed_again_rewrites_the_file(tmp_path):
    book = summary.SummaryFile(tmp_path, GRID)
    book.rewrite({GRID[0].run_id: done(0)})
    book.append(GRID[1].run_id, done(1, final={"loss": 0.2, "val_accuracy": 0.9}))
    with open(tmp_path / store.SUMMARY_FILE, newline="") as f:
        rows = list(csv.DictReader(f))
    assert "final_val_accuracy" in rows[0] and rows[1]["final_val_accuracy"] == "0.9"
    book.append(GRID[0].run_id, done(0, status="diverged"))
    with open(tmp_path / store.SUMMARY_FILE, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["run_id"], r["status"]) for r in rows] == [
        (GRID[0].run_id, "diverged"), (GRID[1].run_id, "completed")
    ]  # fmt: skip


def test_a_line_cut_by_a_kill_and_a_repeated_run_are_read_as_the_runs_that_finished(tmp_path):
    from nnlab import results

    book = summary.SummaryFile(tmp_path, GRID)
    book.rewrite({})
    for i, spec in enumerate(GRID[:3]):
        book.append(spec.run_id, done(i))
    path = tmp_path / store.SUMMARY_FILE
    with open(path, "a") as f:  # appended again, then killed in the middle of the next line
        f.write(path.read_text().splitlines()[1].replace("completed", "diverged") + "\n")
        f.write(f"{GRID[3].run_id},0.01,1,compl")
    df = results.read_summary(path)
    assert list(df["run_id"]) == [GRID[1].run_id, GRID[2].run_id, GRID[0].run_id]
    assert list(df["status"]) == ["completed", "completed", "diverged"]
    assert list(df["wall_s"]) == [1.5, 2.5, 0.5]
    text_rows = results.read_summary_text(path)
    assert [r["run_id"] for r in text_rows] == list(df["run_id"])


def test_a_full_disk_while_appending_names_the_summary_and_the_rest_wait_for_the_rewrite(
    tmp_path, monkeypatch
):
    import builtins
    import errno

    from nnlab import results

    book = summary.SummaryFile(tmp_path, GRID)
    book.rewrite({GRID[0].run_id: done(0)})
    real_open = builtins.open

    def full(file, mode="r", *args, **kwargs):
        if str(file).endswith(store.SUMMARY_FILE) and "a" in mode:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", full)
    with pytest.raises(OSError, match="No space left") as caught:
        book.append(GRID[1].run_id, done(1))
    assert caught.value.filename == str(tmp_path / store.SUMMARY_FILE)
    book.append(GRID[2].run_id, done(2))  # no append after a failed one: nothing raised
    monkeypatch.setattr(builtins, "open", real_open)
    book.rewrite(book.results)  # as the command does when it stops
    rows = results.read_summary_text(tmp_path / store.SUMMARY_FILE)
    assert [r["run_id"] for r in rows] == [s.run_id for s in GRID[:3]]


def test_runs_that_finish_out_of_order_are_in_config_order_after_the_rewrite(tmp_path):
    from nnlab import results

    book = summary.SummaryFile(tmp_path, GRID)
    book.rewrite({})
    for i in (3, 0, 2, 1):
        book.append(GRID[i].run_id, done(i))
    appended = [r["run_id"] for r in results.read_summary_text(tmp_path / store.SUMMARY_FILE)]
    assert appended == [GRID[i].run_id for i in (3, 0, 2, 1)]  # readers see them as they end
    book.rewrite(book.results)
    rows = results.read_summary_text(tmp_path / store.SUMMARY_FILE)
    assert [r["run_id"] for r in rows] == [s.run_id for s in GRID]
    assert [r["wall_s"] for r in rows] == ["0.5", "1.5", "2.5", "3.5"]


def test_a_cell_with_an_odd_line_separator_is_kept(tmp_path):
    from nnlab import results

    path = tmp_path / store.SUMMARY_FILE
    path.write_text('run_id,status,data.path\na,completed,"x\u2028y"\nb,completed,z\n')
    assert [r["data.path"] for r in results.read_summary_text(path)] == ["x\u2028y", "z"]
