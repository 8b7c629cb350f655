"""Each rule of the diagnosis on its own: called directly on the facts of a small synthetic
history, it gives its label with the expected numbers, and it stays silent on a history it
should not match. Then the order of ``RULES`` and the labels they cover."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from nnlab import diagnose as dg
from nnlab.diagnose import Facts

DOCS = Path(__file__).resolve().parents[1] / "docs" / "diagnosis.md"


def rows(loss, val=None, acc=None) -> list[dict[str, float]]:
    """History rows, epoch 0 first, with the given columns."""
    out = []
    for i, value in enumerate(loss):
        row = {"epoch": float(i), "loss": float(value)}
        if val is not None:
            row["val_loss"] = float(val[i])
        if acc is not None:
            row["val_accuracy"] = float(acc[i])
        out.append(row)
    return out


def line(start: float, step: float, n: int) -> np.ndarray:
    return start + step * np.arange(n)


ZIGZAG = np.where(np.arange(20) % 2 == 0, 1.0, -1.0)
JITTERY = 0.5 * (1 + 0.1 * ZIGZAG)  # steps of 0.1 on a level of 0.5: 20 %
SMOOTH_LOSS = line(1.0, -0.01, 20)  # steps of 0.01 on a level of about 0.9
ACC_ZIGZAG = 0.8 + 0.05 * ZIGZAG  # direction changes every epoch, steps of 0.1
# falls to 0.6 at epoch 8 and rises again; smoothed over 5 epochs its minimum is 0.646 at 9
V_SHAPE = np.array([1.0 - 0.05 * t if t <= 8 else 0.6 + 0.03 * (t - 8) for t in range(21)])
FLAT = [1.0, 0.98, 0.95, 0.93, 0.92, 0.92]
NEAR_NO_SKILL = [1.2, 0.9, 0.75, 0.7, 0.66, 0.65]
STRAIGHT_DOWN = line(0.7, -0.01, 21)  # no sign of flattening
FLATTENED = 0.3 + 0.4 * np.exp(-0.5 * np.arange(21))

FIRES = [
    pytest.param(
        dg.rule_stopped_non_finite, Facts(rows([1.0, 0.5]), diverged_epoch=7),
        {"label": "diverged", "epoch": 7,
         "reason": "the training loss became non-finite in epoch 7; lower the learning rate"},
        id="stopped_non_finite",
    ),
    pytest.param(
        dg.rule_no_epochs, Facts([]),
        {"label": "too short", "reason": "no epoch was recorded"},
        id="no_epochs",
    ),
    pytest.param(
        dg.rule_non_finite_loss, Facts(rows([1.0, 0.8, math.nan, 0.5, math.inf])),
        {"label": "diverged", "epoch": 2,
         "reason": "the training loss became non-finite in epoch 2"},
        id="non_finite_loss",
    ),
    pytest.param(
        dg.rule_ended_above_start, Facts(rows([1.0, 1.6, 1.7, 1.8])),
        {"label": "diverged",
         "reason": "the training loss ended at 1.8, above the 1 of the untrained model; "
                   "lower the learning rate"},
        id="ended_above_start",
    ),
    pytest.param(
        dg.rule_never_fell, Facts(rows([1.0, 1.2, 1.1, 1.05])),
        {"label": "diverged",
         "reason": "the training loss never fell below the 1 of the untrained model (it rose "
                   "to 1.2 in the first epoch); lower the learning rate"},
        id="never_fell",
    ),
    pytest.param(
        dg.rule_too_few_epochs, Facts(rows(line(1.0, -0.1, 5))),
        {"label": "too short", "reason": "only 4 trained epochs; run at least 5"},
        id="too_few_epochs",
    ),
    pytest.param(
        dg.rule_kept_too_few_epochs, Facts(rows(line(1.0, -0.05, 12)), kept_epoch=3),
        {"label": "good fit", "reason": "early stopping kept the weights of epoch 3 of 11, "
                                        "where the validation loss was lowest"},
        id="kept_too_few_epochs",
    ),
    pytest.param(
        dg.rule_loss_jumped, Facts(rows([1.0, 0.8, 0.6, 1.2, 0.5, 0.4, 0.35])),
        {"label": "unstable", "epoch": 3,
         "reason": "the training loss jumped from 0.6 to 1.2 in epoch 3: the learning rate "
                   "is too high"},
        id="loss_jumped",
    ),
    pytest.param(
        dg.rule_loss_jumped, Facts(rows([1.0, 0.8, 0.6, 1.2, 0.5, 0.4, 0.9])),
        {"label": "unstable", "epoch": 3,
         "reason": "the training loss jumped from 0.6 to 1.2 in epoch 3 (2 such jumps): the "
                   "learning rate is too high"},
        id="loss_jumped twice",
    ),
    pytest.param(
        dg.rule_loss_climbed_back, Facts(rows([1.0, 0.6, 0.3, 0.2, 0.5, 0.7, 0.8])),
        {"label": "unstable", "min_loss_epoch": 3,  # lost (0.667 - 0.2) / 0.8 of the gain
         "reason": "the training loss climbed back from 0.2 at epoch 3 to 0.667, losing 58% "
                   "of what it had gained: the learning rate is too high"},
        id="loss_climbed_back",
    ),
    pytest.param(
        dg.rule_both_oscillate, Facts(rows(JITTERY, JITTERY, ACC_ZIGZAG)),
        {"label": "unstable", "flips": 1.0, "step": 0.1,
         "reason": "val_accuracy changes direction in 100% of the last epochs with steps of "
                   "0.1, and the training loss jitters too: the learning rate is probably too "
                   "high"},
        id="both_oscillate",
    ),
    pytest.param(
        dg.rule_validation_oscillates, Facts(rows(SMOOTH_LOSS, SMOOTH_LOSS, ACC_ZIGZAG)),
        {"label": "unrepresentative validation", "flips": 1.0, "step": 0.1,
         "reason": "val_accuracy jumps around (direction changes in 100% of the last epochs, "
                   "steps of 0.1) while the training loss is smooth: the validation set is "
                   "probably too small to measure the model"},
        id="validation_oscillates",
    ),
    pytest.param(  # no accuracy: the validation loss, its steps relative to its level
        dg.rule_validation_oscillates, Facts(rows(SMOOTH_LOSS, 0.5 * (1 + 0.2 * ZIGZAG))),
        {"label": "unrepresentative validation", "flips": 1.0, "step": 0.4,
         "reason": "val_loss jumps around (direction changes in 100% of the last epochs, "
                   "steps of 0.4) while the training loss is smooth: the validation set is "
                   "probably too small to measure the model"},
        id="validation_oscillates val_loss",
    ),
    pytest.param(
        dg.rule_validation_easier, Facts(rows(np.ones(10), np.full(10, 0.5))),
        {"label": "unrepresentative validation", "ratio": 0.5,
         "reason": "the validation loss stays at 50% of the training loss: the validation set "
                   "is easier than the training set (too small, or not drawn from the same "
                   "data)"},
        id="validation_easier",
    ),
    pytest.param(
        dg.rule_overfit, Facts(rows(line(1.0, -0.03, 21), V_SHAPE)),
        {"label": "overfit", "min_val_loss_epoch": 9, "min_val_loss": 0.646, "gap": 0.56,
         "reason": "the validation loss reached its minimum 0.646 at epoch 9, then rose to "
                   "0.93 while the training loss fell to 0.4 (gap 0.56): stop earlier or "
                   "regularize"},
        id="overfit",
    ),
    pytest.param(
        dg.rule_overfit, Facts(rows(line(1.0, -0.03, 21), V_SHAPE), stopped_early=True),
        {"label": "overfit", "min_val_loss_epoch": 9, "min_val_loss": 0.646, "gap": 0.56,
         "reason": "the validation loss reached its minimum 0.646 at epoch 9, then rose to "
                   "0.93 while the training loss fell to 0.4 (gap 0.56): early stopping ended "
                   "the run later, with the last weights; restore_best_weights: true keeps "
                   "those of the minimum"},
        id="overfit stopped early",
    ),
    pytest.param(
        dg.rule_flat_loss, Facts(rows(FLAT, np.add(FLAT, 0.05))),
        {"label": "underfit", "gap": 0.05,
         "reason": "the training loss barely moved (1 to 0.92): the model cannot fit the "
                   "data; make it larger or train it differently"},
        id="flat_loss",
    ),
    pytest.param(  # regularized, the fall is measured from epoch 1, not from the 2.0 of 0
        dg.rule_flat_loss, Facts(rows([2.0, *FLAT[:5]]), regularized=True),
        {"label": "underfit", "gap": math.nan,
         "reason": "the training loss barely moved (1 to 0.92): the model cannot fit the "
                   "data; make it larger or train it differently"},
        id="flat_loss regularized",
    ),
    pytest.param(
        dg.rule_near_no_skill_loss,
        Facts(rows(NEAR_NO_SKILL, np.add(NEAR_NO_SKILL, 0.01)), baseline_loss=0.693),
        {"label": "underfit", "gap": 0.01,  # 0.65 / 0.693 = 0.938
         "reason": "the losses never got below 0.65, 94% of the 0.693 of a constant "
                   "prediction: the model learned little; make it larger or train it "
                   "differently"},
        id="near_no_skill_loss",
    ),
    pytest.param(
        dg.rule_majority_class,
        Facts(rows(line(0.9, -0.1, 6), line(0.9, -0.1, 6), np.full(6, 0.655)),
              baseline_accuracy=0.65),
        {"label": "underfit", "gap": 0.0,
         "reason": "the best val_accuracy 0.655 is no better than always predicting the "
                   "majority class (0.65)"},
        id="majority_class",
    ),
    pytest.param(
        dg.rule_kept_best_epoch,
        Facts(rows(line(1.0, -0.05, 12), line(1.1, -0.05, 12)), kept_epoch=8),
        {"label": "good fit", "gap": 0.1,
         "reason": "early stopping kept the weights of epoch 8 of 11, where the validation "
                   "loss was lowest (gap 0.1)"},
        id="kept_best_epoch",
    ),
    pytest.param(  # the last 4 epochs (20 % of 20) fell as much as the 4 before: not slowing
        dg.rule_still_falling, Facts(rows(STRAIGHT_DOWN, STRAIGHT_DOWN + 0.02)),
        {"label": "underfit", "gap": 0.02,
         "reason": "the losses were still falling at the end: the last 4 epochs took the "
                   "training loss from 0.54 to 0.505 (-6%) and the validation loss from 0.56 "
                   "to 0.525; train longer"},
        id="still_falling",
    ),
    pytest.param(
        dg.rule_still_falling, Facts(rows(STRAIGHT_DOWN)),
        {"label": "underfit", "gap": math.nan,
         "reason": "the losses were still falling at the end: the last 4 epochs took the "
                   "training loss from 0.54 to 0.505 (-6%); train longer"},
        id="still_falling without validation",
    ),
    pytest.param(
        dg.fallback_good_fit, Facts(rows(FLATTENED, FLATTENED + 0.02)),
        {"label": "good fit", "gap": 0.02,
         "reason": "training and validation loss fell and flattened out together (final gap "
                   "0.02)"},
        id="fallback_good_fit",
    ),
    pytest.param(
        dg.fallback_good_fit, Facts(rows(FLATTENED)),
        {"label": "good fit", "gap": math.nan,
         "reason": "the training loss fell and flattened out"},
        id="fallback_good_fit without validation",
    ),
]  # fmt: skip

SILENT = [
    pytest.param(dg.rule_stopped_non_finite, Facts(rows([1.0, 0.5])), id="stopped_non_finite"),
    pytest.param(dg.rule_no_epochs, Facts(rows([1.0])), id="no_epochs"),
    pytest.param(dg.rule_non_finite_loss, Facts(rows([1.0, 0.8, 0.5])), id="non_finite_loss"),
    pytest.param(  # the last quarter dipped to 1.4, below 1.5 times the start
        dg.rule_ended_above_start, Facts(rows([1.0, 1.6, 1.4, 1.8])), id="ended_above_start"
    ),
    pytest.param(  # three epochs are needed to tell
        dg.rule_ended_above_start, Facts(rows([1.0, 2.0])), id="ended_above_start 2 epochs"
    ),
    pytest.param(dg.rule_never_fell, Facts(rows([1.0, 1.2, 1.0, 0.9])), id="never_fell"),
    pytest.param(  # dropout keeps the first epoch above the evaluation of epoch 0
        dg.rule_never_fell, Facts(rows([1.0, 1.2, 1.1, 1.05]), regularized=True),
        id="never_fell regularized",
    ),
    pytest.param(dg.rule_too_few_epochs, Facts(rows(line(1.0, -0.1, 6))), id="too_few_epochs"),
    pytest.param(
        dg.rule_kept_too_few_epochs, Facts(rows(line(1.0, -0.05, 12)), kept_epoch=8),
        id="kept_too_few_epochs",
    ),
    pytest.param(
        dg.rule_kept_too_few_epochs, Facts(rows(line(1.0, -0.05, 4))),
        id="kept_too_few_epochs not kept",
    ),
    pytest.param(  # a jump of 200 %, but of 2 % of the untrained loss: a loss near zero wobbles
        dg.rule_loss_jumped, Facts(rows([1.0, 0.5, 0.1, 0.01, 0.03, 0.01])), id="loss_jumped"
    ),
    pytest.param(  # regularized, epoch 0 (an evaluation) to 1 does not count
        dg.rule_loss_jumped, Facts(rows([0.5, 0.9, 0.8, 0.7, 0.6, 0.55]), regularized=True),
        id="loss_jumped regularized",
    ),
    pytest.param(  # climbed back by 0.15 of the 0.8 gained
        dg.rule_loss_climbed_back, Facts(rows([1.0, 0.6, 0.3, 0.2, 0.3, 0.35, 0.4])),
        id="loss_climbed_back",
    ),
    pytest.param(
        dg.rule_both_oscillate, Facts(rows(SMOOTH_LOSS, SMOOTH_LOSS, ACC_ZIGZAG)),
        id="both_oscillate",
    ),
    pytest.param(
        dg.rule_both_oscillate, Facts(rows(JITTERY, JITTERY, line(0.5, 0.01, 20))),
        id="both_oscillate smooth validation",
    ),
    pytest.param(
        dg.rule_validation_oscillates, Facts(rows(JITTERY, JITTERY, ACC_ZIGZAG)),
        id="validation_oscillates",
    ),
    pytest.param(  # accuracy steps of 0.02, below ACCURACY_STEP
        dg.rule_validation_oscillates,
        Facts(rows(SMOOTH_LOSS, SMOOTH_LOSS, 0.8 + 0.01 * ZIGZAG)),
        id="validation_oscillates small steps",
    ),
    pytest.param(
        dg.rule_validation_easier, Facts(rows(np.ones(10), np.full(10, 0.8))),
        id="validation_easier",
    ),
    pytest.param(  # dropout makes the training loss the higher one
        dg.rule_validation_easier, Facts(rows(np.ones(10), np.full(10, 0.5)), regularized=True),
        id="validation_easier regularized",
    ),
    pytest.param(  # the training loss did not go on falling
        dg.rule_overfit, Facts(rows(np.full(21, 0.5), V_SHAPE)), id="overfit"
    ),
    pytest.param(dg.rule_overfit, Facts(rows(line(1.0, -0.03, 21))), id="overfit no validation"),
    pytest.param(dg.rule_flat_loss, Facts(rows([2.0, *FLAT[:5]])), id="flat_loss"),
    pytest.param(
        dg.rule_near_no_skill_loss, Facts(rows(NEAR_NO_SKILL, np.add(NEAR_NO_SKILL, 0.01))),
        id="near_no_skill_loss without baseline",
    ),
    pytest.param(  # the validation loss got to 0.55, below 0.9 times 0.693
        dg.rule_near_no_skill_loss,
        Facts(rows(NEAR_NO_SKILL, np.subtract(NEAR_NO_SKILL, 0.1)), baseline_loss=0.693),
        id="near_no_skill_loss validation lower",
    ),
    pytest.param(
        dg.rule_majority_class,
        Facts(rows(line(0.9, -0.1, 6), line(0.9, -0.1, 6), line(0.6, 0.04, 6)),
              baseline_accuracy=0.65),
        id="majority_class",
    ),
    pytest.param(
        dg.rule_majority_class,
        Facts(rows(line(0.9, -0.1, 6), line(0.9, -0.1, 6), np.full(6, 0.655))),
        id="majority_class without baseline",
    ),
    pytest.param(
        dg.rule_kept_best_epoch, Facts(rows(line(1.0, -0.05, 12), line(1.1, -0.05, 12))),
        id="kept_best_epoch",
    ),
    pytest.param(  # an exponential approaching its floor: flattening
        dg.rule_still_falling, Facts(rows(FLATTENED, FLATTENED + 0.02)), id="still_falling"
    ),
    pytest.param(  # the training loss still falls, the validation loss no longer
        dg.rule_still_falling, Facts(rows(STRAIGHT_DOWN, np.full(21, 0.6))),
        id="still_falling flat validation",
    ),
]  # fmt: skip


def same(got: dict | None, expected: dict) -> bool:
    """Equal, with NaN equal to NaN."""
    if got is None or got.keys() != expected.keys():
        return False
    nan = [k for k, v in expected.items() if isinstance(v, float) and math.isnan(v)]
    return all(math.isnan(got[k]) for k in nan) and all(
        got[k] == v for k, v in expected.items() if k not in nan
    )


@pytest.mark.parametrize(("rule", "facts", "expected"), FIRES)
def test_rule_fires_with_its_numbers(rule, facts: Facts, expected: dict):
    got = rule(facts)
    assert same(got, expected), got


@pytest.mark.parametrize(("rule", "facts"), SILENT)
def test_rule_stays_silent(rule, facts: Facts):
    assert rule(facts) is None


@pytest.mark.parametrize(("rule", "facts", "expected"), FIRES)
def test_diagnose_gives_the_first_rule_that_fires(rule, facts: Facts, expected: dict):
    kwargs = {k: getattr(facts, k) for k in ("diverged_epoch", "baseline_accuracy",
              "baseline_loss", "regularized", "kept_epoch", "stopped_early")}  # fmt: skip
    first = next((found for r in dg.RULES if (found := r(facts)) is not None), None)
    assert same(dg.diagnose(facts.rows, **kwargs), first or dg.fallback_good_fit(facts))


def test_every_rule_has_a_case_that_fires_and_one_that_does_not():
    fired = {p.values[0] for p in FIRES}
    silent = {p.values[0] for p in SILENT}
    assert fired == {*dg.RULES, dg.fallback_good_fit}
    assert silent == set(dg.RULES)


RULE_ORDER = (
    "rule_stopped_non_finite",
    "rule_no_epochs",
    "rule_non_finite_loss",
    "rule_ended_above_start",
    "rule_never_fell",
    "rule_too_few_epochs",
    "rule_kept_too_few_epochs",
    "rule_loss_jumped",
    "rule_loss_climbed_back",
    "rule_both_oscillate",
    "rule_validation_oscillates",
    "rule_validation_easier",
    "rule_overfit",
    "rule_flat_loss",
    "rule_near_no_skill_loss",
    "rule_majority_class",
    "rule_kept_best_epoch",
    "rule_still_falling",
)


def test_rules_are_checked_in_the_documented_order():
    assert tuple(rule.__name__ for rule in dg.RULES) == RULE_ORDER
    # docs/diagnosis.md lists them in this order too
    documented = re.findall(r"`(rule_\w+|fallback_good_fit)`", DOCS.read_text())
    assert tuple(documented) == (*RULE_ORDER, "fallback_good_fit")


def test_every_label_comes_from_some_rule():
    labels = {p.values[2]["label"] for p in FIRES if p.values[0] in dg.RULES}
    assert labels == set(dg.LABELS)
    assert "unknown" not in dg.LABELS  # given by train.py only, when the diagnosis raised


def test_facts_read_up_to_the_epoch_early_stopping_kept():
    loss, val = line(1.0, -0.05, 12), line(1.1, -0.05, 12)
    facts = Facts(rows(loss, val), kept_epoch=8, regularized=True)
    assert len(facts.read_rows) == 9 and facts.trained == 8
    np.testing.assert_allclose(facts.loss, loss[:9])
    assert facts.first == 1 and facts.start == pytest.approx(0.95)
    assert facts.lowest == pytest.approx(0.6) and facts.gap == pytest.approx(0.1)
    assert facts.half == slice(4, None)
    assert len(facts.all_loss) == 12  # the early rules see the whole history


def test_facts_tail_levels_are_3_epoch_means():
    facts = Facts(rows(STRAIGHT_DOWN, STRAIGHT_DOWN + 0.02))
    window, before, after, val_before, val_after = facts.tail
    assert window == 4  # 20 % of 20 trained epochs
    # epochs 15-17 before the window, 19-20 at the end (clipped to the run)
    assert (before, after) == pytest.approx((0.54, 0.505))
    assert (val_before, val_after) == pytest.approx((0.56, 0.525))
