"""What every dataset loader returns, and where downloaded files are cached."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

Task = Literal["binary", "multiclass", "regression"]

CACHE_ENV = "NNLAB_DATA_DIR"


def cache_dir() -> Path:
    """``$NNLAB_DATA_DIR``, else ``$XDG_CACHE_HOME/nnlab`` (default ``~/.cache/nnlab``)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "nnlab"


@dataclass
class Dataset:
    """Arrays ready for ``model.fit``, already split and (unless ``scale`` is layer) scaled.

    x arrays are float32: (n, features) for tabular data, (n, height, width, channels) for
    images. y is int64 class indices (0..n_classes-1) for binary and multiclass tasks and
    float32 for regression. ``x_test`` is the official test split when the dataset has one
    and it is not already the validation set; otherwise None.
    """

    name: str
    task: Task
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    n_classes: int = 0  # 0 for regression
    feature_names: list[str] | None = None
    source: str = ""  # where the data came from: a file path, a URL, a generator call
    # raw (unscaled) features -> the features the model sees; used to draw decision boundaries
    transform: Callable[[np.ndarray], np.ndarray] = field(default=lambda x: x, repr=False)
    raw_train: np.ndarray | None = field(default=None, repr=False)  # 2-D tabular data only
    raw_val: np.ndarray | None = field(default=None, repr=False)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def is_image(self) -> bool:
        return self.x_train.ndim == 4

    @property
    def held_out(self) -> bool:
        """Whether there is a validation set (``data.validation: none`` leaves it empty)."""
        return len(self.x_val) > 0

    def evaluation_set(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The (x, y) of ``train.evaluate_on``'s ``name``: train, validation, or all (the
        training and validation rows together, as the course's ``model.evaluate(X, y)``)."""
        if name == "train":
            return self.x_train, self.y_train
        if name == "validation":
            return self.x_val, self.y_val
        if name == "all":
            return (np.concatenate([self.x_train, self.x_val]),
                    np.concatenate([self.y_train, self.y_val]))  # fmt: skip
        raise ValueError(f"unknown evaluation set {name!r}")

    def majority_baseline(self) -> float | None:
        """Accuracy of always predicting the most common training class (None for regression)."""
        if self.task == "regression":
            return None
        counts = np.bincount(self.y_train.astype(np.int64), minlength=self.n_classes)
        scored = self.y_val if self.held_out else self.y_train  # what the ranked metric sees
        return float(np.mean(scored == np.argmax(counts)))

    def no_skill_loss(self, loss: str) -> float | None:
        """The training loss of the best constant prediction: the class frequencies for
        cross-entropy (their entropy), the mean for squared error (the variance), the median
        for absolute error. None for the other losses."""
        y = np.asarray(self.y_train, dtype=np.float64)
        if loss in ("binary_crossentropy", "sparse_categorical_crossentropy",
                    "categorical_crossentropy") and self.task != "regression":  # fmt: skip
            q = np.bincount(y.astype(np.int64), minlength=self.n_classes or 2) / len(y)
            q = q[q > 0]
            return float(-(q * np.log(q)).sum())
        if loss == "mean_squared_error":
            return float(y.var())
        if loss == "mean_absolute_error":
            return float(np.abs(y - np.median(y)).mean())
        return None
