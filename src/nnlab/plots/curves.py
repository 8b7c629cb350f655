"""One run's plot data: its learning curves (:func:`curve_panels`) and its decision boundary
(:func:`boundary_data`), as small dataclasses of numpy arrays, tested as numbers.

Reads only through :mod:`nnlab.results`; imports numpy and pandas, never matplotlib (the
drawing is :mod:`nnlab.plots.draw`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from nnlab.errors import NnlabError
from nnlab.names import is_maximized
from nnlab.results import EPOCH_COLUMN, read_streamed_csv

# history columns that are not a (train, validation) metric pair
LEARNING_RATE_COLUMNS = ("learning_rate", "lr")
BOOKKEEPING_COLUMNS = frozenset({EPOCH_COLUMN, "epoch_seconds", *LEARNING_RATE_COLUMNS})

TRAIN, VALIDATION = "train", "validation"
SPLIT_STYLES = {TRAIN: "solid", VALIDATION: "dashed"}
# what the plots and the report say of runs trained on every row
NO_VALIDATION = "no validation set (data.validation: none)"

# a y axis goes logarithmic when its positive values span more than this ratio (two decades)
LOG_Y_RATIO = 100.0


@dataclass(frozen=True, eq=False)
class Line:
    """One curve of a panel: the values of one split against epoch."""

    label: str  # legend text: "train" / "validation"
    split: str  # TRAIN or VALIDATION: picks the colour
    epochs: np.ndarray
    values: np.ndarray
    style: str  # matplotlib linestyle: "solid" for train, "dashed" for validation


@dataclass(frozen=True, eq=False)
class Panel:
    """One subplot of the learning curves: a metric, its lines, and where validation was best."""

    metric: str
    lines: list[Line]
    log_y: bool = False
    best_epoch: int | None = None
    best_value: float | None = None

    def line(self, split: str) -> Line | None:
        """The line of ``split`` (TRAIN or VALIDATION), or None when the history has none."""
        return next((ln for ln in self.lines if ln.split == split), None)


@dataclass(frozen=True, eq=False)
class Points:
    """Data points of one split on the decision-boundary plot."""

    x1: np.ndarray
    x2: np.ndarray
    labels: np.ndarray  # true class, integer


@dataclass(frozen=True, eq=False)
class BoundaryData:
    """The prediction on a regular lattice and the labelled points of each split.

    ``z[i, j]`` is the prediction at ``(xs[j], ys[i])``: the probability of class 1 when
    ``binary``, else the predicted class index.
    """

    xs: np.ndarray
    ys: np.ndarray
    z: np.ndarray
    points: dict[str, Points] = field(default_factory=dict)  # "train", "val"
    binary: bool = True
    n_classes: int = 2


def best_point(epochs: np.ndarray, values: np.ndarray, maximize: bool) -> tuple[int, float] | None:
    """Epoch and value of the best finite value (the earliest on ties), or None if none."""
    finite = np.isfinite(values)
    if not finite.any():
        return None
    masked = np.where(finite, values, -np.inf if maximize else np.inf)
    i = int(np.argmax(masked) if maximize else np.argmin(masked))
    return int(epochs[i]), float(values[i])


def spans_decades(values: np.ndarray) -> bool:
    """True when the finite values are all positive and span more than two decades
    (``LOG_Y_RATIO``): they are drawn on a log axis."""
    values = values[np.isfinite(values)]
    if values.size < 2 or (values <= 0).any():
        return False
    return bool(values.max() / values.min() > LOG_Y_RATIO)


def wants_log_y(lines: Sequence[Line]) -> bool:
    """:func:`spans_decades` of the values of every line."""
    return spans_decades(np.concatenate([ln.values for ln in lines]) if lines else np.array([]))


def _varies(values: np.ndarray) -> bool:
    finite = values[np.isfinite(values)]
    return finite.size > 1 and not np.allclose(finite, finite[0], rtol=1e-9, atol=0.0)


def curve_panels(history: pd.DataFrame) -> list[Panel]:
    """The panels of a run's learning curves, in the order they are drawn.

    ``loss`` first, then one panel per metric in column order (``x`` paired with ``val_x``),
    then ``learning_rate`` when it changes over the run. ``best_epoch``/``best_value`` are those
    of the validation line: the minimum for losses, the maximum for metrics where
    ``names.is_maximized``; non-finite values are ignored. ``log_y`` is set for the loss and
    learning-rate panels when their values are positive and span more than two decades.
    Called by :func:`nnlab.plots.plot_run`, and by the report for its numbers.
    """
    if EPOCH_COLUMN in history.columns:
        epochs = history[EPOCH_COLUMN].to_numpy()
    else:
        epochs = np.arange(len(history))

    columns = [str(c) for c in history.columns if c not in BOOKKEEPING_COLUMNS]
    metrics: list[str] = []
    for col in columns:
        name = col.removeprefix("val_")
        if name not in metrics:
            metrics.append(name)
    metrics.sort(key=lambda n: n != "loss")  # stable: loss first, the rest in column order

    panels: list[Panel] = []
    for name in metrics:
        lines = []
        for split, col in ((TRAIN, name), (VALIDATION, f"val_{name}")):
            if col in history.columns:
                values = history[col].to_numpy(dtype=float)
                lines.append(Line(split, split, epochs, values, SPLIT_STYLES[split]))
        best = None
        val = next((ln for ln in lines if ln.split == VALIDATION), None)
        if val is not None:
            best = best_point(val.epochs, val.values, maximize=is_maximized(name))
        panels.append(
            Panel(
                metric=name,
                lines=lines,
                log_y=name == "loss" and wants_log_y(lines),
                best_epoch=None if best is None else best[0],
                best_value=None if best is None else best[1],
            )
        )

    lr_col = next((c for c in LEARNING_RATE_COLUMNS if c in history.columns), None)
    if lr_col is not None:
        values = history[lr_col].to_numpy(dtype=float)
        if _varies(values):
            line = Line("learning rate", TRAIN, epochs, values, SPLIT_STYLES[TRAIN])
            panels.append(Panel("learning_rate", [line], log_y=wants_log_y([line])))
    return panels


def boundary_data(df: pd.DataFrame) -> BoundaryData:
    """Rebuild the lattice and the points of a ``boundary.csv`` (columns kind, x1, x2, value).

    The grid rows may come in any order; missing lattice cells are NaN. ``binary`` is True
    when the grid holds probabilities (a non-integer value) or no class above 1 appears.
    """
    missing = {"kind", "x1", "x2", "value"} - set(df.columns)
    if missing:
        raise NnlabError(f"boundary data: missing columns {', '.join(sorted(missing))}")
    kind = df["kind"].astype(str).str.strip()
    num = df[["x1", "x2", "value"]].apply(pd.to_numeric, errors="coerce")
    grid = num[(kind == "grid").to_numpy()]
    if grid.empty:
        raise NnlabError("boundary data: no grid rows")
    table = grid.pivot_table(index="x2", columns="x1", values="value", aggfunc="mean")
    table = table.sort_index().sort_index(axis=1)
    xs = table.columns.to_numpy(dtype=float)
    ys = table.index.to_numpy(dtype=float)
    z = table.to_numpy(dtype=float)
    if min(z.shape) < 2:
        raise NnlabError(
            f"boundary data: the grid must be at least 2x2, got {z.shape[1]}x{z.shape[0]}"
        )

    points: dict[str, Points] = {}
    for split in ("train", "val"):
        rows = num[(kind == split).to_numpy()].dropna()
        if not rows.empty:
            points[split] = Points(
                rows["x1"].to_numpy(dtype=float),
                rows["x2"].to_numpy(dtype=float),
                np.round(rows["value"].to_numpy(dtype=float)).astype(int),
            )

    finite = z[np.isfinite(z)]
    classes = [finite] + [p.labels.astype(float) for p in points.values()]
    largest = max((float(c.max()) for c in classes if c.size), default=1.0)
    probabilities = bool((finite != np.round(finite)).any())
    binary = probabilities or largest <= 1
    n_classes = 2 if binary else int(largest) + 1
    return BoundaryData(xs, ys, z, points, binary=binary, n_classes=n_classes)


def read_boundary(path: str | Path) -> BoundaryData:
    """:func:`boundary_data` of a ``boundary.csv`` file (a cut last line is dropped)."""
    path = Path(path)
    df = read_streamed_csv(path, "boundary data")
    try:
        return boundary_data(df)
    except NnlabError as exc:
        raise NnlabError(*(f"{path}: {p}" for p in exc.problems)) from None
