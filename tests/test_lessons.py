"""The lessons in configs/: every file validates and dry-runs, and a shortened run of each
lesson (fewer epochs or samples, marked slow) shows the lesson's direction, with numbers.

The full runs and what they printed are in docs/lessons.md.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from nnlab import store
from nnlab.cli import app

from helpers import long_table, merge

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))
runner = CliRunner()


# every config in configs/ and how many runs it expands to (sweep points x repeats)
RUNS = {
    "blobs-minibatch-loss": 6, "cifar10-lenet5": 6, "circles": 1,
    "circles-activation-depth": 9, "circles-batch-gradient-descent": 9,
    "circles-plateau-and-batch-norm": 9, "circles-small-data-regularization": 12,
    "circles-sweep": 12, "mnist-learning-rate": 9, "mnist-mlp": 3, "pima": 1,
    "pima-batch-size": 9, "pima-learning-rate": 6, "pima-learning-rate-search": 24,
    "vanishing-gradients": 9,
}  # fmt: skip


def test_every_config_is_listed():
    assert sorted(p.stem for p in CONFIGS) == sorted(RUNS)


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_every_config_validates_and_dry_runs(path: Path, tmp_path: Path):
    doc = yaml.safe_load(path.read_text())
    assert doc["name"] == path.stem, "a config is named for its file"
    assert len(doc.get("description", "")) > 40, "a config says what question it answers"
    dry = runner.invoke(app, ["run", str(path), "--dry-run", "--out", str(tmp_path)])
    assert dry.exit_code == 0, dry.output
    n = RUNS[path.stem]
    assert f"\n{n} run{'s' * (n != 1)} ({n} to train, 0 already finished); dry run" in dry.output
    assert not any(tmp_path.iterdir()), "a dry run writes nothing"


# ---------------------------------------------------------------------------------------------
# shortened lessons


def lesson(
    name: str, tmp_path: Path, changes: dict[str, Any], may_diverge: bool = False
) -> tuple[Path, pd.DataFrame]:
    """Run ``configs/<name>.yaml`` with ``changes`` merged in; the experiment and summary.
    Every run must complete (or, with ``may_diverge``, diverge: the loss became NaN)."""
    doc = merge(yaml.safe_load((ROOT / "configs" / f"{name}.yaml").read_text()), changes)
    config = tmp_path / f"{name}.yaml"
    config.write_text(yaml.safe_dump(doc, sort_keys=False))
    result = runner.invoke(app, ["run", str(config), "--out", str(tmp_path), "-q"])
    assert result.exit_code == 0, result.output
    exp = tmp_path / name
    summary = pd.read_csv(exp / store.SUMMARY_FILE)
    allowed = {"completed", "diverged"} if may_diverge else {"completed"}
    assert set(summary["status"]) <= allowed, summary[["run_id", "status"]]
    return exp, summary


def history(exp: Path, run_id: str) -> pd.DataFrame:
    return pd.read_csv(exp / run_id / store.HISTORY_FILE)


def by(summary: pd.DataFrame, axis: str, column: str) -> dict[str, float]:
    """Mean of ``column`` per value of ``axis`` (as text)."""
    return summary.groupby(summary[axis].astype(str))[column].mean().to_dict()


@pytest.mark.slow
def test_lesson_3_mnist_starts_at_chance_and_learns_in_one_epoch(tmp_path, shared_cache):
    exp, summary = lesson("mnist-mlp", tmp_path, {"repeats": 1, "train": {"epochs": 2}})
    h = history(exp, summary["run_id"][0])
    # the untrained model: ln(10) = 2.30 loss, one class in ten right
    assert 2.1 < h["loss"][0] < 2.6 and 0.03 < h["accuracy"][0] < 0.2, h.iloc[0]
    assert h["val_accuracy"][1] > 0.8 and h["val_accuracy"][2] > h["val_accuracy"][1], h


@pytest.mark.slow
def test_lesson_5_cifar10_lenet5_both_variants_train_on_arrays_of_its_shape(tmp_path):
    # no CIFAR-10 copy offline: random 32x32x3 images whose class is set by a bright patch
    rng = np.random.default_rng(0)

    def images(n: int) -> tuple[np.ndarray, np.ndarray]:
        x = rng.integers(0, 128, size=(n, 32, 32, 3), dtype=np.uint8)
        y = rng.integers(0, 10, size=(n, 1), dtype=np.uint8)  # (n, 1) as Keras ships it
        for i, label in enumerate(y[:, 0]):
            x[i, 3 * label : 3 * label + 3, :, label % 3] = 255
        return x, y

    (x_train, y_train), (x_test, y_test) = images(1024), images(256)
    npz = tmp_path / "cifar-shaped.npz"
    np.savez(npz, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    exp, summary = lesson(
        "cifar10-lenet5", tmp_path,
        {"repeats": 1, "data": {"path": str(npz)}, "train": {"epochs": 3}},
    )  # fmt: skip
    assert sorted(summary["variant"]) == ["normalized", "plain"]
    for _, row in summary.iterrows():
        result = store.read_json(exp / row["run_id"] / store.RESULT_FILE)
        assert result["n_train"] == 1024 and result["n_val"] == 256
        assert result["regularized"] is (row["variant"] == "normalized")  # batch norm layers
        assert row["best_val_accuracy"] > 0.3, row  # the patch is learnable: chance is 0.1


def loss_fall(exp: Path, run_id: str) -> float:
    """How much of its untrained value the training loss lost by the end (the mean of the
    last 3 epochs); NaN when the loss became NaN or infinite."""
    h = history(exp, run_id)
    return float(1 - h["loss"].iloc[-3:].mean() / h["loss"].iloc[0])


@pytest.mark.slow
def test_lesson_2_pima_a_tiny_sgd_learning_rate_barely_moves(tmp_path, shared_cache):
    changes = {"repeats": 1, "train": {"epochs": 10}}
    exp, summary = lesson("pima-learning-rate", tmp_path, changes, may_diverge=True)
    rows = {str(r["train.learning_rate"]): r for _, r in summary.iterrows()}
    assert rows["0.0001"]["status"] == "completed"
    assert loss_fall(exp, rows["0.0001"]["run_id"]) < 0.03  # measured: 1 %
    # the huge rate moves the loss a lot in the first epochs (measured: 35 % down); on
    # another machine's arithmetic it may as well blow up, which the lesson expects too
    if rows["0.75"]["status"] == "completed":
        assert loss_fall(exp, rows["0.75"]["run_id"]) > 0.25


@pytest.mark.slow
def test_lesson_4_mnist_adams_learning_rate_too_low_learns_slowest(tmp_path, shared_cache):
    _, summary = lesson("mnist-learning-rate", tmp_path, {"repeats": 1, "train": {"epochs": 3}})
    loss = by(summary, "train.learning_rate", "final_loss")
    assert loss["0.0001"] > 1.5 * loss["0.001"], loss
    acc = by(summary, "train.learning_rate", "best_val_accuracy")
    assert acc["0.001"] > acc["0.0001"], acc


@pytest.mark.slow
def test_lesson_7_sigmoid_gradients_vanish_in_the_first_layer_and_tanh_learns(tmp_path):
    changes = {"repeats": 2, "data": {"n_samples": 600},
               "train": {"epochs": 20, "learning_rate": 0.005}}  # fmt: skip
    exp, summary = lesson("vanishing-gradients", tmp_path, changes)
    assert len(summary) == 6
    std: dict[str, list[float]] = {}
    for _, row in summary.iterrows():
        g = long_table(exp / row["run_id"] / store.GRADIENTS_FILE)
        std.setdefault(row["model.activation"], []).append(g[(1, "dense1", "kernel", "std")])
    sigmoid, tanh = np.mean(std["sigmoid"]), np.mean(std["tanh"])
    assert sigmoid < tanh / 10, std  # measured: about 50x smaller
    acc = by(summary, "model.activation", "best_val_accuracy")
    assert acc["tanh"] > acc["sigmoid"] + 0.1, acc
    # the per-layer plots are drawn for each run and compared across the sweep
    assert (exp / summary["run_id"][0] / "plots" / "gradients.png").is_file()
    assert (exp / "plots" / "gradients_std.png").is_file()


@pytest.mark.slow
def test_lesson_6_one_relu_layer_beats_three_sigmoid_layers(tmp_path):
    changes = {"repeats": 2, "train": {"epochs": 40}, "sweep": {"variants": {"sigmoid-5": None}}}
    _, summary = lesson("circles-activation-depth", tmp_path, changes)
    acc = by(summary, "variant", "best_val_accuracy")
    assert sorted(acc) == ["relu-5", "sigmoid-3x5"]
    assert acc["relu-5"] > acc["sigmoid-3x5"] + 0.15, acc  # measured: 0.83 against 0.53


@pytest.mark.slow
def test_lesson_9_every_minibatch_loss_falls_faster_at_the_higher_rate(tmp_path):
    changes = {"repeats": 1, "data": {"n_samples": 2000}, "train": {"epochs": 3}}
    exp, summary = lesson("blobs-minibatch-loss", tmp_path, changes)
    last: dict[str, pd.Series] = {}
    for _, row in summary.iterrows():
        batches = pd.read_csv(exp / row["run_id"] / store.BATCHES_FILE)
        assert len(batches) == 3 * math.ceil(1500 / 32)  # every step of every epoch
        assert (batches["step"].diff().dropna() == 1).all()
        last[str(row["train.learning_rate"])] = batches[batches["epoch"] == 3]["loss"]
        assert (exp / row["run_id"] / "plots" / "batches.png").is_file()
    assert last["0.01"].mean() < last["0.001"].mean() - 0.1, {k: v.mean() for k, v in last.items()}
    assert last["0.01"].std() > 0.01  # minibatches are noisy: no two give the same loss


@pytest.mark.slow
def test_lesson_10_random_log_search_with_restarts_beats_the_no_skill_baseline(
    tmp_path, shared_cache
):
    changes = {"repeats": 2, "train": {"epochs": 15}, "sweep": {"samples": 3}}
    exp, summary = lesson("pima-learning-rate-search", tmp_path, changes)
    rates = sorted(set(summary["train.learning_rate"]))
    assert len(rates) == 3 and all(1e-4 <= r <= 1.0 for r in rates), rates
    assert summary.groupby("train.learning_rate")["seed"].nunique().tolist() == [2, 2, 2]
    baseline = store.read_json(exp / summary["run_id"][0] / store.RESULT_FILE)["baseline_accuracy"]
    assert baseline == pytest.approx(0.65, abs=0.01)  # 500 of 768 have no diabetes
    assert max(by(summary, "train.learning_rate", "best_val_accuracy").values()) > baseline + 0.05
    md = (exp / "report.md").read_text()
    assert "No-skill baseline: always predicting the majority class gives 0.65" in md
    assert "Welch's t-test" in md  # two seeds each: the best is tested against the runner-up


@pytest.mark.slow
def test_lesson_1_pima_batch_gradient_descent_learns_least_in_the_same_epochs(
    tmp_path, shared_cache
):
    changes = {"repeats": 1, "data": {"subset": 200}, "train": {"epochs": 20},
               "sweep": {"train.batch_size": [1, "full"]}}  # fmt: skip
    exp, summary = lesson("pima-batch-size", tmp_path, changes)
    fall = {str(r["train.batch_size"]): loss_fall(exp, r["run_id"]) for _, r in summary.iterrows()}
    # 20 epochs are 3000 updates with batch 1 and 20 with the whole set
    assert fall["1"] > fall["full"] + 0.15, fall  # measured: 98 % against 36 % (raw features)


@pytest.mark.slow
def test_lesson_8a_stochastic_gradient_descent_learns_circles_first(tmp_path):
    changes = {"repeats": 1, "data": {"n_samples": 400}, "train": {"epochs": 15},
               "sweep": {"train.batch_size": ["full", 1]}}  # fmt: skip
    exp, summary = lesson("circles-batch-gradient-descent", tmp_path, changes)
    fall = {str(r["train.batch_size"]): loss_fall(exp, r["run_id"]) for _, r in summary.iterrows()}
    assert fall["1"] > fall["full"] + 0.15, fall  # measured: 96 % against 6 %


@pytest.mark.slow
def test_lesson_8b_batch_norm_learns_faster_and_the_plateau_cuts_the_rate(tmp_path):
    plateau = {"kind": "plateau", "factor": 0.1, "patience": 1, "min_delta": 0.1}
    changes = {"repeats": 2, "train": {"epochs": 8},
               "sweep": {"variants": {"plateau": {"train.lr_schedule": plateau}}}}  # fmt: skip
    exp, summary = lesson("circles-plateau-and-batch-norm", tmp_path, changes)
    early: dict[str, list[float]] = {}
    rates: dict[str, list[float]] = {}
    for _, row in summary.iterrows():
        h = history(exp, row["run_id"])
        early.setdefault(row["variant"], []).append(float(h["val_accuracy"][4]))
        rates.setdefault(row["variant"], []).append(h["learning_rate"].to_numpy())
    # batch norm: measured 0.85 against 0.76 val accuracy after 4 epochs (3 seeds, full runs)
    assert np.mean(early["batch-norm"]) > np.mean(early["plain"]) + 0.03, early
    assert all((r == 0.01).all() for r in rates["plain"])
    # once the validation loss improves by less than 0.1 in an epoch, the rate is cut tenfold
    for r in rates["plateau"]:
        steps = r[1:] / r[:-1]
        assert r[-1] <= 0.001 and np.allclose(steps[steps != 1], 0.1), r


@pytest.mark.slow
def test_lesson_8c_l2_keeps_the_weights_small_and_early_stopping_stops(tmp_path):
    stop = {"train.early_stopping": {"monitor": "val_loss", "patience": 5, "min_delta": 0.01}}
    changes = {"repeats": 1, "train": {"epochs": 200, "capture": ["weights"]},
               "sweep": {"variants": {"noise": None, "early-stopping": stop}}}  # fmt: skip

    exp, summary = lesson("circles-small-data-regularization", tmp_path, changes)
    rows = {r["variant"]: r for _, r in summary.iterrows()}
    norm = {
        v: long_table(exp / r["run_id"] / store.WEIGHTS_FILE)[
            (r["epochs_run"], "dense1", "kernel", "norm")
        ]
        for v, r in rows.items()
    }
    assert norm["l2"] < 0.7 * norm["none"], norm  # measured: 3.4 against 6.4
    assert rows["none"]["epochs_run"] == 200
    assert rows["early-stopping"]["epochs_run"] < 200, rows["early-stopping"]
