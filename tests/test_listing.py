"""What ``nnlab ls`` lists: summary rows, then runs the summary does not list yet."""

from __future__ import annotations

import pytest

from nnlab import listing, store
from nnlab.errors import NnlabError
from nnlab.lock import experiment_lock


def run(exp, run_id, **record):
    (exp / run_id).mkdir(parents=True)
    (exp / run_id / store.HISTORY_FILE).write_text("epoch,loss\n1,0.5\n")
    if record:
        store.write_json(exp / run_id / store.RESULT_FILE, {"run_id": run_id, **record})


def test_runs_left_running_are_stale_unless_a_command_holds_the_experiment(tmp_path):
    exp = tmp_path / "exp"
    exp.mkdir()
    (exp / store.SUMMARY_FILE).write_text(
        "run_id,status,best_val_accuracy,wall_s\na,completed,0.9,2\n"
    )
    run(exp, "a", status="completed")
    run(exp, "b", status="running", epochs_run=2, best={"val_accuracy": 0.5})
    rows = listing.run_rows(exp)
    assert [(r["run_id"], r["status"]) for r in rows] == [("a", "completed"), ("b", "stale")]
    assert rows[1]["best_val_accuracy"] == "0.5" and rows[1]["epochs_run"] == "2"
    with experiment_lock(exp):
        assert listing.run_rows(exp)[1]["status"] == "running"


def test_an_experiment_without_a_summary_lists_every_run_folder(tmp_path):
    exp = tmp_path / "exp"
    exp.mkdir()
    run(exp, "a", status="failed")
    run(exp, "b")  # no record at all
    _, cols, rows = listing.table(exp)
    assert cols == ["run", "status", "epochs", "best", "wall s", "diagnosis"]
    assert [r[:2] for r in rows] == [["a", "failed"], ["b", "?"]]


def test_a_folder_of_experiments_is_one_row_each(tmp_path):
    for name, best in (("one", "0.8"), ("two", "0.9")):
        exp = tmp_path / name
        exp.mkdir()
        (exp / store.SUMMARY_FILE).write_text(
            f"run_id,status,best_val_accuracy,wall_s\nr,completed,{best},3\n"
        )
        run(exp, "r", status="completed")
    _, cols, rows = listing.table(tmp_path)
    assert cols == ["experiment", "finished", "failed", "best", "wall s"]
    assert rows == [["one", "1/1", "0", "val_accuracy 0.8", "3"],
                    ["two", "1/1", "0", "val_accuracy 0.9", "3"]]  # fmt: skip


def test_a_folder_without_experiments_is_a_clear_error(tmp_path):
    with pytest.raises(NnlabError, match="no experiments here"):
        listing.table(tmp_path)
