"""The rules of the diagnosis, in ``RULES`` in the order they are checked, and the labels
they give.

Each rule is a small function, named for what it detects, that takes the ``Facts`` of a run
(``facts.py``) and gives its label or None; the first label given is the diagnosis
(``fallback_good_fit`` when none is). Each rule's docstring says how it uses the thresholds of
``facts.py``; docs/diagnosis.md lists the rules with real runs that show each label.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from nnlab.diagnose.facts import (
    CLIMBED_BACK,
    DIVERGED_RATIO,
    EASY_VALIDATION,
    FLAT_DROP,
    MIN_EPOCHS,
    NEVER_FELL,
    NO_SKILL_LOSS,
    NO_SKILL_MARGIN,
    OVERFIT_MIN_RISE,
    OVERFIT_PATIENCE,
    OVERFIT_RISE,
    SPIKE,
    SPIKE_MIN,
    STEADY,
    STILL_FALLING,
    STILL_FALLING_SLOPE_MIN,
    STILL_FALLING_VAL,
    Facts,
    column,
    level,
    smooth,
)

LABELS = (  # "unknown" is given only when the diagnosis itself raised (train.py)
    "diverged",
    "too short",
    "unstable",
    "unrepresentative validation",
    "overfit",
    "underfit",
    "good fit",
)


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def _label(label: str, reason: str, **numbers: Any) -> dict[str, Any]:
    return {"label": label, "reason": reason, **numbers}


Label = dict[str, Any]
Rule = Callable[[Facts], Label | None]


def rule_stopped_non_finite(f: Facts) -> Label | None:
    """diverged: the run was stopped for a non-finite training loss (``diverged_epoch``)."""
    if f.diverged_epoch is None:
        return None
    return _label("diverged", f"the training loss became non-finite in epoch {f.diverged_epoch}; "
                  "lower the learning rate", epoch=f.diverged_epoch)  # fmt: skip


def rule_no_epochs(f: Facts) -> Label | None:
    """too short: no epoch was recorded."""
    return None if f.rows else _label("too short", "no epoch was recorded")


def rule_non_finite_loss(f: Facts) -> Label | None:
    """diverged: a training loss is not finite (the first such epoch is named)."""
    if np.isfinite(f.all_loss).all():
        return None
    epoch = int(f.rows[int(np.argmin(np.isfinite(f.all_loss)))]["epoch"])
    return _label("diverged", f"the training loss became non-finite in epoch {epoch}", epoch=epoch)


def rule_ended_above_start(f: Facts) -> Label | None:
    """diverged: the training loss stayed above ``DIVERGED_RATIO`` times its untrained value
    through the last quarter of the epochs (at least 2)."""
    loss = f.all_loss
    if not (len(loss) > 2 and loss[-max(2, len(loss) // 4) :].min() > DIVERGED_RATIO * loss[0]):
        return None
    return _label("diverged", f"the training loss ended at {_fmt(loss[-1])}, above the "
                  f"{_fmt(loss[0])} of the untrained model; lower the learning rate")  # fmt: skip


def rule_never_fell(f: Facts) -> Label | None:
    """diverged: the training loss never came below ``NEVER_FELL`` times its untrained value
    (not ``regularized``: then the first epoch may be above an evaluation of epoch 0)."""
    loss = f.all_loss
    if not (len(loss) > 2 and not f.regularized and loss[1:].min() > NEVER_FELL * loss[0]):
        return None
    return _label("diverged", f"the training loss never fell below the {_fmt(loss[0])} of the "
                  f"untrained model (it rose to {_fmt(loss[1])} in the first epoch); lower the "
                  "learning rate")  # fmt: skip


def rule_too_few_epochs(f: Facts) -> Label | None:
    """too short: fewer than ``MIN_EPOCHS`` trained epochs; nothing else can be told."""
    trained = len(f.rows) - 1
    if trained >= MIN_EPOCHS:
        return None
    return _label("too short", f"only {trained} trained epochs; run at least {MIN_EPOCHS}")


def rule_kept_too_few_epochs(f: Facts) -> Label | None:
    """good fit: early stopping kept an epoch before ``MIN_EPOCHS``, too early to read a shape."""
    if f.kept_epoch is None or f.trained >= MIN_EPOCHS:
        return None
    return _label("good fit", f.kept_text)


def rule_loss_jumped(f: Facts) -> Label | None:
    """unstable: the training loss jumped up from one epoch to the next by ``SPIKE`` of its value
    and ``SPIKE_MIN`` of the untrained loss (not from epoch 0 when ``regularized``)."""
    loss, rises = f.loss, np.diff(f.loss)
    spikes = np.flatnonzero((rises > SPIKE * loss[:-1]) & (rises > SPIKE_MIN * loss[0]))
    if f.regularized:
        spikes = spikes[spikes > 0]
    if not len(spikes):
        return None
    i = int(spikes[0])
    epoch = int(f.read_rows[i + 1]["epoch"])
    more = f" ({len(spikes)} such jumps)" if len(spikes) > 1 else ""
    return _label("unstable", f"the training loss jumped from {_fmt(loss[i])} to "
                  f"{_fmt(loss[i + 1])} in epoch {epoch}{more}: the learning rate is too high",
                  epoch=epoch)  # fmt: skip


def rule_loss_climbed_back(f: Facts) -> Label | None:
    """unstable: the training loss (mean of the last 3 epochs) climbed back from its minimum,
    losing more than ``CLIMBED_BACK`` of what it had gained."""
    loss = f.loss
    low_epoch = f.first + int(np.argmin(loss[f.first :]))
    gained, end = f.start - loss[low_epoch], float(np.mean(loss[-3:]))
    if not (gained > 0 and end - loss[low_epoch] > CLIMBED_BACK * gained):
        return None
    epoch, lost = int(f.read_rows[low_epoch]["epoch"]), (end - loss[low_epoch]) / gained
    return _label("unstable", f"the training loss climbed back from {_fmt(loss[low_epoch])} at "
                  f"epoch {epoch} to {_fmt(end)}, losing {lost:.0%} of what it had gained: the "
                  "learning rate is too high", min_loss_epoch=epoch)  # fmt: skip


def rule_both_oscillate(f: Facts) -> Label | None:
    """unstable: the validation metric oscillates (``Facts.oscillation``) and the training loss
    jitters (``TRAIN_JITTER``) too: the learning rate is too high."""
    if f.oscillation is None or not f.train_jitters:
        return None
    metric, flips, size = f.oscillation
    return _label("unstable", f"{metric} changes direction in {flips:.0%} of the last epochs with "
                  f"steps of {_fmt(size)}, and the training loss jitters too: the learning rate "
                  "is probably too high", flips=round(flips, 3), step=round(size, 4))  # fmt: skip


def rule_validation_oscillates(f: Facts) -> Label | None:
    """unrepresentative validation: the validation metric oscillates (``Facts.oscillation``)
    while the training loss is smooth: the validation set is too small to measure the model."""
    if f.oscillation is None or f.train_jitters:
        return None
    metric, flips, size = f.oscillation
    return _label("unrepresentative validation", f"{metric} jumps around (direction changes in "
                  f"{flips:.0%} of the last epochs, steps of {_fmt(size)}) while the training "
                  "loss is smooth: the validation set is probably too small to measure the "
                  "model", flips=round(flips, 3), step=round(size, 4))  # fmt: skip


def rule_validation_easier(f: Facts) -> Label | None:
    """unrepresentative validation: not ``regularized``, the mean validation loss over the
    second half is below ``EASY_VALIDATION`` times the mean training loss there."""
    if not (f.has_val and not f.regularized and np.isfinite(f.val_loss[f.half]).any()):
        return None
    ratio = float(np.nanmean(f.val_loss[f.half]) / np.nanmean(f.loss[f.half]))
    if not ratio < EASY_VALIDATION:
        return None
    return _label("unrepresentative validation", f"the validation loss stays at {ratio:.0%} of "
                  "the training loss: the validation set is easier than the training set (too "
                  "small, or not drawn from the same data)", ratio=round(ratio, 3))  # fmt: skip


def rule_overfit(f: Facts) -> Label | None:
    """overfit: the ``smooth``-ed validation loss reached its minimum ``OVERFIT_PATIENCE`` epochs
    (and 10 % of the run) before the end, the mean of that stretch is ``OVERFIT_RISE`` (and
    ``OVERFIT_MIN_RISE``) above it, and the training loss (3-epoch means) went on falling."""
    v = smooth(np.where(np.isfinite(f.val_loss), f.val_loss, np.nan))
    if not (f.has_val and np.isfinite(v[1:]).any()):
        return None
    best = int(np.nanargmin(v[1:])) + 1
    room = max(OVERFIT_PATIENCE, math.ceil(0.1 * f.trained))  # a rise must last
    v_min, v_end = float(v[best]), float(np.nanmean(f.val_loss[-room:]))
    rose = v_end - v_min >= max(OVERFIT_RISE * v_min, OVERFIT_MIN_RISE)
    if not (f.trained - best >= room and rose and level(f.loss, -1) < level(f.loss, best)):
        return None
    epoch = int(f.read_rows[best]["epoch"])
    advice = "stop earlier or regularize"
    if f.stopped_early:
        advice = ("early stopping ended the run later, with the last weights; "
                  "restore_best_weights: true keeps those of the minimum")  # fmt: skip
    return _label("overfit", f"the validation loss reached its minimum {_fmt(v_min)} at epoch "
                  f"{epoch}, then rose to {_fmt(v_end)} while the training loss fell to "
                  f"{_fmt(f.loss[-1])} (gap {_fmt(f.gap)}): {advice}", min_val_loss_epoch=epoch,
                  min_val_loss=round(v_min, 6), gap=round(f.gap, 6))  # fmt: skip


def rule_flat_loss(f: Facts) -> Label | None:
    """underfit: the training loss fell by less than ``FLAT_DROP`` of its starting value."""
    if not f.start - f.lowest < FLAT_DROP * f.start:
        return None
    return _label("underfit", f"the training loss barely moved ({_fmt(f.start)} to "
                  f"{_fmt(f.lowest)}): the model cannot fit the data; make it larger or train it "
                  "differently", gap=round(f.gap, 6))  # fmt: skip


def rule_near_no_skill_loss(f: Facts) -> Label | None:
    """underfit: the lower of the training and validation losses never got below
    ``NO_SKILL_LOSS`` times the loss of the best constant prediction (``baseline_loss``)."""
    low = min(f.lowest, float(np.nanmin(f.val_loss[1:]))) if f.has_val else f.lowest
    if not (f.baseline_loss and low >= NO_SKILL_LOSS * f.baseline_loss):
        return None
    return _label("underfit", f"the losses never got below {_fmt(low)}, "
                  f"{low / f.baseline_loss:.0%} of the {_fmt(f.baseline_loss)} of a constant "
                  "prediction: the model learned little; make it larger or train it "
                  "differently", gap=round(f.gap, 6))  # fmt: skip


def rule_majority_class(f: Facts) -> Label | None:
    """underfit: the best val_accuracy (without a validation set, the training accuracy, which
    the baseline is then measured on) is within ``NO_SKILL_MARGIN`` of ``baseline_accuracy``."""
    name = "val_accuracy" if f.has_val else "accuracy"
    val_acc = column(f.read_rows, name)
    if f.baseline_accuracy is None or not np.isfinite(val_acc[1:]).any():
        return None
    best_acc = float(np.nanmax(val_acc[1:]))
    if not best_acc <= f.baseline_accuracy + NO_SKILL_MARGIN:
        return None
    return _label("underfit", f"the best {name} {_fmt(best_acc)} is no better than always "
                  f"predicting the majority class ({_fmt(f.baseline_accuracy)})",
                  gap=round(f.gap, 6))  # fmt: skip


def rule_kept_best_epoch(f: Facts) -> Label | None:
    """good fit: early stopping chose the epoch kept; a loss still falling there is its call."""
    if not f.kept_text:
        return None
    gap_text = f" (gap {_fmt(f.gap)})" if f.has_val else ""
    return _label("good fit", f.kept_text + gap_text, gap=round(f.gap, 6))


def rule_still_falling(f: Facts) -> Label | None:
    """underfit: over ``Facts.tail`` the training loss fell by ``STILL_FALLING`` of its final
    level (or, a straight line down, by ``STILL_FALLING_SLOPE_MIN`` of it and ``STEADY`` times
    the window before's fall) and the validation loss by ``STILL_FALLING_VAL``: train longer."""
    window, before, after, val_before, val_after = f.tail
    drop = before - after
    earlier = level(f.loss, -2 * window - 1) - before if len(f.loss) > 2 * window else math.inf
    steady = drop > STILL_FALLING_SLOPE_MIN * after and earlier > 0 and drop >= STEADY * earlier
    falling = after > 0 and (drop > STILL_FALLING * after or steady)
    val_falling = not f.has_val or val_before - val_after > STILL_FALLING_VAL * abs(val_after)
    if not (falling and val_falling):
        return None
    val_text = (f" and the validation loss from {_fmt(val_before)} to {_fmt(val_after)}"
                if f.has_val else "")  # fmt: skip
    return _label("underfit", f"the losses were still falling at the end: the last {window} "
                  f"epochs took the training loss from {_fmt(before)} to {_fmt(after)} "
                  f"({(after - before) / before:+.0%}){val_text}; train longer",
                  gap=round(f.gap, 6))  # fmt: skip


def fallback_good_fit(f: Facts) -> Label:
    """good fit, when no rule matched: both losses fell and flattened out together."""
    reason = (
        f"training and validation loss fell and flattened out together (final gap {_fmt(f.gap)})"
        if f.has_val and math.isfinite(f.gap)
        else "the training loss fell and flattened out"
    )
    return _label("good fit", reason, gap=round(f.gap, 6))


RULES: tuple[Rule, ...] = (
    rule_stopped_non_finite,
    rule_no_epochs,
    rule_non_finite_loss,
    rule_ended_above_start,
    rule_never_fell,
    rule_too_few_epochs,
    rule_kept_too_few_epochs,
    rule_loss_jumped,
    rule_loss_climbed_back,
    rule_both_oscillate,
    rule_validation_oscillates,
    rule_validation_easier,
    rule_overfit,
    rule_flat_loss,
    rule_near_no_skill_loss,
    rule_majority_class,
    rule_kept_best_epoch,
    rule_still_falling,
)
