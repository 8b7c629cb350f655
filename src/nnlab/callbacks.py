"""Keras callbacks nnlab adds to every fit: the streamed history, the divergence stop, progress,
the callbacks that ``train.early_stopping`` and ``train.lr_schedule`` name, and the user's own
(``train.callbacks``, and the objects given to ``nnlab.run``).

Imported only by the training code, after ``backend.activate``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras

from nnlab import names, user_code
from nnlab.config import TrainConfig, watched
from nnlab.errors import ConfigError
from nnlab.store import RowFile


def current_lr(model: keras.Model) -> float:
    return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))


class HistoryWriter(keras.callbacks.Callback):
    """Writes ``history.csv`` a row per epoch, flushed as the epoch ends (as Keras' CSVLogger).

    Row 0 (the untrained model) is written by the caller through ``write_row`` before ``fit``;
    it fixes the columns: epoch, the train metrics, the validation metrics, learning_rate,
    epoch_seconds. ``rows`` keeps every row written, for the run's result.
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.columns: list[str] = []
        self.rows: list[dict[str, float]] = []
        self._file: RowFile | None = None
        self._lr = math.nan
        self.epoch_started = 0.0

    def write_row(self, epoch: int, logs: dict[str, Any], lr: float, seconds: float) -> None:
        if self._file is None:
            metrics = sorted((k for k in logs if not k.startswith("val_")), key=_loss_first)
            val = [f"val_{k}" for k in metrics if f"val_{k}" in logs]
            self.columns = ["epoch", *metrics, *val, "learning_rate", "epoch_seconds"]
            self._file = RowFile(self.path, self.columns)
        row = {"epoch": epoch, **{k: float(v) for k, v in logs.items()}}
        row["learning_rate"] = float(f"{lr:.7g}")  # the optimizer holds float32
        row["epoch_seconds"] = round(seconds, 4)
        self.rows.append(row)
        self._file.write([self._cells(row)])

    def resume(self, columns: list[str], rows: list[dict[str, float]]) -> None:
        """Start from a checkpoint's rows: history.csv holds them again, each once."""
        self._file = RowFile(self.path, columns)
        self.columns, self.rows = list(columns), list(rows)
        self._file.write([self._cells(row) for row in rows])

    def _cells(self, row: dict[str, float]) -> list[str]:
        return [_fmt(row.get(c, math.nan)) for c in self.columns]

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._lr = current_lr(self.model)
        self.epoch_started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        seconds = time.perf_counter() - self.epoch_started
        self.write_row(epoch + 1, dict(logs or {}), self._lr, seconds)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _loss_first(key: str) -> int:
    return 0 if key == "loss" else 1


def _fmt(value: Any) -> str:
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


class DivergenceStop(keras.callbacks.Callback):
    """Stops training when the epoch's training loss is NaN or infinite; remembers the epoch.

    Checked at the end of each epoch rather than each batch, so fit keeps its fast path
    with no per-batch Python call; a diverged epoch's loss is already NaN or inf.
    """

    def __init__(self) -> None:
        super().__init__()
        self.diverged_epoch: int | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.diverged_epoch = epoch + 1
            self.model.stop_training = True


class LastWeights(keras.callbacks.Callback):
    """Keeps the weights the model has when training ends, before early stopping (which runs
    after it) restores the best ones; only when ``wanted`` (``save_model: final``)."""

    def __init__(self, wanted: bool) -> None:
        super().__init__()
        self.wanted = wanted
        self.weights: list[Any] | None = None

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.wanted:
            self.weights = self.model.get_weights()


class EpochReporter(keras.callbacks.Callback):
    """Calls ``report(epoch, logs)`` after each epoch (the CLI's progress display)."""

    def __init__(self, report: Callable[[int, dict[str, Any]], None]) -> None:
        super().__init__()
        self.report = report

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.report(epoch + 1, dict(logs or {}))


def _mode(monitor: str) -> str:
    return "max" if names.is_maximized(monitor) else "min"


def early_stopping(cfg: TrainConfig, held_out: bool = True) -> list[keras.callbacks.Callback]:
    """Keras' EarlyStopping as ``train.early_stopping`` says; without a validation set
    (``held_out`` False) a ``val_`` monitor watches its training column (``config.watched``)."""
    es = cfg.early_stopping
    if es is None:
        return []
    monitor = watched(es.monitor, held_out)
    return [
        keras.callbacks.EarlyStopping(
            monitor=monitor,
            patience=es.patience,
            min_delta=es.min_delta,
            restore_best_weights=es.restore_best_weights,
            mode=_mode(monitor),
        )
    ]


def schedule_fn(cfg: TrainConfig) -> Callable[[int], float] | None:
    """Learning rate for a 0-based epoch, for the epoch-based schedules; None for plateau."""
    s = cfg.lr_schedule
    lr0, epochs = cfg.learning_rate, cfg.epochs
    if s is None or s.kind == "plateau":
        return None
    if s.kind == "step":
        return lambda e: lr0 * s.factor ** (e // s.every)
    if s.kind == "exponential":
        return lambda e: lr0 * s.rate**e
    return lambda e: s.min_lr + (lr0 - s.min_lr) * 0.5 * (1 + math.cos(math.pi * e / epochs))


def lr_schedule(cfg: TrainConfig, held_out: bool = True) -> list[keras.callbacks.Callback]:
    """The callback of ``train.lr_schedule``; a plateau's monitor as in ``early_stopping``."""
    s = cfg.lr_schedule
    if s is None:
        return []
    if s.kind == "plateau":
        monitor = watched(s.monitor, held_out)
        return [
            keras.callbacks.ReduceLROnPlateau(
                monitor=monitor,
                factor=s.factor,
                patience=s.patience,
                min_delta=s.min_delta,
                min_lr=s.min_lr,
                mode=_mode(monitor),
            )
        ]
    fn = schedule_fn(cfg)
    assert fn is not None
    return [keras.callbacks.LearningRateScheduler(lambda epoch, lr: fn(epoch))]


def user_callbacks(cfg: TrainConfig) -> list[keras.callbacks.Callback]:
    """New instances of the callbacks ``train.callbacks`` names, then the objects the Python
    API was given (``user_code.OBJECTS``, the same objects for every run). Every problem is
    one line of a ``ConfigError``, naming the entry."""
    made, problems = [], []
    for i, spec in enumerate(cfg.callbacks):
        key = f"train.callbacks.{i}"
        try:
            cls = user_code.load(spec.path, key, kind="class")
        except ConfigError as e:
            problems += e.problems
            continue
        try:
            obj = cls(**spec.args)
        except Exception as e:
            problems.append(f"{key}: {spec.path} with args {spec.args} raised "
                            f"{type(e).__name__}: {e}")  # fmt: skip
            continue
        if not isinstance(obj, keras.callbacks.Callback):
            problems.append(f"{key}: {spec.path} makes a {type(obj).__name__}, "
                            "not a keras.callbacks.Callback")  # fmt: skip
        made.append(obj)
    if problems:
        raise ConfigError(*problems)
    return made + list(user_code.OBJECTS)
