"""The diagnosis of learning curves: synthetic histories of each shape, then real runs made to
show them (an overfitting 500-unit MLP, a 1-unit network, a huge learning rate)."""

from __future__ import annotations

import csv
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from nnlab import diagnose as dg
from nnlab.cli import app

from helpers import TINY, merge

EPOCHS = 60
t = np.arange(EPOCHS + 1, dtype=float)


def history(loss, val_loss, val_accuracy=None) -> list[dict[str, float]]:
    rows = []
    for i in range(len(loss)):
        row = {"epoch": float(i), "loss": float(loss[i]), "val_loss": float(val_loss[i])}
        if val_accuracy is not None:
            row["val_accuracy"] = float(val_accuracy[i])
        rows.append(row)
    return rows


def decay(start: float, end: float, rate: float) -> np.ndarray:
    return end + (start - end) * np.exp(-rate * t)


def test_good_fit_is_two_curves_that_fall_and_flatten_together():
    rows = history(decay(0.7, 0.05, 0.2), decay(0.7, 0.07, 0.2), decay(0.5, 0.97, 0.2))
    out = dg.diagnose(rows, baseline_accuracy=0.5, baseline_loss=0.693)
    assert out["label"] == "good fit"
    assert out["gap"] == pytest.approx(0.02, abs=1e-3)


def test_overfit_names_the_epoch_of_the_validation_minimum_and_the_gap():
    loss = decay(0.7, 0.0, 0.08)
    val = decay(0.7, 0.2, 0.15) + 0.004 * np.maximum(t - 20, 0)  # rises after about epoch 20
    out = dg.diagnose(history(loss, val))
    assert out["label"] == "overfit"
    assert 15 <= out["min_val_loss_epoch"] <= 25
    assert out["gap"] == pytest.approx(val[-1] - loss[-1], rel=1e-6)
    assert "stop earlier" in out["reason"]


def test_early_stopping_that_kept_the_minimum_is_not_overfit():
    loss = decay(0.7, 0.0, 0.08)
    val = decay(0.7, 0.2, 0.15) + 0.004 * np.maximum(t - 20, 0)
    assert dg.diagnose(history(loss, val), kept_epoch=22)["label"] != "overfit"


def test_underfit_flat_training_loss():
    loss = decay(0.70, 0.67, 0.1)
    out = dg.diagnose(history(loss, loss + 0.01))
    assert out["label"] == "underfit" and "barely moved" in out["reason"]


def test_underfit_when_the_loss_stays_near_a_constant_prediction():
    loss = decay(1.2, 0.66, 0.3)  # fell a lot from a bad start, but to 95 % of no skill
    out = dg.diagnose(history(loss, loss + 0.01), baseline_loss=0.693)
    assert out["label"] == "underfit" and "constant prediction" in out["reason"]


def test_underfit_no_better_than_the_majority_class():
    loss = decay(0.9, 0.45, 0.2)
    out = dg.diagnose(history(loss, loss, np.full(len(t), 0.655)), baseline_accuracy=0.65)
    assert out["label"] == "underfit" and "majority class" in out["reason"]


def test_underfit_still_falling_says_train_longer():
    loss = 0.7 - 0.01 * t  # a straight line down: no sign of flattening
    out = dg.diagnose(history(loss, loss + 0.02))
    assert out["label"] == "underfit" and "train longer" in out["reason"]


def test_still_falling_after_a_big_first_epoch_says_train_longer():
    # a badly scaled start: epoch 1 takes most of the fall, then a straight line down
    loss = np.concatenate([[5.0], 0.7 - 0.005 * t[1:]])
    out = dg.diagnose(history(loss, loss + 0.02))
    assert out["label"] == "underfit" and "train longer" in out["reason"]
    assert "from 0.46 to 0.402 (-12%) and the validation loss from 0.48 to 0.422" in out["reason"]


def test_a_slow_straight_line_down_is_still_falling():
    # 8 % of its level in the last 12 epochs, but no slower than before: not flattening
    loss = 0.84 - 0.0037 * t
    val = loss + 0.01
    out = dg.diagnose(history(loss, val))
    assert out["label"] == "underfit" and "train longer" in out["reason"], out
    # the same fall, decelerating (an exponential approaching its floor), is a good fit
    loss = decay(0.84, 0.3, 0.06)
    assert dg.diagnose(history(loss, loss + 0.01))["label"] == "good fit"


