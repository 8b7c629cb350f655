"""Cross-run plot data of an experiment: the learning curves of each sweep point averaged over
its repeats (:func:`group_curves`), which sweep points a comparison shows when there are too
many to read (:func:`shown_groups`), a summary column against a swept value
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

from nnlab import compare, results
from nnlab.errors import NnlabError
from nnlab.names import is_maximized
from nnlab.plots.curves import BOOKKEEPING_COLUMNS, spans_decades
from nnlab.results import EPOCH_COLUMN, RUN_ID, STD_DDOF

# a numeric swept axis is drawn on a log scale when its positive values span this ratio
LOG_X_RATIO = 100.0
# a heat map needs the two axes to form a grid: more than this share of the pairs of values
# present (zip and random sweeps give a diagonal or a scatter, which a heat map shows badly)
HEATMAP_MIN_FILL = 0.5
# the learning curves show every sweep point up to CURVE_GROUPS_MAX of them; past it only the
# CURVE_GROUPS_BEST best and CURVE_GROUPS_WORST worst by the target column (a random search of
# 1,000 points would otherwise draw 1,000 colours that repeat every ten)
CURVE_GROUPS_MAX = 20
CURVE_GROUPS_BEST = 10
CURVE_GROUPS_WORST = 5


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

    def band(self, log_y: bool = False) -> tuple[np.ndarray, np.ndarray, bool]:
        """The lower and upper edges of the ± 1 std band, and whether any lower edge was moved.

        On a log axis a lower edge at or below zero cannot be drawn (matplotlib stretches it
        to the bottom of the axis, a bar down the whole plot); there it is mirrored on the log
        scale instead, mean² / (mean + std): as far below the mean as the upper edge is above.
        """
        lower, upper = self.mean - self.std, self.mean + self.std
        if not log_y:
            return lower, upper, False
        with np.errstate(invalid="ignore", divide="ignore"):
            bad = (lower <= 0) & (self.mean > 0)
            lower = np.where(bad, self.mean**2 / upper, lower)
        return lower, upper, bool(bad.any())


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


@dataclass(frozen=True, eq=False)
class ShownGroups:
    """The sweep points a comparison of curves draws (:func:`shown_groups`).

    Every group in experiment order, or, past ``CURVE_GROUPS_MAX`` groups, the best first down
    to the ``n_best``-th and then the ``n_worst`` worst, the worst last. ``ranks`` (1 = best)
    and ``scores`` (the group's mean of ``column`` over its completed runs, as the report ranks
    them) are given for each shown group when the groups were ranked, None otherwise.
    """

    groups: list[results.RunGroup]
    total: int  # sweep points in the experiment
    column: str | None
    n_best: int
    n_worst: int
    ranks: list[int | None]
    scores: list[float | None]

    @property
    def limited(self) -> bool:
        return len(self.groups) < self.total

    def rows_of(self, summary: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``summary`` whose runs the shown groups hold (all of it when every
        group is shown): the runs whose files the comparison plots need to read."""
        if not self.limited:
            return summary
        return summary.iloc[sorted(row for group in self.groups for row in group.rows)]

    def note(self) -> str | None:
        """``15 of 1,000 settings shown: the 10 best and 5 worst by best_val_accuracy``; None
        when every group is shown."""
        if not self.limited:
            return None
        head = f"{len(self.groups):,} of {self.total:,} settings shown"
        if self.column is None:
            return f"{head}: the first {len(self.groups):,} (no column to rank them by)"
        worst = f" and {self.n_worst:,} worst" if self.n_worst else ""
        return f"{head}: the {self.n_best:,} best{worst} by {self.column}"

    def label(self, position: int) -> str:
        """The legend label of the ``position``-th shown group: with its rank and score when
        the groups were limited (``#1 learning_rate=0.01: 0.9312``)."""
        group, rank, score = self.groups[position], self.ranks[position], self.scores[position]
        if not self.limited or rank is None or score is None:
            return group.label
        return f"#{rank:,} {group.label}: {compare.format_number(score)}"


def _every_group(groups: Sequence[results.RunGroup], column: str | None) -> ShownGroups:
    none: list[None] = [None] * len(groups)
    return ShownGroups(list(groups), len(groups), column, 0, 0, list(none), list(none))


