"""``nnlab.load`` and ``Experiment``: an experiment folder read from Python, also one that is
still running."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import nnlab
from nnlab import store
from nnlab.errors import NnlabError

# batch size, seed, status, best val_accuracy (None: no result yet)
RUNS = [
    (16, 0, "completed", 0.90), (16, 1, "completed", 0.92), (16, 2, "completed", 0.91),
    (64, 0, "completed", 0.80), (64, 1, "diverged", 0.50), (64, 2, "running", None),
]  # fmt: skip


def make(root: Path) -> Path:
    """Six runs of a batch-size sweep; the last one still running (two epochs so far)."""
    exp = root / "bs"
    exp.mkdir(parents=True)
    rows = []
    for bs, seed, status, acc in RUNS:
        rid = f"batch_size={bs}_seed={seed}_{bs}{seed}"
        run = exp / rid
        run.mkdir()
        epochs = 2 if status == "running" else 4
        history = store.RowFile(run / store.HISTORY_FILE, ["epoch", "loss", "val_accuracy"])
        history.write([[e, 1.0 / (e + 1), (acc or 0.6) * e / 3] for e in range(epochs)])
        history.close()
        record = {"run_id": rid, "status": status}
        if acc is not None:
            record.update(best={"val_accuracy": acc}, final={"val_accuracy": acc - 0.01})
        store.write_json(run / store.RESULT_FILE, record)
        if status != "running":  # summary.csv gets a row as each run finishes
            rows.append({"run_id": rid, "train.batch_size": bs, "seed": seed, "status": status,
                         "epochs_run": epochs - 1, "final_val_accuracy": acc - 0.01,
                         "best_val_accuracy": acc})  # fmt: skip
    pd.DataFrame(rows).to_csv(exp / store.SUMMARY_FILE, index=False)
    return exp


def test_load_reads_summary_statuses_and_the_long_history(tmp_path: Path) -> None:
    exp = nnlab.load(make(tmp_path))
    assert exp.name == "bs" and len(exp.runs) == 5  # summary.csv: the finished runs
    assert list(exp.summary["train.batch_size"]) == ["16", "16", "16", "64", "64"]  # as written
    assert exp.statuses["batch_size=64_seed=1_641"] == "diverged"
    history = exp.history()
    assert list(history.columns[:3]) == ["run_id", "train.batch_size", "seed"]
    assert len(history) == 5 * 4  # every epoch of every listed run, epoch 0 included
    last = history[history["run_id"] == "batch_size=16_seed=1_161"]["val_accuracy"].iloc[-1]
    assert last == pytest.approx(0.92)
    assert set(history["train.batch_size"]) == {"16", "64"}


def test_best_groups_and_verdict_rank_the_settings_by_the_target(tmp_path: Path) -> None:
    exp = nnlab.load(make(tmp_path))
    best = exp.best()
    assert best["run_id"] == "batch_size=16_seed=1_161" and best["best_val_accuracy"] == 0.92
    assert exp.best("final_val_accuracy")["run_id"] == best["run_id"]
    groups = exp.groups()
    assert list(groups["train.batch_size"]) == ["16", "64"]  # best first
    assert list(groups["runs"]) == [3, 1]  # the diverged run is not counted
    assert groups["mean"].iloc[0] == pytest.approx(0.91)
    assert groups["std"].iloc[0] == pytest.approx(0.01)
    verdict = exp.verdict()
    assert verdict.column == "best_val_accuracy" and verdict.best.values == {
        "train.batch_size": "16"}  # fmt: skip
    assert verdict.sentence
    with pytest.raises(NnlabError, match="metric: val_f1 is not in the summary; valid: "):
        exp.best("val_f1")


def test_a_run_folder_loads_as_an_experiment_of_one(tmp_path: Path) -> None:
    run = make(tmp_path) / "batch_size=64_seed=2_642"  # still running: two epochs so far
    exp = nnlab.load(run)
    assert exp.runs == [run.name] and exp.statuses == {run.name: "running"}
    assert list(exp.history()["epoch"]) == [0, 1]


def test_notebook_display_and_repr_say_what_is_there(tmp_path: Path) -> None:
    exp = nnlab.load(make(tmp_path))
    page = exp._repr_html_()
    assert "<table" in page and "batch_size=16_seed=0_160" in page and "Verdict:" in page
    assert repr(exp).endswith("4 completed, 1 diverged)")
    with pytest.raises(NnlabError, match="no such experiment or run folder"):
        nnlab.load(tmp_path / "nope")


def test_report_from_python_writes_the_html(tmp_path: Path) -> None:
    page = nnlab.load(make(tmp_path)).report()
    assert page.name == "report.html" and "batch_size" in page.read_text()


def test_import_nnlab_and_load_import_no_backend(tmp_path: Path) -> None:
    make(tmp_path)
    code = ("import sys, nnlab; e = nnlab.load(sys.argv[1]); e.summary; e.history(); "
            "backends = ('tensorflow', 'jax', 'keras', 'torch'); "
            "print(sorted(m for m in backends if m in sys.modules))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "bs")], capture_output=True,
                         text=True, check=True)  # fmt: skip
    assert out.stdout.strip() == "[]"