def test_a_noisy_plateau_is_a_good_fit():
    # flat after epoch 15, with 5 % noise on every epoch (a small batch, a small validation set)
    rng = np.random.default_rng(0)
    labels = []
    for _ in range(100):
        base = decay(0.7, 0.3, 0.3)
        loss = base * (1 + 0.05 * rng.standard_normal(len(t)))
        val = (base + 0.02) * (1 + 0.05 * rng.standard_normal(len(t)))
        labels.append(dg.diagnose(history(loss, val))["label"])
    assert labels.count("good fit") >= 95, Counter(labels)  # measured: 97


def test_early_stopping_that_kept_an_early_epoch_is_not_too_short():
    loss = decay(0.7, 0.1, 0.5)[:12]
    val = loss + 0.02 + 0.01 * np.maximum(t[:12] - 3, 0)  # rises after epoch 3
    out = dg.diagnose(history(loss, val), kept_epoch=3)
    assert out["label"] == "good fit"
    assert out["reason"] == (
        "early stopping kept the weights of epoch 3 of 11, where the validation loss was lowest"
    )


def test_overfit_after_early_stopping_without_restoring_says_so():
    loss = decay(0.7, 0.0, 0.08)
    val = decay(0.7, 0.2, 0.15) + 0.004 * np.maximum(t - 20, 0)
    out = dg.diagnose(history(loss, val), stopped_early=True)
    assert out["label"] == "overfit" and "restore_best_weights: true" in out["reason"]
    result = {"status": "completed", "stopped_epoch": 60, "weights_epoch": 60}
    assert "restore_best_weights" in dg.diagnose_result(history(loss, val), result)["reason"]


def test_flattened_curves_after_a_big_first_epoch_are_a_good_fit():
    loss = np.concatenate([[5.0], decay(0.7, 0.1, 0.2)[1:]])
    assert dg.diagnose(history(loss, loss + 0.02))["label"] == "good fit"


def test_early_stopping_kept_epoch_is_not_a_reason_to_train_longer():
    loss = 0.7 - 0.01 * t  # still falling where early stopping kept the weights
    out = dg.diagnose(history(loss, loss + 0.02), kept_epoch=40)
    assert out["label"] == "good fit"
    assert out["reason"].startswith("early stopping kept the weights of epoch 40")
    assert dg.diagnose(history(loss, loss + 0.02))["label"] == "underfit"  # without it


def test_dropout_first_epoch_above_the_untrained_loss_is_not_diverged():
    # epoch 0 is evaluated with dropout off (0.5); training epochs with it on start at 0.8
    # and never get below 0.55, while the validation loss falls to 0.2
    loss = np.concatenate([[0.5], decay(0.8, 0.55, 0.2)[1:]])
    val = np.concatenate([[0.5], decay(0.45, 0.2, 0.2)[1:]])
    assert dg.diagnose(history(loss, val))["label"] == "diverged"
    out = dg.diagnose(history(loss, val), regularized=True, baseline_loss=0.693)
    assert out["label"] == "good fit", out


def test_a_validation_loss_that_is_nan_after_epoch_0_does_not_break_the_diagnosis():
    loss = decay(0.7, 0.1, 0.2)
    val = np.full(len(t), math.nan)
    val[0] = 0.7
    out = dg.diagnose_result(history(loss, val), {"status": "completed"})
    assert out["label"] == "good fit" and math.isnan(out["gap"])


def test_regularized_comes_from_the_model_layers():
    import keras

    from nnlab.models._layers import is_regularized

    def mlp(*extra):
        return keras.Sequential([keras.Input((2,)), keras.layers.Dense(4), *extra])

    assert not is_regularized(mlp())
    assert is_regularized(mlp(keras.layers.Dropout(0.1)))
    assert is_regularized(mlp(keras.layers.GaussianNoise(0.1)))
    assert is_regularized(mlp(keras.layers.BatchNormalization()))
    inner = mlp(keras.layers.Dropout(0.1))
    outer = keras.Sequential([keras.Input((2,)), inner, keras.layers.Dense(1)])
    assert is_regularized(outer)  # inside a nested model too
    result = {"status": "completed", "regularized": True}
    loss = np.concatenate([[0.5], decay(0.8, 0.3, 0.2)[1:]])
    assert dg.diagnose_result(history(loss, loss - 0.05), result)["label"] != "diverged"


