"""Cross-run plot data of an experiment: the learning curves of each sweep point averaged over
its repeats (:func:`group_curves`), a summary column against a swept value
(:func:`metric_vs_value`) and over two swept axes (:func:`heatmap_data`).

Runs are grouped by :func:`nnlab.results.groups`, the one grouping the report and ``compare``
use too, so a sweep point has the same label and colour everywhere. Imports numpy and pandas,
never matplotlib (the drawing is :mod:`nnlab.plots.draw`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from nnlab import results
from nnlab.errors import NnlabError
from nnlab.plots.curves import BOOKKEEPING_COLUMNS, spans_decades
from nnlab.results import EPOCH_COLUMN, RUN_ID, STD_DDOF

# a numeric swept axis is drawn on a log scale when its positive values span this ratio
LOG_X_RATIO = 100.0
# a heat map needs the two axes to form a grid: more than this share of the pairs of values
# present (zip and random sweeps give a diagonal or a scatter, which a heat map shows badly)
HEATMAP_MIN_FILL = 0.5


@dataclass(frozen=True, eq=False)
class MeanCurve:
    """One split of one group: the mean over its runs at each epoch, and their spread.

    Only epochs where at least one run has a finite value are kept; ``n`` says how many runs
    contributed at each epoch (fewer at the end when early stopping cut some runs short).
    """

    epochs: np.ndarray
    mean: np.ndarray
    std: np.ndarray  # 0 where n == 1
    n: np.ndarray


@dataclass(frozen=True, eq=False)
class GroupCurve:
    """The runs of one sweep point (same swept values, different seeds) for one metric."""

    label: str  # "batch_size=100", "batch_size=100, learning_rate=0.01", "batch-norm", "all runs"
    values: dict[str, str]  # axis -> value as written in summary.csv
    color: int  # position of the group in the experiment: picks its colour, the same in every plot
    run_ids: list[str]  # the runs that have a history, in summary order
    train: MeanCurve | None  # ``metric``
    validation: MeanCurve | None  # ``val_<metric>``

    @property
    def n_runs(self) -> int:
        return len(self.run_ids)


@dataclass(frozen=True, eq=False)
class ValueSeries:
    """A summary column against the values of one swept axis, for the metric-vs-value plot.

    One position per distinct value (first-appearance order): ``x`` is the number itself when
    every value is a number, else 0, 1, 2... with ``labels`` as tick labels. ``run_x``/``run_y``
    hold every counted run (not failed, finite value); ``mean``/``std``/``n`` are per position.
    """

    axis: str
    column: str
    labels: list[str]
    x: np.ndarray
    numeric: bool
    log_x: bool
    mean: np.ndarray
    std: np.ndarray
    n: np.ndarray
    run_ids: list[str]
    run_x: np.ndarray
    run_y: np.ndarray


@dataclass(frozen=True, eq=False)
class HeatmapData:
    """Mean of ``column`` for each pair of values of two swept axes; NaN where no run counted."""

    row_axis: str
    col_axis: str
    column: str
    row_labels: list[str]
    col_labels: list[str]
    values: np.ndarray  # [row, col]
    n: np.ndarray  # runs averaged in each cell


def _mean_curve(histories: Sequence[pd.DataFrame], column: str) -> MeanCurve | None:
    series = []
    for h in histories:
        if column not in h.columns:
            continue
        epochs = h[EPOCH_COLUMN].to_numpy() if EPOCH_COLUMN in h.columns else np.arange(len(h))
        s = pd.Series(h[column].to_numpy(dtype=float), index=epochs)
        s = s[np.isfinite(s.to_numpy())]  # a diverged run's NaN/inf would poison the mean
        series.append(s[~s.index.duplicated(keep="last")])
    if not series:
        return None
    table, n = results.by_epoch(series)
    if not len(table):
        return None
    std = table.std(axis=1, ddof=STD_DDOF).to_numpy(dtype=float)
    return MeanCurve(
        epochs=table.index.to_numpy(),
        mean=table.mean(axis=1).to_numpy(dtype=float),
        std=np.where(n > 1, std, 0.0),
        n=n,
    )


def group_curves(
    summary: pd.DataFrame, histories: dict[str, pd.DataFrame], metric: str
) -> list[GroupCurve]:
    """The learning curves of ``metric`` per sweep point, averaged over repeats.

    ``histories`` maps run ids to their ``history.csv`` frames; runs without one, and failed
    runs, are left out. Non-finite values (a diverged run) are left out of the mean and std at
    that epoch. Groups keep the colour index of their first appearance in ``summary`` even when
    an earlier group has nothing to draw, so a sweep point has one colour in every plot.
    Called by :func:`nnlab.plots.plot_experiment`.
    """
    out = []
    for group in results.groups(summary):
        run_ids = results.counted_run_ids(summary, group, histories)
        frames = [histories[rid] for rid in run_ids]
        train = _mean_curve(frames, metric)
        validation = _mean_curve(frames, f"val_{metric}")
        if train is None and validation is None:
            continue
        out.append(GroupCurve(group.label, group.values, group.index, run_ids, train, validation))
    return out


def curve_metrics(histories: Sequence[pd.DataFrame]) -> list[str]:
    """The metrics with learning curves in any of ``histories``: ``loss`` first, then the
    others in column order (``val_x`` is drawn with ``x``)."""
    metrics: list[str] = []
    for h in histories:
        for col in h.columns:
            name = str(col).removeprefix("val_")
            if col not in BOOKKEEPING_COLUMNS and name not in metrics:
                metrics.append(name)
    metrics.sort(key=lambda n: n != "loss")
    return metrics


def curves_log_y(metric: str, groups: Sequence[GroupCurve]) -> bool:
    """Log y for a loss whose group means are positive and span more than two decades."""
    if metric != "loss":
        return False
    means = [c.mean for g in groups for c in (g.train, g.validation) if c is not None]
    return spans_decades(np.concatenate(means) if means else np.array([]))


def metric_vs_value(summary: pd.DataFrame, axis: str, column: str) -> ValueSeries:
    """``column`` (``best_val_accuracy``...) of every run against its value of ``axis``.

    Values keep the order of their first appearance, failed runs included (a value whose runs
    all failed stays on the axis, without a point). ``log_x`` when the values are numbers, all
    positive, spanning a factor of 100 or more (learning rates). Mean and std over the runs of
    each value, whatever the other axes are. Called by :func:`nnlab.plots.plot_experiment`.
    """
    if axis not in summary.columns:
        raise NnlabError(f"summary: no swept column {axis!r}; swept: {results.sweep_axes(summary)}")
    texts = [results.text(v) for v in summary[axis]]
    labels = list(dict.fromkeys(texts))
    numbers = [results.as_number(t) for t in labels]
    numeric = bool(labels) and all(v is not None for v in numbers)
    x = np.array(numbers, dtype=float) if numeric else np.arange(len(labels), dtype=float)
    positive = x[x > 0]
    log_x = bool(numeric and positive.size == x.size and x.max() / x.min() >= LOG_X_RATIO)

    y = results.numbers(summary, column)
    keep = results.counted(summary) & np.isfinite(y)
    position = np.array([labels.index(t) for t in texts], dtype=int)
    mean, std, n = [], [], []
    for k in range(len(labels)):
        ys = y[keep & (position == k)]
        n.append(ys.size)
        mean.append(float(ys.mean()) if ys.size else math.nan)
        std.append(results.sample_std(ys) if ys.size else math.nan)
    run_ids = [results.text(r) for r in summary[RUN_ID]] if RUN_ID in summary.columns else texts
    return ValueSeries(
        axis=axis,
        column=column,
        labels=labels,
        x=x,
        numeric=numeric,
        log_x=log_x,
        mean=np.array(mean, dtype=float),
        std=np.array(std, dtype=float),
        n=np.array(n, dtype=int),
        run_ids=[r for r, k in zip(run_ids, keep, strict=True) if k],
        run_x=x[position[keep]],
        run_y=y[keep],
    )


def heatmap_data(summary: pd.DataFrame, column: str) -> HeatmapData | None:
    """Mean of ``column`` over the repeats of each pair of values, when exactly two axes are
    swept and their values form a grid (more than half of the pairs have a run, failed runs
    included); None otherwise. Rows are the first axis's values, columns the second's, both in
    first-appearance order; a cell is NaN where no run counted. Called by
    :func:`nnlab.plots.plot_experiment`."""
    axes = results.sweep_axes(summary)
    if len(axes) != 2:
        return None
    row_axis, col_axis = axes
    rows = [results.text(v) for v in summary[row_axis]]
    cols = [results.text(v) for v in summary[col_axis]]
    row_labels, col_labels = list(dict.fromkeys(rows)), list(dict.fromkeys(cols))
    pairs = len(set(zip(rows, cols, strict=True)))
    if pairs <= HEATMAP_MIN_FILL * len(row_labels) * len(col_labels):
        return None
    y = results.numbers(summary, column)
    keep = results.counted(summary) & np.isfinite(y)
    total = np.zeros((len(row_labels), len(col_labels)))
    n = np.zeros_like(total, dtype=int)
    for r, c, value, k in zip(rows, cols, y, keep, strict=True):
        if k:
            total[row_labels.index(r), col_labels.index(c)] += value
            n[row_labels.index(r), col_labels.index(c)] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(n > 0, total / np.maximum(n, 1), np.nan)
    return HeatmapData(row_axis, col_axis, column, row_labels, col_labels, values, n)
