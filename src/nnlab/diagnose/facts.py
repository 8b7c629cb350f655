"""The thresholds of the diagnosis and the curve facts its rules share.

``Facts`` holds a run's history and what the run recorded beside it, and computes each fact
about the curves once, when a rule first asks for it. The helpers below it (``column``,
``level``, ``smooth``) are for rules that read the curves in a way of their own. Pure Python
and numpy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

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


def column(rows: Sequence[dict[str, float]], key: str) -> np.ndarray:
    """One column of the history as floats, NaN in the rows that lack it."""
    return np.array([float(r.get(key, math.nan)) for r in rows], dtype=float)


def level(values: np.ndarray, i: int) -> float:
    """Mean of the finite values among the 3 epochs around index ``i`` (clipped to the run)."""
    n = len(values)
    i = i % n
    window = values[max(0, i - 1) : min(n, i + 2)]
    window = window[np.isfinite(window)]
    return float(window.mean()) if len(window) else math.nan


def smooth(values: np.ndarray) -> np.ndarray:
    """Centred moving average over about ``SMOOTH`` of the epochs (odd window, at most 9),
    so that a single lucky epoch of a noisy validation curve is not taken for its minimum."""
    window = min(9, max(MIN_SMOOTH, int(SMOOTH * len(values)) | 1))
    if window == 1 or len(values) < window:
        return values
    pad = window // 2
    padded = np.pad(values, pad, mode="edge")
    kernel = np.ones(window) / window
    return np.convolve(padded, kernel, mode="valid")


def _oscillation(values: np.ndarray) -> tuple[float, np.ndarray]:
    """Fraction of steps that change direction, and the absolute steps."""
    steps = np.diff(values[np.isfinite(values)])
    moving = steps[steps != 0]
    if len(moving) < 3:
        return 0.0, np.abs(steps)
    flips = np.sum(np.sign(moving[1:]) != np.sign(moving[:-1]))
    return float(flips / (len(moving) - 1)), np.abs(steps)


def _relative_step(values: np.ndarray) -> float:
    """The median absolute step, relative to the median absolute value (0 when either is)."""
    _, steps = _oscillation(values)
    if not len(steps):
        return 0.0
    scale = np.nanmedian(np.abs(values))
    if not scale:
        return 0.0
    return float(np.median(steps) / scale)


def _validation_metric(rows: Sequence[dict[str, float]]) -> str | None:
    """``val_accuracy``, else the first maximised validation metric, else ``val_loss``."""
    keys = list(rows[0])
    if "val_accuracy" in keys:
        return "val_accuracy"
    for k in keys:
        if k.startswith("val_") and k != "val_loss" and names.is_maximized(k):
            return k
    return "val_loss" if "val_loss" in keys else None


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
    monitor: str = "val_loss"  # the column early stopping watched

    @cached_property
    def all_loss(self) -> np.ndarray:
        """The training loss of every recorded epoch."""
        return column(self.rows, "loss")

    @cached_property
    def read_rows(self) -> Sequence[dict[str, float]]:
        """The rows up to the epoch early stopping kept (all of them when it kept none)."""
        if self.kept_epoch is None:
            return self.rows
        return [r for r in self.rows if r["epoch"] <= self.kept_epoch]

    @cached_property
    def loss(self) -> np.ndarray:
        """The training loss of the epochs read."""
        return self.all_loss[: len(self.read_rows)]

    @cached_property
    def trained(self) -> int:
        """The number of trained epochs read (epoch 0 is the untrained model)."""
        return len(self.read_rows) - 1

    @cached_property
    def first(self) -> int:
        """The epoch the fall of the training loss is measured from: 1 with dropout, noise or
        batch norm (on in training; epoch 0 is an evaluation, with them off), else 0."""
        return 1 if self.regularized else 0

    @cached_property
    def start(self) -> float:
        """The training loss at ``first``."""
        return float(self.loss[self.first])

    @cached_property
    def lowest(self) -> float:
        """The lowest training loss from ``first`` on."""
        return float(np.min(self.loss[self.first :]))

    @cached_property
    def val_loss(self) -> np.ndarray:
        """The validation loss of the epochs read (NaN where there is none)."""
        return column(self.read_rows, "val_loss")

    @cached_property
    def has_val(self) -> bool:
        """Whether some trained epoch read has a finite validation loss."""
        return bool(np.isfinite(self.val_loss[1:]).any())

    @cached_property
    def half(self) -> slice:
        """The second half of the epochs read."""
        return slice(len(self.read_rows) // 2, None)

    @cached_property
    def gap(self) -> float:
        """The final validation loss minus the final training loss (NaN without validation)."""
        if not self.has_val:
            return math.nan
        return float(self.val_loss[-1] - self.loss[-1])

    @cached_property
    def train_jitters(self) -> bool:
        """Whether the training loss's median step in the second half is at least
        ``TRAIN_JITTER`` of its level."""
        return _relative_step(self.loss[self.half]) >= TRAIN_JITTER

    @cached_property
    def kept_text(self) -> str:
        """The sentence naming the epoch early stopping kept ("" when it kept none)."""
        if self.kept_epoch is None:
            return ""
        best = "highest" if names.is_maximized(self.monitor) else "lowest"
        watched = {"val_loss": "the validation loss", "loss": "the training loss"}.get(
            self.monitor, self.monitor)  # fmt: skip
        return (f"early stopping kept the weights of epoch {self.kept_epoch} of "
                f"{len(self.rows) - 1}, where {watched} was {best}")  # fmt: skip

    @cached_property
    def oscillation(self) -> tuple[str, float, float] | None:
        """(metric, flips, step) when in the second half the validation metric (``val_accuracy``
        or the first validation metric, else ``val_loss``) changes direction in at least
        ``OSCILLATION_FLIPS`` of the epochs with a median step of at least ``ACCURACY_STEP``
        (metrics in [0, 1]) or ``LOSS_STEP`` of its level (losses); else None."""
        metric = _validation_metric(self.read_rows)
        if metric is None:
            return None
        values = column(self.read_rows, metric)[self.half]
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
        before, after = level(self.loss, -window - 1), level(self.loss, -1)
        return window, before, after, level(self.val_loss, -window - 1), level(self.val_loss, -1)
