"""``data.validation: none`` (no held-out set) and ``train.evaluate_on`` (the final model's
``evaluate`` on the train, validation or all rows), through the whole pipeline: history,
result, summary, report, plots, diagnosis and resume, inline here (TensorFlow), in pool
workers, and fused on JAX (each of those in its own process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

import nnlab
from nnlab import listing, names
from nnlab.config import validate
from nnlab.data import load_dataset
from nnlab.expansion import expand

from helpers import TINY, merge

slow = pytest.mark.slow

NONE = merge(TINY, {
    "name": "none", "repeats": 2,
    "data": {"n_samples": 300, "validation": "none"},
    "train": {"epochs": 12, "evaluate_on": ["train", "all"],
              # the default monitor (val_loss) watches the training loss here; a min_delta no
              # epoch can reach stops every run after patience + 1 epochs
              "early_stopping": {"patience": 2, "min_delta": 0.5}},
    "sweep": {"train.learning_rate": [0.01, 0.1]},
})  # fmt: skip


def results_of(exp: Path) -> dict[str, dict[str, Any]]:
    return {p.parent.name: json.loads(p.read_text()) for p in exp.glob("*/result.json")}


# --- config and data ----------------------------------------------------------------------


def test_validation_none_trains_on_every_row_and_all_is_train_plus_validation():
    none = load_dataset(validate(NONE).data, seed=0)
    assert len(none.x_train) == 300 and len(none.x_val) == 0 and not none.held_out
    assert none.evaluation_set("all")[0].shape == (300, 2)
    quarter = load_dataset(validate(merge(NONE, {"data": {"validation": 0.25}})).data, seed=0)
    x_all, y_all = quarter.evaluation_set("all")
    assert quarter.held_out and (len(quarter.x_train), len(quarter.x_val)) == (225, 75)
    np.testing.assert_array_equal(x_all, np.concatenate([quarter.x_train, quarter.x_val]))
    assert y_all.tolist() == quarter.y_train.tolist() + quarter.y_val.tolist()
    # with nothing held out the baseline is the training rows' majority share
    assert none.majority_baseline() == pytest.approx(0.5)


def test_evaluate_on_keeps_existing_run_ids_and_is_hashed_when_set():
    base = merge(TINY, {"sweep": {"train.learning_rate": [0.01]}})
    plain = expand(validate(base))[0].run_id
    assert expand(validate(merge(base, {"train": {"evaluate_on": []}})))[0].run_id == plain
    assert expand(validate(merge(base, {"train": {"evaluate_on": ["all"]}})))[0].run_id != plain
    assert expand(validate(merge(base, {"data": {"validation": "none"}})))[0].run_id != plain


def test_monitors_watch_the_training_column_without_a_validation_set():
    cfg = validate(merge(NONE, {"train": {
        "early_stopping": {"monitor": "val_accuracy"},
        "lr_schedule": {"kind": "plateau"}}}))  # fmt: skip
    assert cfg.train.unlogged_monitors(["accuracy"], "binary", held_out=False) == []
    # val_mae is logged by some task: the config passes; on classification data it is not
    wrong = validate(merge(NONE, {"train": {"early_stopping": {"monitor": "val_mae"}}}))
    [problem] = wrong.train.unlogged_monitors(["accuracy"], "binary", held_out=False)
    assert problem.endswith("'val_mae' is never logged on binary data; valid: accuracy, loss")


def test_the_diagnosis_names_the_column_early_stopping_watched():
    from nnlab.diagnose import diagnose

    loss = [0.69, 0.5, 0.4, 0.33, 0.3, 0.29, 0.285, 0.29, 0.3, 0.31, 0.32, 0.33]
    rows = [{"epoch": e, "loss": v, "accuracy": 0.9} for e, v in enumerate(loss)]
    kept = diagnose(rows, kept_epoch=6, monitor="loss", baseline_accuracy=0.5)
    assert kept["label"] == "good fit", kept
    assert "kept the weights of epoch 6 of 11, where the training loss was lowest" in (
        kept["reason"])  # fmt: skip
    # no validation set: the training accuracy is held against the majority class
    flat = [{"epoch": e, "loss": 0.69 - 0.03 * e, "accuracy": 0.51} for e in range(12)]
    assert diagnose(flat, baseline_accuracy=0.5)["reason"].startswith(
        "the best accuracy 0.51 is no better than always predicting the majority class")


def test_the_training_metric_ranks_runs_without_validation_columns():
    assert names.target_column(["best_loss", "best_accuracy"]) == "best_accuracy"
    assert names.target_column(["best_loss", "best_mae"]) == "best_loss"
    assert names.target_column(["best_val_loss", "best_val_accuracy", "best_accuracy"]) == (
        "best_val_accuracy")  # fmt: skip
    assert names.is_maximized("all_accuracy") and not names.is_maximized("train_loss")


def test_beside_held_out_runs_a_column_every_run_has_ranks():
    cols = ["best_loss", "best_accuracy", "best_val_loss", "best_val_accuracy", "all_loss",
            "all_accuracy"]  # fmt: skip
    gaps = {"best_val_loss", "best_val_accuracy"}  # the runs trained with validation: none
    assert names.shared_target(cols, gaps.__contains__) == "all_accuracy"
    assert names.shared_target(cols[:4], gaps.__contains__) == "best_accuracy"
    assert names.shared_target(cols, lambda c: False) == "best_val_accuracy"


def test_a_sweep_of_held_out_and_not_held_out_runs_is_ranked_on_all_rows(tmp_path: Path):
    doc = merge(NONE, {"name": "mixed", "repeats": 1, "sweep": None,
                       "train": {"epochs": 3, "early_stopping": None}})  # fmt: skip
    doc["sweep"] = {"variants": {"none": {}, "held": {"data.validation": 0.25}}}
    nnlab.run(doc, out=tmp_path, quiet=True, fused=False)
    exp = tmp_path / "mixed"
    summary = pd.read_csv(exp / "summary.csv")
    assert summary["all_accuracy"].notna().all() and summary["best_val_accuracy"].isna().sum() == 1
    report = (exp / "report.md").read_text()
    assert "Some runs have no validation set (data.validation: none), so all_accuracy" in report
    assert "ranked by all_accuracy" in report
    best = summary.sort_values("all_accuracy", ascending=False).run_id.iloc[0]
    assert report.index(f"`{best}`") < min(report.index(f"`{r}`") for r in summary.run_id
                                            if r != best)  # fmt: skip
    # nnlab ls of the folder of experiments: the best all_accuracy, under its own name
    _, _, rows = listing.table(tmp_path)
    assert rows[0][3] == f"all_accuracy {summary.all_accuracy.max():.4g}"


# --- end to end, inline (TensorFlow) ------------------------------------------------------


@pytest.fixture(scope="module")
def none_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("none")
    nnlab.run(NONE, out=out, quiet=True, fused=False)
    return out / "none"


def test_no_validation_columns_anywhere_and_early_stopping_watched_the_loss(none_run: Path):
    results = results_of(none_run)
    assert len(results) == 4
    for run_id, res in results.items():
        history = pd.read_csv(none_run / run_id / "history.csv")
        assert not [c for c in history.columns if c.startswith("val_")]
        assert res["status"] == "completed" and res["n_val"] == 0 and res["n_train"] == 300
        assert res["monitor"] == "loss"
        assert res["epochs_run"] == 3 and res["stopped_epoch"] == 3  # patience 2, of 12
        assert res["diagnosis"]["label"]
        # train and all are the same 300 rows here
        ev = res["evaluated"]
        assert ev["train_accuracy"] == pytest.approx(ev["all_accuracy"], abs=1e-7)
        assert ev["train_loss"] == pytest.approx(ev["all_loss"], rel=1e-6)
        assert 0.0 <= ev["all_accuracy"] <= 1.0


def test_summary_report_and_plots_say_there_is_no_validation_set(none_run: Path):
    summary = pd.read_csv(none_run / "summary.csv")
    assert {"best_accuracy", "train_accuracy", "all_accuracy", "all_loss"} <= set(summary.columns)
    assert not [c for c in summary.columns if "val" in c]
    ev = {rid: r["evaluated"]["all_accuracy"] for rid, r in results_of(none_run).items()}
    assert dict(zip(summary.run_id, summary.all_accuracy, strict=True)) == pytest.approx(ev)
    report = (none_run / "report.md").read_text()
    assert "There is no validation set (data.validation: none)" in report
    assert "ranked by best_accuracy" in report and "training accuracy" in report
    assert "| all_accuracy |" in report.replace(" | all_loss", "")
    for name in ("curves_accuracy.png", "curves_loss.png", "best_accuracy_vs_learning_rate.png"):
        assert (none_run / "plots" / name).stat().st_size > 10_000
    for run_dir in none_run.glob("learning_rate=*"):
        assert (run_dir / "plots" / "learning_curves.png").stat().st_size > 10_000


def test_the_same_command_resumes_with_nothing_to_train(none_run: Path):
    before = {p: p.stat().st_mtime_ns for p in none_run.glob("*/history.csv")}
    exp = nnlab.run(NONE, out=none_run.parent, quiet=True, fused=False)
    assert len(exp.runs) == 4
    assert {p: p.stat().st_mtime_ns for p in none_run.glob("*/history.csv")} == before


def test_evaluate_on_uses_the_final_weights_and_all_is_the_row_weighted_mean(tmp_path: Path):
    doc = merge(TINY, {
        "name": "split", "data": {"n_samples": 400, "validation": 0.25},
        "train": {"epochs": 6, "evaluate_on": ["validation", "train", "all"]},
        "sweep": {"variants": {
            "last": {},
            # restores the best epoch's weights: evaluate sees those, not the last ones
            "restored": {"train.early_stopping": {"patience": 1, "min_delta": 0.5}},
        }},
    })  # fmt: skip
    nnlab.run(doc, out=tmp_path, quiet=True, fused=False)
    results = results_of(tmp_path / "split")
    last = next(r for rid, r in results.items() if rid.startswith("last"))
    restored = next(r for rid, r in results.items() if rid.startswith("restored"))
    for res in (last, restored):
        ev, n_train, n_val = res["evaluated"], res["n_train"], res["n_val"]
        mean = (n_train * ev["train_accuracy"] + n_val * ev["validation_accuracy"]) / 400
        assert ev["all_accuracy"] == pytest.approx(mean, abs=1e-6)
    assert last["evaluated"]["validation_loss"] == pytest.approx(last["final"]["val_loss"],
                                                                 rel=1e-5)  # fmt: skip
    assert restored["epochs_run"] == 2 and restored["weights_epoch"] == 1
    history = pd.read_csv(next((tmp_path / "split").glob("restored*/history.csv")))
    assert restored["evaluated"]["validation_loss"] == pytest.approx(
        history.val_loss.iloc[1], rel=1e-5)  # fmt: skip
    assert restored["evaluated"]["validation_loss"] != pytest.approx(history.val_loss.iloc[2])


# --- other launchers, each command in its own process ---------------------------------------


def nnlab_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    out = subprocess.run([sys.executable, "-m", "nnlab", *args], capture_output=True, text=True,
                         env=env, timeout=900)  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    return out


@slow
def test_pool_workers_train_without_a_validation_set(tmp_path: Path, none_run: Path):
    config = tmp_path / "none.yaml"
    config.write_text(yaml.safe_dump(merge(NONE, {"backend": "tensorflow"})))
    nnlab_cli("run", str(config), "-o", str(tmp_path), "--workers", "2", "--no-fused", "-q")
    pool, inline = results_of(tmp_path / "none"), results_of(none_run)
    assert pool.keys() == inline.keys()
    for run_id, res in pool.items():  # the same seeds and data: the same training
        assert res["monitor"] == "loss" and res["epochs_run"] == 3
        assert res["evaluated"]["all_accuracy"] == pytest.approx(
            inline[run_id]["evaluated"]["all_accuracy"], abs=1e-6)  # fmt: skip


@slow
def test_fused_members_equal_separate_runs_on_jax_without_a_validation_set(tmp_path: Path):
    pytest.importorskip("jax")
    doc = merge(NONE, {"backend": "jax", "train": {"evaluate_on": ["train", "all"]}})
    config = tmp_path / "none.yaml"
    config.write_text(yaml.safe_dump(doc))
    nnlab_cli("run", str(config), "-o", str(tmp_path / "fused"), "--fused", "-q")
    nnlab_cli("run", str(config), "-o", str(tmp_path / "separate"), "--no-fused", "-q")
    fused, separate = results_of(tmp_path / "fused" / "none"), results_of(
        tmp_path / "separate" / "none")  # fmt: skip
    assert fused.keys() == separate.keys() and len(fused) == 4
    for run_id, a in fused.items():
        b = separate[run_id]
        assert a["fused"]["members"] == 4 and "fused" not in b
        assert a["monitor"] == b["monitor"] == "loss" and a["epochs_run"] == b["epochs_run"] == 3
        for key, value in b["evaluated"].items():
            assert a["evaluated"][key] == pytest.approx(value, rel=1e-5, abs=1e-6), key
        h = [pd.read_csv(tmp_path / d / "none" / run_id / "history.csv").drop(
            columns="epoch_seconds") for d in ("fused", "separate")]  # fmt: skip
        assert list(h[0].columns) == list(h[1].columns) == [
            "epoch", "loss", "accuracy", "learning_rate"]  # fmt: skip
        np.testing.assert_allclose(h[0].to_numpy(float), h[1].to_numpy(float), rtol=1e-5,
                                   atol=1e-6)  # fmt: skip
