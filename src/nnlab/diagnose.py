"""What a run's learning curves say, in one label and one sentence.

The rules read history.csv (epoch 0 is the untrained model). ``RULES`` lists them in the order
they are checked: small functions, each named for what it detects, that take the ``Facts`` of
a run and give its label or None. The first label given is the diagnosis (``fallback_good_fit``
when none is). The thresholds are the constants below; each rule's docstring says how it uses
them, and docs/diagnosis.md lists the rules with real runs that show each label.

When early stopping restored the best weights, the curves are read up to the epoch whose
weights were kept. With dropout, noise or batch norm (``regularized``) the untrained loss of
epoch 0 is not compared with the training loss of epoch 1 (one is measured with them off, the
other on). Pure Python and numpy: ``nnlab report`` uses it on finished runs too.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
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


@dataclass(frozen=True)
class Facts:
    """A run's history (epoch 0 first), what it recorded beside it (``diagnose``'s arguments)
    and the curve facts the rules share, each computed once, when a rule first asks for it (the
    rules before it make sure it can be). From ``read_rows`` on, read up to the epoch kept."""

    rows: Sequence[dict[str, float]]
    diverged_epoch: int | None = None
    baseline_accuracy: float | None = None
    baseline_loss: float | None = None
    regularized: bool = False
    kept_epoch: int | None = None
    stopped_early: bool = False

    all_loss = cached_property(lambda f: _col(f.rows, "loss"))  # of every recorded epoch

    @cached_property
    def read_rows(self) -> Sequence[dict[str, float]]:  # up to the epoch early stopping kept
        if self.kept_epoch is None:
            return self.rows
        return [r for r in self.rows if r["epoch"] <= self.kept_epoch]

    loss = cached_property(lambda f: f.all_loss[: len(f.read_rows)])  # the epochs read
    trained = cached_property(lambda f: len(f.read_rows) - 1)
    # the fall of the training loss is measured from epoch 1 with dropout, noise or batch norm
    # (on in training; epoch 0 is an evaluation, with them off)
    first = cached_property(lambda f: 1 if f.regularized else 0)
    start = cached_property(lambda f: float(f.loss[f.first]))
    lowest = cached_property(lambda f: float(np.min(f.loss[f.first :])))
    val_loss = cached_property(lambda f: _col(f.read_rows, "val_loss"))
    has_val = cached_property(lambda f: bool(np.isfinite(f.val_loss[1:]).any()))
    half = cached_property(lambda f: slice(len(f.read_rows) // 2, None))  # of the epochs read
    # the final validation loss minus the final training loss
    gap = cached_property(lambda f: float(f.val_loss[-1] - f.loss[-1]) if f.has_val else math.nan)
    # the training loss's median step in the second half, relative to its level
    train_jitters = cached_property(lambda f: _relative_step(f.loss[f.half]) >= TRAIN_JITTER)

    @cached_property
    def kept_text(self) -> str:
        if self.kept_epoch is None:
            return ""
        return (f"early stopping kept the weights of epoch {self.kept_epoch} of "
                f"{len(self.rows) - 1}, where the validation loss was lowest")  # fmt: skip

    @cached_property
    def oscillation(self) -> tuple[str, float, float] | None:
        """(metric, flips, step) when in the second half the validation metric (``val_accuracy``
        or the first validation metric, else ``val_loss``) changes direction in at least
        ``OSCILLATION_FLIPS`` of the epochs with a median step of at least ``ACCURACY_STEP``
        (metrics in [0, 1]) or ``LOSS_STEP`` of its level (losses); else None."""
        metric = _validation_metric(self.read_rows)
        if metric is None:
            return None
        values = _col(self.read_rows, metric)[self.half]
        flips, steps = _oscillation(values)
        if names.is_maximized(metric) and np.nanmax(np.abs(values)) <= 1:
            size, threshold = float(np.median(steps)) if len(steps) else 0.0, ACCURACY_STEP
        else:
            size, threshold = _relative_step(values), LOSS_STEP
        return (metric, flips, size) if flips >= OSCILLATION_FLIPS and size >= threshold else None

    @cached_property
    def tail(self) -> tuple[int, float, float, float, float]:
        """The last ``TAIL`` of the epochs (at least 3); the training and validation losses
        before it and at the end (3-epoch means: one noisy epoch does not make a fall)."""
        window = max(3, math.ceil(TAIL * self.trained))
        before, after = _level(self.loss, -window - 1), _level(self.loss, -1)
        return window, before, after, _level(self.val_loss, -window - 1), _level(self.val_loss, -1)


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
    """overfit: the ``_smooth``-ed validation loss reached its minimum ``OVERFIT_PATIENCE`` epochs
    (and 10 % of the run) before the end, the mean of that stretch is ``OVERFIT_RISE`` (and
    ``OVERFIT_MIN_RISE``) above it, and the training loss (3-epoch means) went on falling."""
    v = _smooth(np.where(np.isfinite(f.val_loss), f.val_loss, np.nan))
    if not (f.has_val and np.isfinite(v[1:]).any()):
        return None
    best = int(np.nanargmin(v[1:])) + 1
    room = max(OVERFIT_PATIENCE, math.ceil(0.1 * f.trained))  # a rise must last
    v_min, v_end = float(v[best]), float(np.nanmean(f.val_loss[-room:]))
    rose = v_end - v_min >= max(OVERFIT_RISE * v_min, OVERFIT_MIN_RISE)
    if not (f.trained - best >= room and rose and _level(f.loss, -1) < _level(f.loss, best)):
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
    """underfit: the best val_accuracy is within ``NO_SKILL_MARGIN`` of ``baseline_accuracy``."""
    val_acc = _col(f.read_rows, "val_accuracy")
    if f.baseline_accuracy is None or not np.isfinite(val_acc[1:]).any():
        return None
    best_acc = float(np.nanmax(val_acc[1:]))
    if not best_acc <= f.baseline_accuracy + NO_SKILL_MARGIN:
        return None
    return _label("underfit", f"the best val_accuracy {_fmt(best_acc)} is no better than always "
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
    earlier = _level(f.loss, -2 * window - 1) - before if len(f.loss) > 2 * window else math.inf
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
    """The diagnosis of one history: ``{"label", "reason", ...numbers}``, from the first of
    ``RULES`` that matches (``fallback_good_fit`` when none does).

    ``rows`` are history rows (epoch 0 first); ``baseline_loss``: the no-skill loss;
    ``regularized``: dropout, noise or batch norm is on (the training loss is measured with
    them active); ``kept_epoch``: early stopping restored the weights of this epoch;
    ``stopped_early``: early stopping ended the run without restoring the best weights.
    NaN and zero losses give no numpy warnings.
    """
    facts = Facts(rows, diverged_epoch, baseline_accuracy, baseline_loss, regularized,
                  kept_epoch, stopped_early)  # fmt: skip
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices, empty means
        for rule in RULES:
            if (found := rule(facts)) is not None:
                return found
        return fallback_good_fit(facts)


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
