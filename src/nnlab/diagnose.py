"""What a run's learning curves say, in one label and one sentence.

The rules read history.csv (epoch 0 is the untrained model) and are checked in this order; the
first that matches gives the label. The thresholds are the constants below; docs/diagnosis.md
lists them with real runs that show each label.

1. ``diverged``: the run was stopped for a non-finite loss, or the training loss stayed above
   ``DIVERGED_RATIO`` times its value before training through the last quarter of the
   epochs, or it never came below ``NEVER_FELL`` times that value (it jumped up in the
   first epoch and stayed there).
2. ``too short``: fewer than ``MIN_EPOCHS`` trained epochs; nothing else can be told.
3. ``unstable``: the training loss jumped up from one epoch to the next by more than
   ``SPIKE`` of its value (and ``SPIKE_MIN`` of the untrained loss, so that the wobble of a
   loss near zero does not count); or it climbed back from its minimum, losing more than
   ``CLIMBED_BACK`` of what it had gained since epoch 0 (mean of the last 3 epochs); or in
   the second half of training the validation metric (``val_accuracy`` or
   the first validation metric, else ``val_loss``) changes direction in at least
   ``OSCILLATION_FLIPS`` of the epochs with a median step of at least ``ACCURACY_STEP``
   (metrics in [0, 1]) or ``LOSS_STEP`` of its level (losses), and the training loss jitters
   too (median step at least ``TRAIN_JITTER`` of its level): the learning rate is too high.
4. ``unrepresentative validation``: the validation curve tells about the validation set rather
   than the model: it oscillates as in rule 3 while the training loss is smooth, or, without
   dropout, noise or batch norm (which make the training loss the higher one), the mean
   validation loss over the second half is below ``EASY_VALIDATION`` times the mean
   training loss there.
5. ``overfit``: the validation loss (smoothed over ``SMOOTH`` of the epochs: an odd window
   of at least ``MIN_SMOOTH`` and at most 9) reached its minimum at least
   ``OVERFIT_PATIENCE`` epochs (and 10 % of the run) before the end, and the mean of that
   last stretch is above the minimum by at least ``OVERFIT_RISE`` of it (and
   ``OVERFIT_MIN_RISE`` absolute) while the training loss (3-epoch means) went on falling.
   The epoch of the minimum and the final gap (validation minus training loss) are
   recorded.
6. ``underfit``: the training loss fell by less than ``FLAT_DROP`` of its starting value
   (flat: the model cannot fit the data); or it never got below ``NO_SKILL_LOSS`` times the
   no-skill loss (the loss of the best constant prediction: the entropy of the class
   frequencies for cross-entropy, the variance of the target for squared error; the lower of
   the training and validation losses counts); or a
   classifier's best validation accuracy is within ``NO_SKILL_MARGIN`` of the majority-class
   baseline; or both losses were still falling at the end: over the last ``TAIL`` of the
   epochs (3-epoch means at each edge) the training loss fell by more than
   ``STILL_FALLING`` of its final value (or by more than ``STILL_FALLING_SLOPE_MIN`` of it
   and at least ``STEADY`` times as much as in the window before: a straight line down, not
   slowing) and the validation loss by more than ``STILL_FALLING_VAL`` of its own (train
   longer).
7. ``good fit``: none of the above: both losses fell and flattened out together.

When early stopping restored the best weights, the curves are read up to the epoch whose
weights were kept, and a loss still falling there is not a reason to train longer. With
dropout, noise or batch norm (``regularized``) the untrained loss of epoch 0 is not compared
with the training loss of epoch 1 (one is measured with them off, the other on).
Pure Python and numpy: ``nnlab report`` uses it on finished runs too.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from nnlab import names

DIVERGED_RATIO = 1.5
NEVER_FELL = 1.01
CLIMBED_BACK = 0.5
SPIKE = 0.5
SPIKE_MIN = 0.1
MIN_EPOCHS = 5
OSCILLATION_FLIPS = 0.4
ACCURACY_STEP = 0.03
LOSS_STEP = 0.10
TRAIN_JITTER = 0.05
EASY_VALIDATION = 0.7
OVERFIT_PATIENCE = 3
OVERFIT_RISE = 0.10
OVERFIT_MIN_RISE = 0.01
FLAT_DROP = 0.10
NO_SKILL_LOSS = 0.9
NO_SKILL_MARGIN = 0.02
TAIL = 0.2
STILL_FALLING = 0.10
STILL_FALLING_VAL = 0.05
STILL_FALLING_SLOPE_MIN = 0.02
STEADY = 0.5
SMOOTH = 0.05
MIN_SMOOTH = 5

LABELS = (  # "unknown" is given only when the diagnosis itself raised (train.py)
    "diverged",
    "too short",
    "unstable",
    "unrepresentative validation",
    "overfit",
    "underfit",
    "good fit",
)


def _col(rows: Sequence[dict[str, float]], key: str) -> np.ndarray:
    return np.array([float(r.get(key, math.nan)) for r in rows], dtype=float)


def _oscillation(values: np.ndarray) -> tuple[float, np.ndarray]:
    """Fraction of steps that change direction, and the absolute steps."""
    steps = np.diff(values[np.isfinite(values)])
    moving = steps[steps != 0]
    if len(moving) < 3:
        return 0.0, np.abs(steps)
    flips = np.sum(np.sign(moving[1:]) != np.sign(moving[:-1]))
    return float(flips / (len(moving) - 1)), np.abs(steps)


def _relative_step(values: np.ndarray) -> float:
    _, steps = _oscillation(values)
    if not len(steps):
        return 0.0
    level = np.nanmedian(np.abs(values))
    if not level:
        return 0.0
    return float(np.median(steps) / level)


def _smooth(values: np.ndarray) -> np.ndarray:
    """Centred moving average over about ``SMOOTH`` of the epochs (odd window, at most 9),
    so that a single lucky epoch of a noisy validation curve is not taken for its minimum."""
    window = min(9, max(MIN_SMOOTH, int(SMOOTH * len(values)) | 1))
    if window == 1 or len(values) < window:
        return values
    pad = window // 2
    padded = np.pad(values, pad, mode="edge")
    kernel = np.ones(window) / window
    return np.convolve(padded, kernel, mode="valid")


def _validation_metric(rows: Sequence[dict[str, float]]) -> str | None:
    keys = list(rows[0])
    if "val_accuracy" in keys:
        return "val_accuracy"
    for k in keys:
        if k.startswith("val_") and k != "val_loss" and names.is_maximized(k):
            return k
    return "val_loss" if "val_loss" in keys else None


def _level(values: np.ndarray, i: int) -> float:
    """Mean of the finite values among the 3 epochs around index ``i`` (clipped to the run)."""
    n = len(values)
    i = i % n
    window = values[max(0, i - 1) : min(n, i + 2)]
    window = window[np.isfinite(window)]
    return float(window.mean()) if len(window) else math.nan


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def _label(label: str, reason: str, **numbers: Any) -> dict[str, Any]:
    return {"label": label, "reason": reason, **numbers}


def diagnose(
    rows: Sequence[dict[str, float]],
    *,
    diverged_epoch: int | None = None,
    baseline_accuracy: float | None = None,
    baseline_loss: float | None = None,
    regularized: bool = False,
    kept_epoch: int | None = None,
    stopped_early: bool = False,
) -> dict[str, Any]:
    """The diagnosis of one history: ``{"label", "reason", ...numbers}``.

    ``rows`` are history rows (epoch 0 first); ``baseline_loss``: the no-skill loss;
    ``regularized``: dropout, noise or batch norm is on (the training loss is measured with
    them active); ``kept_epoch``: early stopping restored the weights of this epoch;
    ``stopped_early``: early stopping ended the run without restoring the best weights.
    NaN and zero losses give no numpy warnings.
    """
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices, empty means
        return _diagnose(rows, diverged_epoch, baseline_accuracy, baseline_loss, regularized,
                         kept_epoch, stopped_early)  # fmt: skip


def _diagnose(
    rows: Sequence[dict[str, float]],
    diverged_epoch: int | None,
    baseline_accuracy: float | None,
    baseline_loss: float | None,
    regularized: bool,
    kept_epoch: int | None,
    stopped_early: bool,
) -> dict[str, Any]:
    if diverged_epoch is not None:
        return _label(
            "diverged",
            f"the training loss became non-finite in epoch {diverged_epoch}; "
            "lower the learning rate",
            epoch=diverged_epoch,
        )
    if not rows:
        return _label("too short", "no epoch was recorded")
    loss = _col(rows, "loss")
    if not np.isfinite(loss).all():
        epoch = int(rows[int(np.argmin(np.isfinite(loss)))]["epoch"])
        return _label("diverged", f"the training loss became non-finite in epoch {epoch}",
                      epoch=epoch)  # fmt: skip
    tail = loss[-max(2, len(loss) // 4) :]
    if len(loss) > 2 and tail.min() > DIVERGED_RATIO * loss[0]:
        return _label(
            "diverged",
            f"the training loss ended at {_fmt(loss[-1])}, above the {_fmt(loss[0])} of the "
            "untrained model; lower the learning rate",
        )
    # with dropout or noise the training loss is measured with them on, the untrained loss
    # (epoch 0, an evaluation) with them off: the first epoch may well be above it
    if len(loss) > 2 and not regularized and loss[1:].min() > NEVER_FELL * loss[0]:
        return _label(
            "diverged",
            f"the training loss never fell below the {_fmt(loss[0])} of the untrained model "
            f"(it rose to {_fmt(loss[1])} in the first epoch); lower the learning rate",
        )
    trained = len(rows) - 1
    if trained < MIN_EPOCHS:
        return _label("too short", f"only {trained} trained epochs; run at least {MIN_EPOCHS}")
    kept_text = ""
    if kept_epoch is not None:
        kept_text = (f"early stopping kept the weights of epoch {kept_epoch} of {trained}, "
                     "where the validation loss was lowest")  # fmt: skip
        rows = [r for r in rows if r["epoch"] <= kept_epoch]
        loss = loss[: len(rows)]
        trained = len(rows) - 1
        if trained < MIN_EPOCHS:  # too few epochs to read a shape in: early stopping's call
            return _label("good fit", kept_text)

    # the training loss the fall is measured from: with dropout or noise the first epoch's
    # (measured with them on) rather than the untrained model's (measured with them off)
    first = 1 if regularized else 0
    start = float(loss[first])
    rises = np.diff(loss)
    spikes = np.flatnonzero((rises > SPIKE * loss[:-1]) & (rises > SPIKE_MIN * loss[0]))
    if regularized:  # the step from epoch 0 compares an evaluation with a training loss
        spikes = spikes[spikes > 0]
    if len(spikes):
        i = int(spikes[0])
        epoch = int(rows[i + 1]["epoch"])
        return _label(
            "unstable",
            f"the training loss jumped from {_fmt(loss[i])} to {_fmt(loss[i + 1])} in epoch "
            f"{epoch}"
            + (f" ({len(spikes)} such jumps)" if len(spikes) > 1 else "")
            + ": the learning rate is too high",
            epoch=epoch,
        )
    low_epoch = first + int(np.argmin(loss[first:]))
    gained, end = start - loss[low_epoch], float(np.mean(loss[-3:]))
    if gained > 0 and end - loss[low_epoch] > CLIMBED_BACK * gained:
        epoch = int(rows[low_epoch]["epoch"])
        return _label(
            "unstable",
            f"the training loss climbed back from {_fmt(loss[low_epoch])} at epoch {epoch} to "
            f"{_fmt(end)}, losing {(end - loss[low_epoch]) / gained:.0%} of what it had "
            "gained: the learning rate is too high",
            min_loss_epoch=epoch,
        )

    val_loss = _col(rows, "val_loss")
    has_val = bool(np.isfinite(val_loss[1:]).any())
    half = slice(len(rows) // 2, None)

    metric = _validation_metric(rows)
    if metric is not None:
        values = _col(rows, metric)[half]
        flips, steps = _oscillation(values)
        if names.is_maximized(metric) and np.nanmax(np.abs(values)) <= 1:
            size, threshold = float(np.median(steps)) if len(steps) else 0.0, ACCURACY_STEP
        else:
            size, threshold = _relative_step(values), LOSS_STEP
        if flips >= OSCILLATION_FLIPS and size >= threshold:
            jitter = _relative_step(loss[half])
            numbers = {"flips": round(flips, 3), "step": round(size, 4)}
            if jitter >= TRAIN_JITTER:
                return _label(
                    "unstable",
                    f"{metric} changes direction in {flips:.0%} of the last epochs with steps "
                    f"of {_fmt(size)}, and the training loss jitters too: the learning rate "
                    "is probably too high",
                    **numbers,
                )
            return _label(
                "unrepresentative validation",
                f"{metric} jumps around (direction changes in {flips:.0%} of the last epochs, "
                f"steps of {_fmt(size)}) while the training loss is smooth: the validation "
                "set is probably too small to measure the model",
                **numbers,
            )

    if has_val and not regularized and np.isfinite(val_loss[half]).any():
        ratio = float(np.nanmean(val_loss[half]) / np.nanmean(loss[half]))
        if ratio < EASY_VALIDATION:
            return _label(
                "unrepresentative validation",
                f"the validation loss stays at {ratio:.0%} of the training loss: the "
                "validation set is easier than the training set (too small, or not drawn "
                "from the same data)",
                ratio=round(ratio, 3),
            )

    gap = float(val_loss[-1] - loss[-1]) if has_val else math.nan
    v = _smooth(np.where(np.isfinite(val_loss), val_loss, np.nan))
    if has_val and np.isfinite(v[1:]).any():
        best = int(np.nanargmin(v[1:])) + 1
        room = max(OVERFIT_PATIENCE, math.ceil(0.1 * trained))
        # the end is the mean of the last 10 % of the epochs (at least 3): a rise must last
        v_min, v_end = float(v[best]), float(np.nanmean(val_loss[-room:]))
        rise = v_end - v_min
        if (
            trained - best >= room
            and rise >= max(OVERFIT_RISE * v_min, OVERFIT_MIN_RISE)
            and _level(loss, -1) < _level(loss, best)
        ):
            epoch = int(rows[best]["epoch"])
            return _label(
                "overfit",
                f"the validation loss reached its minimum {_fmt(v_min)} at epoch {epoch}, "
                f"then rose to {_fmt(v_end)} while the training loss fell to "
                f"{_fmt(loss[-1])} (gap {_fmt(gap)}): "
                + (
                    "early stopping ended the run later, with the last weights; "
                    "restore_best_weights: true keeps those of the minimum"
                    if stopped_early
                    else "stop earlier or regularize"
                ),
                min_val_loss_epoch=epoch,
                min_val_loss=round(v_min, 6),
                gap=round(gap, 6),
            )

    lowest = float(np.min(loss[first:]))
    drop = start - lowest
    if drop < FLAT_DROP * start:
        return _label(
            "underfit",
            f"the training loss barely moved ({_fmt(start)} to {_fmt(lowest)}): "
            "the model cannot fit the data; make it larger or train it differently",
            gap=round(gap, 6),
        )
    # the lower of the two: dropout or noise keep the training loss up on a model that learned
    low = min(lowest, float(np.nanmin(val_loss[1:]))) if has_val else lowest
    if baseline_loss and low >= NO_SKILL_LOSS * baseline_loss:
        return _label(
            "underfit",
            f"the losses never got below {_fmt(low)}, {low / baseline_loss:.0%} of the "
            f"{_fmt(baseline_loss)} of a constant prediction: the model learned little; make "
            "it larger or train it differently",
            gap=round(gap, 6),
        )
    val_acc = _col(rows, "val_accuracy")
    if baseline_accuracy is not None and np.isfinite(val_acc[1:]).any():
        best_acc = float(np.nanmax(val_acc[1:]))
        if best_acc <= baseline_accuracy + NO_SKILL_MARGIN:
            return _label(
                "underfit",
                f"the best val_accuracy {_fmt(best_acc)} is no better than always predicting "
                f"the majority class ({_fmt(baseline_accuracy)})",
                gap=round(gap, 6),
            )
    if kept_text:  # early stopping chose the epoch: not a reason to train longer
        return _label(
            "good fit", kept_text + (f" (gap {_fmt(gap)})" if has_val else ""), gap=round(gap, 6)
        )
    window = max(3, math.ceil(TAIL * trained))
    # levels are means of 3 epochs around each edge of the window, so that one noisy epoch
    # does not make a flat curve fall
    before, after = _level(loss, -window - 1), _level(loss, -1)
    # relative to where the loss is now: a curve that has flattened moves by a sliver of its
    # level, one still going down a slope by a good part of it; or, slower, it goes down a
    # straight line, as fast as in the window before (a flattening curve slows down)
    tail_drop = before - after
    earlier = _level(loss, -2 * window - 1) - before if len(loss) > 2 * window else math.inf
    falling = after > 0 and (
        tail_drop > STILL_FALLING * after
        or (
            tail_drop > STILL_FALLING_SLOPE_MIN * after
            and earlier > 0
            and tail_drop >= STEADY * earlier
        )
    )
    val_before, val_after = _level(val_loss, -window - 1), _level(val_loss, -1)
    val_falling = not has_val or val_before - val_after > STILL_FALLING_VAL * abs(val_after)
    if falling and val_falling:
        val_text = (
            f" and the validation loss from {_fmt(val_before)} to {_fmt(val_after)}"
            if has_val
            else ""
        )
        return _label(
            "underfit",
            f"the losses were still falling at the end: the last {window} epochs took the "
            f"training loss from {_fmt(before)} to {_fmt(after)} "
            f"({(after - before) / before:+.0%}){val_text}; train longer",
            gap=round(gap, 6),
        )
    return _label(
        "good fit",
        (
            f"training and validation loss fell and flattened out together (final gap {_fmt(gap)})"
            if has_val and math.isfinite(gap)
            else "the training loss fell and flattened out"
        ),
        gap=round(gap, 6),
    )


def diagnose_result(
    rows: Sequence[dict[str, float]], result: dict[str, Any], regularized: bool = False
) -> dict[str, Any] | None:
    """The diagnosis of a finished run, from its history rows and result; None for a run that
    failed or was interrupted (its error says what happened). ``result["regularized"]`` (the
    model has dropout, noise or batch-norm layers), when recorded, overrides ``regularized``."""
    if result.get("status") not in ("completed", "diverged"):
        return None
    weights_epoch = result.get("weights_epoch")
    last = int(rows[-1]["epoch"]) if rows else 0
    kept = weights_epoch if weights_epoch is not None and weights_epoch < last else None
    return diagnose(
        rows,
        diverged_epoch=result.get("diverged_epoch"),
        baseline_accuracy=result.get("baseline_accuracy"),
        baseline_loss=result.get("baseline_loss"),
        regularized=bool(result.get("regularized", regularized)),
        kept_epoch=kept,
        stopped_early=kept is None and result.get("stopped_epoch") is not None,
    )


def config_regularized(model: Mapping[str, Any]) -> bool:
    """Whether a run config's ``model`` section turns on dropout, noise or batch norm (for
    runs recorded before ``result.json`` stored ``regularized``; a custom builder's own
    layers are not seen here)."""
    return any(model.get(k) for k in ("dropout", "noise", "batch_norm"))