def shown_groups(
    summary: pd.DataFrame,
    column: str | None = None,
    groups: Sequence[results.RunGroup] | None = None,
) -> ShownGroups:
    """Which sweep points the curves of ``summary`` show: all of them up to
    ``CURVE_GROUPS_MAX``; past it the ``CURVE_GROUPS_BEST`` best and ``CURVE_GROUPS_WORST``
    worst by ``column`` (default :func:`nnlab.results.target_column`), ranked as the report
    ranks them (:func:`nnlab.compare.group_runs`: the mean over completed runs; groups without
    one are not shown). Without a column, the first ``CURVE_GROUPS_BEST + CURVE_GROUPS_WORST``.
    ``groups`` is :func:`nnlab.results.groups` of ``summary`` when the caller has it."""
    every = list(results.groups(summary) if groups is None else groups)
    column = column or results.target_column(summary)
    if len(every) <= CURVE_GROUPS_MAX:
        return _every_group(every, column)
    if column is None:
        first = every[: CURVE_GROUPS_BEST + CURVE_GROUPS_WORST]
        return ShownGroups(first, len(every), None, 0, 0, [None] * len(first), [None] * len(first))
    stats = compare.group_runs(summary, column)
    maximize = is_maximized(column.removeprefix("best_").removeprefix("final_"))
    position = {id(s): k for k, s in enumerate(stats)}
    ranked = [s for s in compare.rank_groups(stats, maximize) if s.n]
    best = list(range(min(CURVE_GROUPS_BEST, len(ranked))))
    worst = list(range(len(best), len(ranked)))[-CURVE_GROUPS_WORST:]
    chosen = best + worst
    return ShownGroups(
        groups=[every[position[id(ranked[r])]] for r in chosen],
        total=len(every),
        column=column,
        n_best=len(best),
        n_worst=len(worst),
        ranks=[r + 1 for r in chosen],
        scores=[ranked[r].mean for r in chosen],
    )


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
    summary: pd.DataFrame,
    histories: dict[str, pd.DataFrame],
    metric: str,
    shown: ShownGroups | None = None,
) -> list[GroupCurve]:
    """The learning curves of ``metric`` per sweep point, averaged over repeats.

    ``histories`` maps run ids to their ``history.csv`` frames; runs without one, and failed
    runs, are left out. Non-finite values (a diverged run) are left out of the mean and std at
    that epoch. Groups keep the colour index of their first appearance in ``summary`` even when
    an earlier group has nothing to draw, so a sweep point has one colour in every plot.
    ``shown`` (:func:`shown_groups`) limits the groups: when it holds only the best and worst
    of many, they are coloured by their place in it and labelled with their rank and score.
    Called by :func:`nnlab.plots.plot_experiment`.
    """
    shown = shown if shown is not None else _every_group(results.groups(summary), None)
    out = []
    for k, group in enumerate(shown.groups):
        run_ids = results.counted_run_ids(summary, group, histories)
        frames = [histories[rid] for rid in run_ids]
        train = _mean_curve(frames, metric)
        validation = _mean_curve(frames, f"val_{metric}")
        if train is None and validation is None:
            continue
        color = k if shown.limited else group.index
        out.append(GroupCurve(shown.label(k), group.values, color, run_ids, train, validation))
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
    where = {t: k for k, t in enumerate(labels)}
    position = np.array([where[t] for t in texts], dtype=int)
    # the kept rows of each value, in summary order (a stable sort: the same sums as a mask)
    rows = np.flatnonzero(keep)
    rows = rows[np.argsort(position[rows], kind="stable")]
    bounds = np.searchsorted(position[rows], np.arange(len(labels) + 1))
    mean, std, n = [], [], []
    for k in range(len(labels)):
        ys = y[rows[bounds[k] : bounds[k + 1]]]
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
    row_of = {t: i for i, t in enumerate(row_labels)}
    col_of = {t: j for j, t in enumerate(col_labels)}
    for r, c, value, k in zip(rows, cols, y, keep, strict=True):
        if k:
            total[row_of[r], col_of[c]] += value
            n[row_of[r], col_of[c]] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(n > 0, total / np.maximum(n, 1), np.nan)
    return HeatmapData(row_axis, col_axis, column, row_labels, col_labels, values, n)
