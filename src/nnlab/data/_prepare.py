"""What every loader hands over (``Raw``), and the steps shared by all of them.

``prepare`` is called by ``load_dataset`` on the arrays a loader produced: it holds out the
validation split, keeps the ``subset``, and scales with statistics of the training split only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nnlab.config import DataConfig
from nnlab.data._base import Dataset, Task
from nnlab.errors import DataError


@dataclass
class Raw:
    """A dataset as loaded: all examples, unsplit and unscaled.

    ``x`` is (n, features) or (n, height, width, channels); ``y`` holds class indices
    0..n_classes-1 for classification. ``x_test``/``y_test`` is the official test split when
    the dataset has one. ``image_max`` is the largest possible pixel value (images only).
    """

    name: str
    task: Task
    x: np.ndarray
    y: np.ndarray
    n_classes: int
    source: str
    feature_names: list[str] | None = None
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    image_max: float | None = None


@dataclass(frozen=True)
class Affine:
    """``(x - shift) / scale`` in float32; shift and scale broadcast over the last axis."""

    shift: np.ndarray | float = 0.0
    scale: np.ndarray | float = 1.0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        out = np.array(x, dtype=np.float32)  # always a copy: callers' arrays stay raw
        out -= np.float32(self.shift) if np.isscalar(self.shift) else self.shift
        out /= np.float32(self.scale) if np.isscalar(self.scale) else self.scale
        return out


def identity(x: np.ndarray) -> np.ndarray:
    """The transform of unscaled data (scale none or layer): raw features as float32."""
    return np.asarray(x, dtype=np.float32)


def prepare(raw: Raw, cfg: DataConfig, seed: int) -> Dataset:
    """Split, subset and scale ``raw`` as ``cfg`` says; returns the ``Dataset`` to train on."""
    x_train, y_train, x_val, y_val, x_test, y_test = split(raw, cfg.validation, seed, cfg.split)
    if cfg.subset is not None:
        # a subset larger than the training split keeps all of it (a slice, like x[:n])
        x_train, y_train = x_train[: cfg.subset], y_train[: cfg.subset]
    transform = fit_scaler(x_train, cfg.scale, raw.image_max)
    tabular_2d = x_train.ndim == 2 and x_train.shape[1] == 2
    y_dtype = np.float32 if raw.task == "regression" else np.int64
    return Dataset(
        name=raw.name,
        task=raw.task,
        x_train=transform(x_train),
        y_train=y_train.astype(y_dtype),
        x_val=transform(x_val),
        y_val=y_val.astype(y_dtype),
        x_test=None if x_test is None else transform(x_test),
        y_test=None if y_test is None else y_test.astype(y_dtype),
        n_classes=0 if raw.task == "regression" else raw.n_classes,
        feature_names=raw.feature_names,
        source=raw.source,
        transform=transform,
        raw_train=np.array(x_train, dtype=np.float32) if tabular_2d else None,
        raw_val=np.array(x_val, dtype=np.float32) if tabular_2d else None,
    )


Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]


def split(raw: Raw, validation: float | int | str, seed: int, how: str = "stratified") -> Arrays:
    """Called by ``prepare``: (x_train, y_train, x_val, y_val, x_test, y_test).

    ``validation == "test"`` validates on the official test split (and leaves no test set);
    ``"none"`` holds nothing out (the validation arrays are empty); a fraction (or a count of
    rows) is held out of the training examples ``how`` says:
    ``stratified`` (classification; regression is split at random), ``random`` (the rows of
    scikit-learn's ``train_test_split(..., shuffle=True, stratify=None, random_state=seed)``)
    or ``ordered`` (the first rows train and the rest validate, as ``x[:n_train]``). The
    official test split, if any, stays the test set.
    """
    if validation == "test":
        if raw.x_test is None or raw.y_test is None:
            raise DataError(f"data.validation: {raw.name} has no official test split")
        return raw.x, raw.y, raw.x_test, raw.y_test, None, None
    if validation == "none":  # every row trains; the validation set is empty
        return raw.x, raw.y, raw.x[:0], raw.y[:0], raw.x_test, raw.y_test
    from sklearn.model_selection import train_test_split

    n = len(raw.y)
    size = validation if isinstance(validation, int) else float(validation)
    if how == "ordered":
        n_val = size if isinstance(size, int) else math.ceil(size * n)  # as train_test_split
        if not 0 < n_val < n:
            raise DataError(f"data.validation: cannot hold out {validation} of the {n} "
                            f"examples of {raw.name}: {n - n_val} would be left to train on")
        train_idx, val_idx = np.arange(n - n_val), np.arange(n - n_val, n)
    else:
        stratify = None
        if raw.task != "regression" and how == "stratified":
            stratify = raw.y
            _check_stratifiable(raw, size)
        try:
            train_idx, val_idx = train_test_split(
                np.arange(n), test_size=size, random_state=seed, shuffle=True,
                stratify=stratify,
            )  # fmt: skip
        except ValueError as e:
            raise DataError(f"data.validation: cannot hold out {validation} of the {n} examples "
                            f"of {raw.name}: {e}") from None  # fmt: skip
    return (
        raw.x[train_idx], raw.y[train_idx], raw.x[val_idx], raw.y[val_idx],
        raw.x_test, raw.y_test,
    )  # fmt: skip


def _check_stratifiable(raw: Raw, validation: float | int) -> None:
    """Say in our words what scikit-learn would refuse: every class must be able to appear on
    both sides of the split."""
    n = len(raw.y)
    counts = np.bincount(raw.y.astype(np.int64))
    present = int(np.count_nonzero(counts))
    n_val = validation if isinstance(validation, int) else math.ceil(validation * n)
    n_train = n - n_val
    problem = None
    if (rare := int(np.count_nonzero((counts > 0) & (counts < 2)))) > 0:
        problem = f"{rare} class{'es have' if rare > 1 else ' has'} fewer than 2 examples"
    elif n_val < present:
        problem = f"the {n_val} held out cannot hold one of each of the {present} classes"
    elif n_train < present:
        problem = f"the {n_train} left to train on cannot hold one of each of the {present} classes"
    if problem:
        raise DataError(
            f"data.validation: cannot hold out a stratified {validation:g} of the {n} examples "
            f"of {raw.name}: {problem}"
        )


def fit_scaler(
    x_train: np.ndarray, scale: str, image_max: float | None
) -> Callable[[np.ndarray], np.ndarray]:
    """Called by ``prepare``: the raw -> scaled function, fitted on the training split only.

    none and layer leave values as they are (layer: the model adapts a Normalization layer);
    unit divides images by ``image_max`` and maps tabular features min-max onto [0, 1];
    standard centres and scales each tabular feature, or each image channel over all pixels.
    """
    if scale in ("none", "layer"):
        return identity
    image = x_train.ndim == 4
    if len(x_train) == 0:
        raise DataError("data.subset: the training split is empty, there is nothing to scale")
    if scale == "unit":
        if image:
            return Affine(0.0, float(image_max or 1.0))
        low = x_train.min(axis=0).astype(np.float64)
        span = x_train.max(axis=0).astype(np.float64) - low
        return Affine(low.astype(np.float32), np.where(span > 0, span, 1.0).astype(np.float32))
    if scale == "standard":
        if image:
            channels = x_train.shape[-1]
            mean = np.empty(channels)
            std = np.empty(channels)
            for c in range(channels):  # one channel at a time keeps the float64 copy small
                pixels = x_train[..., c]
                mean[c] = pixels.mean(dtype=np.float64)
                std[c] = pixels.std(dtype=np.float64)
        else:
            mean = x_train.mean(axis=0, dtype=np.float64)
            std = x_train.std(axis=0, dtype=np.float64)
        return Affine(mean.astype(np.float32), np.where(std > 0, std, 1.0).astype(np.float32))
    raise ValueError(f"unknown scale {scale!r}")
