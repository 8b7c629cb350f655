"""summary.csv as the training wing writes it: a row per run with a result, in config order."""

from __future__ import annotations

import csv

from nnlab import store, summary
from nnlab.config import validate
from nnlab.sweep import expand

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