def test_diverged_from_a_non_finite_loss_or_the_stopped_epoch():
    loss = decay(0.7, 0.1, 0.2)
    loss[30:] = math.nan
    out = dg.diagnose(history(loss, loss))
    assert out["label"] == "diverged" and out["epoch"] == 30
    assert dg.diagnose(history(loss, loss), diverged_epoch=30)["epoch"] == 30


def test_diverged_when_the_loss_ends_far_above_the_start():
    loss = 0.7 + 0.1 * t
    assert dg.diagnose(history(loss, loss))["label"] == "diverged"


def test_unstable_when_the_training_loss_jumps():
    loss = decay(0.8, 0.3, 0.3)
    loss[1] = 2.5  # the first step threw the weights far away
    out = dg.diagnose(history(loss, loss))
    assert out["label"] == "unstable" and out["epoch"] == 1


def test_a_loss_near_zero_may_wobble_without_being_unstable():
    loss = decay(0.7, 0.0, 0.3)
    loss[40] = loss[39] * 3  # a relative jump, but tiny against the starting loss
    assert dg.diagnose(history(loss, loss + 0.01))["label"] == "good fit"


def test_unstable_when_the_training_loss_climbs_back():
    loss = np.concatenate([decay(0.7, 0.2, 0.5)[:20], np.linspace(0.25, 0.6, EPOCHS - 19)])
    out = dg.diagnose(history(loss, loss))
    assert out["label"] == "unstable" and "climbed back" in out["reason"]


def test_unstable_when_validation_accuracy_and_training_loss_oscillate():
    zigzag = np.where(t % 2 == 0, 1.0, -1.0)
    loss = decay(0.7, 0.3, 0.2) * (1 + 0.1 * zigzag)
    acc = decay(0.5, 0.85, 0.2) + 0.06 * zigzag
    out = dg.diagnose(history(loss, loss, acc))
    assert out["label"] == "unstable" and out["flips"] == 1.0


def test_unrepresentative_when_only_the_validation_curve_oscillates():
    zigzag = np.where(t % 2 == 0, 1.0, -1.0)
    loss = decay(0.7, 0.2, 0.2)
    acc = decay(0.5, 0.85, 0.2) + 0.06 * zigzag
    out = dg.diagnose(history(loss, loss + 0.05, acc))
    assert out["label"] == "unrepresentative validation" and "too small" in out["reason"]


def test_unrepresentative_when_validation_is_much_easier_unless_regularized():
    loss = decay(0.7, 0.3, 0.2)
    rows = history(loss, loss * 0.5)
    out = dg.diagnose(rows)
    assert out["label"] == "unrepresentative validation" and out["ratio"] == pytest.approx(0.5)
    # dropout makes the training loss the higher one on purpose
    assert dg.diagnose(rows, regularized=True)["label"] == "good fit"


def test_too_short_to_tell():
    loss = decay(0.7, 0.3, 0.2)[:4]
    assert dg.diagnose(history(loss, loss))["label"] == "too short"


def test_every_label_is_listed():
    assert set(dg.LABELS) == {
        "diverged", "too short", "unstable", "unrepresentative validation", "overfit",
        "underfit", "good fit",
    }  # fmt: skip


# -- real runs ---------------------------------------------------------------------------------

SHAPES = merge(
    TINY,
    {
        "name": "shapes",
        "data": {"n_samples": 400},
        "model": {"hidden": [16, 16]},
        "train": {"epochs": 30, "learning_rate": 0.001},
        "sweep": {
            "variants": {
                # 30 training points of noisy circles, 500 units, a fast rate: memorises
                "overfit": {"data.n_samples": 100, "data.noise": 0.2, "data.validation": 0.7,
                            "model.hidden": [500], "train.learning_rate": 0.03,
                            "train.epochs": 150},
                "one-unit": {"model.hidden": [1]},
                "huge-lr": {"train.learning_rate": 1.0, "train.epochs": 10},
            }
        },
    },
)  # fmt: skip


@pytest.mark.slow
def test_real_runs_show_the_shapes(tmp_path: Path):
    config = tmp_path / "shapes.yaml"
    config.write_text(yaml.safe_dump(SHAPES))
    result = CliRunner().invoke(app, ["run", str(config), "--out", str(tmp_path), "-q"])
    assert result.exit_code == 0, result.output
    with open(tmp_path / "shapes" / "summary.csv", newline="") as f:
        labels = {row["variant"]: row["diagnosis"] for row in csv.DictReader(f)}
    assert labels["overfit"] == "overfit"
    assert labels["one-unit"] == "underfit"
    assert labels["huge-lr"] in ("diverged", "unstable")
