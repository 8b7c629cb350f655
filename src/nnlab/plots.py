"""Plots of a run or an experiment, drawn from the CSVs that ``store`` wrote and nothing else.

Two layers, so the numbers can be tested without looking at pixels:

* data: :func:`read_history`, :func:`curve_panels` and :func:`boundary_data` turn the files into
  small dataclasses of numpy arrays (what to draw, best epochs, log axes);
* drawing: :func:`plot_run` and :func:`plot_dir` hand that data to matplotlib and write PNGs
  under ``<run_dir>/plots/``.

``nnlab plot`` must start fast and never import a deep-learning backend, so this module imports
only numpy and pandas at the top; matplotlib is imported inside the drawing functions. Figures
are built with ``matplotlib.figure.Figure`` rather than pyplot: no global figure registry to
leak into, and no switching of the backend of a process (a notebook) that calls us.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from nnlab import names, store
from nnlab.errors import NnlabError
from nnlab.names import is_maximized

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

LEARNING_CURVES_FILE = "learning_curves.png"
DECISION_BOUNDARY_FILE = "decision_boundary.png"

# history columns that are not a (train, validation) metric pair
EPOCH_COLUMN = "epoch"
LEARNING_RATE_COLUMNS = ("learning_rate", "lr")
BOOKKEEPING_COLUMNS = frozenset({EPOCH_COLUMN, "epoch_seconds", *LEARNING_RATE_COLUMNS})

TRAIN, VALIDATION = "train", "validation"
SPLIT_STYLES = {TRAIN: "solid", VALIDATION: "dashed"}
# one colour per split, the same in every panel
SPLIT_COLORS = {TRAIN: "tab:blue", VALIDATION: "tab:orange"}
LEARNING_RATE_COLOR = "tab:green"

# a y axis goes logarithmic when its positive values span more than this ratio (two decades)
LOG_Y_RATIO = 100.0
DPI = 110
PANEL_SIZE = (4.6, 3.6)  # inches per subplot
MAX_PANELS_PER_ROW = 4
# comparison plots: tab10 colours, then again with a marker; legend to the right past this many
GROUP_COLORS = 10
GROUP_MARKERS = (None, "o", "s", "^", "D", "v")
LEGEND_BELOW_MAX = 6
MAX_VALUE_TICKS = 8  # a tick per swept value up to this many; past it matplotlib's own ticks
MIN_TICK_GAP = 0.08  # of the axis span, between two value ticks


class _NothingToPlot(NnlabError):
    """A run directory without any complete history row (it failed before epoch 0 ended)."""


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------


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


def _read_streamed_csv(path: Path, what: str) -> pd.DataFrame:
    """Read a CSV that may have been cut mid-write (a crash while a row was being written).

    The writers end each row with a newline as the row is complete, so a last line without one
    (or with fewer or empty fields) was being written when the process died: it is dropped,
    never turned into a row of NaN. Raises ``_NothingToPlot`` when the file is missing or no
    complete row is left.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _NothingToPlot(f"{path}: no {what} (the run wrote none)") from None
    except OSError as exc:
        raise NnlabError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None

    lines = text.splitlines(keepends=True)
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines or not lines[0].endswith(("\n", "\r")):
        raise _NothingToPlot(f"{path}: no complete row in {what}")
    header = next(csv.reader([lines[0]]))
    if lines[1:]:
        last = lines[-1]
        fields = next(csv.reader([last]))
        if (
            not last.endswith(("\n", "\r"))
            or len(fields) != len(header)
            or any(not f.strip() for f in fields)
        ):
            lines.pop()
    if len(lines) < 2:
        raise _NothingToPlot(f"{path}: no complete row in {what}")
    try:
        df = pd.read_csv(io.StringIO("".join(lines)), skipinitialspace=True)
    except (ValueError, pd.errors.ParserError) as exc:
        raise NnlabError(f"{path}: cannot parse {what}: {exc}") from None
    return df


def read_history(path: str | Path) -> pd.DataFrame:
    """The rows of a ``history.csv``, for the plots and the report.

    Tolerates what a crash or a diverged run leaves: a cut last line is dropped, ``nan`` and
    ``inf`` stay as float values. Every column but ``epoch`` is float; ``epoch`` is int when
    every value is whole. Raises ``NnlabError`` naming the file when it is
    missing or holds no complete row.
    """
    path = Path(path)
    df = _read_streamed_csv(path, "history")
    for col in df.columns:
        if col != EPOCH_COLUMN or not pd.api.types.is_integer_dtype(df[col]):
            df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    if EPOCH_COLUMN in df.columns:
        epochs = df[EPOCH_COLUMN]
        if epochs.notna().all() and (epochs == np.round(epochs)).all():
            df[EPOCH_COLUMN] = epochs.astype(int)
    return df


def _best(epochs: np.ndarray, values: np.ndarray, maximize: bool) -> tuple[int, float] | None:
    """Epoch and value of the best finite value (the earliest on ties), or None if none."""
    finite = np.isfinite(values)
    if not finite.any():
        return None
    masked = np.where(finite, values, -np.inf if maximize else np.inf)
    i = int(np.argmax(masked) if maximize else np.argmin(masked))
    return int(epochs[i]), float(values[i])


def _wants_log_y(lines: Sequence[Line]) -> bool:
    """True when the finite values are all positive and span more than two decades."""
    return _spans_decades(np.concatenate([ln.values for ln in lines]) if lines else np.array([]))


def _spans_decades(values: np.ndarray) -> bool:
    values = values[np.isfinite(values)]
    if values.size < 2 or (values <= 0).any():
        return False
    return bool(values.max() / values.min() > LOG_Y_RATIO)


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
    Called by :func:`plot_run`, and by the report for its numbers.
    """
    if EPOCH_COLUMN in history.columns:
        epochs = history[EPOCH_COLUMN].to_numpy()
    else:
        epochs = np.arange(len(history))

    columns = [str(c) for c in history.columns if c not in BOOKKEEPING_COLUMNS]
    names: list[str] = []
    for col in columns:
        name = col.removeprefix("val_")
        if name not in names:
            names.append(name)
    names.sort(key=lambda n: n != "loss")  # stable: loss first, the rest in column order

    panels: list[Panel] = []
    for name in names:
        lines = []
        for split, col in ((TRAIN, name), (VALIDATION, f"val_{name}")):
            if col in history.columns:
                values = history[col].to_numpy(dtype=float)
                lines.append(Line(split, split, epochs, values, SPLIT_STYLES[split]))
        best = None
        val = next((ln for ln in lines if ln.split == VALIDATION), None)
        if val is not None:
            best = _best(val.epochs, val.values, maximize=is_maximized(name))
        panels.append(
            Panel(
                metric=name,
                lines=lines,
                log_y=name == "loss" and _wants_log_y(lines),
                best_epoch=None if best is None else best[0],
                best_value=None if best is None else best[1],
            )
        )

    lr_col = next((c for c in LEARNING_RATE_COLUMNS if c in history.columns), None)
    if lr_col is not None:
        values = history[lr_col].to_numpy(dtype=float)
        if _varies(values):
            line = Line("learning rate", TRAIN, epochs, values, SPLIT_STYLES[TRAIN])
            panels.append(Panel("learning_rate", [line], log_y=_wants_log_y([line])))
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
    df = _read_streamed_csv(path, "boundary data")
    try:
        return boundary_data(df)
    except NnlabError as exc:
        raise NnlabError(*(f"{path}: {p}" for p in exc.problems)) from None


# --------------------------------------------------------------------------------------------
# data: comparison of the runs of an experiment
# --------------------------------------------------------------------------------------------

# summary.csv columns that hold text; every other non-axis column is a number
RUN_ID, STATUS, SEED = "run_id", "status", "seed"
TEXT_COLUMNS = frozenset({RUN_ID, STATUS, "diagnosis"})
VARIANT_AXIS = "variant"
NO_AXES_LABEL = "all runs"
# a numeric swept axis is drawn on a log scale when its positive values span this ratio
LOG_X_RATIO = 100.0
# sample standard deviation over the repeats (the seed noise); 0 where only one run remains
STD_DDOF = 1
# a heat map needs the two axes to form a grid: more than this share of the pairs of values
# present (zip and random sweeps give a diagonal or a scatter, which a heat map shows badly)
HEATMAP_MIN_FILL = 0.5
MAX_NUMBER_CHARS = 8  # longer numbers are shown with 4 significant digits


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


def sweep_axes(summary: pd.DataFrame) -> list[str]:
    """The swept columns of a summary, in column order: dotted config paths and ``variant``."""
    return [str(c) for c in summary.columns if "." in str(c) or c == VARIANT_AXIS]


def _text(value: Any) -> str:
    """A cell as the user wrote it ("" when empty), whatever dtype pandas gave the column."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _short_names(axes: Sequence[str]) -> dict[str, str]:
    """``train.batch_size`` -> ``batch_size``; the full path where two axes end alike."""
    last = [a.rsplit(".", 1)[-1] for a in axes]
    return {a: (s if last.count(s) == 1 else a) for a, s in zip(axes, last, strict=True)}


def _display(text: str) -> str:
    """A swept value for a legend or a tick: as written, but a long number (a random sweep's
    0.0034567891234) cut to 4 significant digits."""
    number = _as_number(text)
    return f"{number:.4g}" if number is not None and len(text) > MAX_NUMBER_CHARS else text


def _group_label(values: dict[str, str], short: dict[str, str]) -> str:
    if not values:
        return NO_AXES_LABEL
    parts = [
        _display(v) if a == VARIANT_AXIS else f"{short[a]}={_display(v)}" for a, v in values.items()
    ]
    return ", ".join(parts)


def _numbers(summary: pd.DataFrame, column: str) -> np.ndarray:
    if column not in summary.columns:
        return np.full(len(summary), np.nan)
    return pd.to_numeric(summary[column], errors="coerce").to_numpy(dtype=float)


def _counted(summary: pd.DataFrame) -> np.ndarray:
    """Rows whose numbers count: every run but the failed ones (their cells may be empty)."""
    if STATUS not in summary.columns:
        return np.ones(len(summary), dtype=bool)
    return np.array([_text(s) != store.FAILED for s in summary[STATUS]], dtype=bool)


def _std(values: np.ndarray) -> float:
    return float(np.std(values, ddof=STD_DDOF)) if values.size > 1 else 0.0


def _groups(summary: pd.DataFrame) -> list[tuple[dict[str, str], list[int]]]:
    """Rows grouped by their swept values, groups in order of first appearance."""
    axes = sweep_axes(summary)
    groups: dict[tuple[str, ...], list[int]] = {}
    for i in range(len(summary)):
        key = tuple(_text(summary[a].iat[i]) for a in axes)
        groups.setdefault(key, []).append(i)
    return [(dict(zip(axes, key, strict=True)), rows) for key, rows in groups.items()]


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
    table = pd.concat(series, axis=1, ignore_index=True).sort_index()
    n = table.notna().sum(axis=1).to_numpy()
    table = table[n > 0]
    n = n[n > 0]
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
    Called by :func:`plot_experiment`.
    """
    short = _short_names(sweep_axes(summary))
    counted = _counted(summary)
    out = []
    for color, (values, rows) in enumerate(_groups(summary)):
        run_ids = [
            rid for i in rows if counted[i] and (rid := _text(summary[RUN_ID].iat[i])) in histories
        ]
        frames = [histories[rid] for rid in run_ids]
        train = _mean_curve(frames, metric)
        validation = _mean_curve(frames, f"val_{metric}")
        if train is None and validation is None:
            continue
        label = _group_label(values, short)
        out.append(GroupCurve(label, values, color, run_ids, train, validation))
    return out


def curve_metrics(histories: Sequence[pd.DataFrame]) -> list[str]:
    """The metrics with learning curves in any of ``histories``: ``loss`` first, then the
    others in column order (``val_x`` is drawn with ``x``)."""
    names: list[str] = []
    for h in histories:
        for col in h.columns:
            name = str(col).removeprefix("val_")
            if col not in BOOKKEEPING_COLUMNS and name not in names:
                names.append(name)
    names.sort(key=lambda n: n != "loss")
    return names


def curves_log_y(metric: str, groups: Sequence[GroupCurve]) -> bool:
    """Log y for a loss whose group means are positive and span more than two decades."""
    if metric != "loss":
        return False
    means = [c.mean for g in groups for c in (g.train, g.validation) if c is not None]
    return _spans_decades(np.concatenate(means) if means else np.array([]))


def _as_number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def metric_vs_value(summary: pd.DataFrame, axis: str, column: str) -> ValueSeries:
    """``column`` (``best_val_accuracy``...) of every run against its value of ``axis``.

    Values keep the order of their first appearance, failed runs included (a value whose runs
    all failed stays on the axis, without a point). ``log_x`` when the values are numbers, all
    positive, spanning a factor of 100 or more (learning rates). Mean and std over the runs of
    each value, whatever the other axes are. Called by :func:`plot_experiment`.
    """
    if axis not in summary.columns:
        raise NnlabError(f"summary: no swept column {axis!r}; swept: {sweep_axes(summary)}")
    texts = [_text(v) for v in summary[axis]]
    labels = list(dict.fromkeys(texts))
    numbers = [_as_number(t) for t in labels]
    numeric = bool(labels) and all(v is not None for v in numbers)
    x = np.array(numbers, dtype=float) if numeric else np.arange(len(labels), dtype=float)
    positive = x[x > 0]
    log_x = bool(numeric and positive.size == x.size and x.max() / x.min() >= LOG_X_RATIO)

    y = _numbers(summary, column)
    keep = _counted(summary) & np.isfinite(y)
    position = np.array([labels.index(t) for t in texts], dtype=int)
    mean, std, n = [], [], []
    for k in range(len(labels)):
        ys = y[keep & (position == k)]
        n.append(ys.size)
        mean.append(float(ys.mean()) if ys.size else math.nan)
        std.append(_std(ys) if ys.size else math.nan)
    run_ids = [_text(r) for r in summary[RUN_ID]] if RUN_ID in summary.columns else texts
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
    :func:`plot_experiment`."""
    axes = sweep_axes(summary)
    if len(axes) != 2:
        return None
    row_axis, col_axis = axes
    rows = [_text(v) for v in summary[row_axis]]
    cols = [_text(v) for v in summary[col_axis]]
    row_labels, col_labels = list(dict.fromkeys(rows)), list(dict.fromkeys(cols))
    pairs = len(set(zip(rows, cols, strict=True)))
    if pairs <= HEATMAP_MIN_FILL * len(row_labels) * len(col_labels):
        return None
    y = _numbers(summary, column)
    keep = _counted(summary) & np.isfinite(y)
    total = np.zeros((len(row_labels), len(col_labels)))
    n = np.zeros_like(total, dtype=int)
    for r, c, value, k in zip(rows, cols, y, keep, strict=True):
        if k:
            total[row_labels.index(r), col_labels.index(c)] += value
            n[row_labels.index(r), col_labels.index(c)] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(n > 0, total / np.maximum(n, 1), np.nan)
    return HeatmapData(row_axis, col_axis, column, row_labels, col_labels, values, n)


def target_column(summary: pd.DataFrame) -> str | None:
    """The summary column the comparison plots rank the runs by (see names.target_column)."""
    return names.target_column([str(c) for c in summary.columns])


def read_summary(path: str | Path) -> pd.DataFrame:
    """The rows of an experiment's ``summary.csv``.

    Swept values, ``run_id``, ``status`` and ``diagnosis`` stay text exactly as written
    (``0.001``, ``1e-05``, ``full``); every other column is a float, empty cells NaN.
    """
    path = Path(path)
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except FileNotFoundError:
        raise NnlabError(f"{path}: no summary") from None
    except pd.errors.EmptyDataError:
        return pd.DataFrame({RUN_ID: pd.Series(dtype=str)})
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise NnlabError(f"{path}: cannot read the summary: {exc}") from None
    text = TEXT_COLUMNS | set(sweep_axes(df))
    for col in df.columns:
        if col not in text:
            df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    return df


def summary_from_results(runs: Sequence[Path]) -> pd.DataFrame:
    """A summary-like frame (no swept columns) from the ``result.json`` of each run folder,
    for an experiment written before ``summary.csv`` existed. A folder without a result is
    a run that never finished: status ``running``, no numbers."""
    rows = []
    for run in runs:
        result = store.read_json(Path(run) / store.RESULT_FILE) or {}
        row: dict[str, Any] = {RUN_ID: Path(run).name, STATUS: result.get(STATUS, store.RUNNING)}
        for key in ("epochs_run", "best_epoch", "wall_s"):
            row[key] = result.get(key)
        for kind in ("final", "best"):
            values = result.get(kind)
            for metric, value in (values if isinstance(values, dict) else {}).items():
                row[f"{kind}_{metric}"] = value
        rows.append(row)
    df = pd.DataFrame(rows, columns=None if rows else [RUN_ID, STATUS])
    for col in df.columns:
        if col not in TEXT_COLUMNS:
            df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    return df


def experiment_summary(
    experiment_dir: str | Path, runs: Sequence[Path] | None = None
) -> pd.DataFrame:
    """``summary.csv`` of an experiment, or, when it has none, :func:`summary_from_results` of
    ``runs`` (default: every run folder)."""
    experiment_dir = Path(experiment_dir)
    path = experiment_dir / store.SUMMARY_FILE
    if path.is_file():
        return read_summary(path)
    return summary_from_results(store.run_dirs(experiment_dir) if runs is None else runs)


def read_histories(experiment_dir: str | Path, summary: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The history of every run of ``summary`` that has a readable one with a complete row
    (failed runs are not read)."""
    experiment_dir = Path(experiment_dir)
    counted = _counted(summary)
    out: dict[str, pd.DataFrame] = {}
    for i, rid in enumerate(_text(r) for r in summary[RUN_ID]):
        if not counted[i] or not rid:
            continue
        try:
            out[rid] = read_history(experiment_dir / rid / store.HISTORY_FILE)
        except NnlabError:
            continue  # never wrote an epoch, or a file we cannot read: nothing to draw
    return out


# --------------------------------------------------------------------------------------------
# drawing
# --------------------------------------------------------------------------------------------


def _new_figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    return fig


def _save(fig: Figure, target: Path) -> Path:
    with store.atomic_path(target) as tmp:
        fig.savefig(tmp, dpi=DPI, format=target.suffix.lstrip(".") or "png")
    fig.clear()
    return target


def _finite_or_nan(values: np.ndarray) -> np.ndarray:
    # matplotlib breaks a line at NaN but lets +-inf wreck the autoscaled limits
    return np.where(np.isfinite(values), values, np.nan)


def _run_title(run_dir: Path, result: dict[str, Any] | None) -> str:
    run_id = (result or {}).get("run_id") or run_dir.resolve().name
    status = (result or {}).get("status")
    if status == store.COMPLETED:
        return str(run_id)
    if status is None:
        return f"{run_id} (unfinished: no result.json)"
    diverged = (result or {}).get("diverged_epoch")
    if status == store.DIVERGED and diverged is not None:
        return f"{run_id} (diverged at epoch {diverged})"
    return f"{run_id} ({status})"


def _format_value(value: float) -> str:
    return f"{value:.4g}"


def _draw_panel(ax: Axes, panel: Panel, diverged_epoch: int | None) -> None:
    from matplotlib.ticker import MaxNLocator

    last_epoch = 0
    for ln in panel.lines:
        color = LEARNING_RATE_COLOR if panel.metric == "learning_rate" else SPLIT_COLORS[ln.split]
        ax.plot(
            ln.epochs,
            _finite_or_nan(ln.values),
            linestyle=ln.style,
            color=color,
            linewidth=1.8,
            label=ln.label,
        )
        if len(ln.epochs):
            last_epoch = max(last_epoch, int(np.nanmax(ln.epochs)))
    title = panel.metric.replace("_", " ")
    if panel.best_epoch is not None and panel.best_value is not None:
        ax.plot(
            [panel.best_epoch],
            [panel.best_value],
            marker="*",
            markersize=13,
            color=SPLIT_COLORS[VALIDATION],
            markeredgecolor="black",
            linestyle="none",
            zorder=5,
            label="best validation",
        )
        title += f"\nbest val {_format_value(panel.best_value)} at epoch {panel.best_epoch}"
    if diverged_epoch is not None:
        ax.axvline(diverged_epoch, color="tab:red", linestyle=":", linewidth=1.5, label="diverged")
    if panel.log_y:
        ax.set_yscale("log")
    ax.set_title(title, fontsize=11)
    ax.set_xlabel("epoch", fontsize=10)
    ax.set_ylabel(panel.metric.replace("_", " "), fontsize=10)
    ax.set_xlim(0, max(last_epoch, 1))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.tick_params(labelsize=9)
    ax.grid(True, alpha=0.3)


def _draw_learning_curves(
    panels: list[Panel], title: str, diverged_epoch: int | None, target: Path
) -> Path:
    n = max(len(panels), 1)
    ncols = min(n, MAX_PANELS_PER_ROW)
    nrows = math.ceil(n / ncols)
    fig = _new_figure(PANEL_SIZE[0] * ncols, PANEL_SIZE[1] * nrows + 0.6)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, panel in zip(axes, panels, strict=False):
        _draw_panel(ax, panel, diverged_epoch)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    # one legend for the figure, outside the axes so that it never covers a curve
    handles: dict[str, Any] = {}
    for ax in axes[: len(panels)]:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            if label != "learning rate":
                handles.setdefault(label, handle)
    if handles:
        fig.legend(
            list(handles.values()),
            list(handles),
            loc="outside lower center",
            ncols=len(handles),
            fontsize=10,
            frameon=False,
        )
    fig.suptitle(title, fontsize=12)
    return _save(fig, target)


def _draw_boundary(data: BoundaryData, title: str, target: Path) -> Path:
    from matplotlib import colormaps
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.lines import Line2D

    fig = _new_figure(6.4, 5.4)
    ax = fig.subplots()
    if data.binary:
        class_colors = ["#2166ac", "#b2182b"]
        levels = np.linspace(0.0, 1.0, 11)
        filled = ax.contourf(data.xs, data.ys, data.z, levels=levels, cmap="RdBu_r", alpha=0.45)
        finite = data.z[np.isfinite(data.z)]
        if finite.size and finite.min() < 0.5 < finite.max():
            ax.contour(data.xs, data.ys, data.z, levels=[0.5], colors="black", linewidths=1.2)
        bar = fig.colorbar(filled, ax=ax, shrink=0.85)
        bar.set_label("predicted P(class 1)", fontsize=10)
    else:
        base = "tab10" if data.n_classes <= 10 else "tab20"
        class_colors = [colormaps[base](i % 20) for i in range(data.n_classes)]
        cmap = ListedColormap(class_colors)
        norm = BoundaryNorm(np.arange(-0.5, data.n_classes + 0.5), cmap.N)
        # class indices are categories: interpolating contours between classes 0 and 2 would
        # draw a false band of class 1, so each lattice cell is filled with its own class
        ax.pcolormesh(data.xs, data.ys, data.z, cmap=cmap, norm=norm, alpha=0.35, shading="nearest")

    def color_of(labels: np.ndarray) -> list[Any]:
        return [class_colors[int(k) % len(class_colors)] for k in labels]

    markers = {"train": ("o", "train"), "val": ("x", "validation")}
    for split, pts in data.points.items():
        marker, _ = markers[split]
        if marker == "o":
            ax.scatter(
                pts.x1, pts.x2, c=color_of(pts.labels), marker="o", s=20, edgecolors="black",
                linewidths=0.4, zorder=3,
            )  # fmt: skip
        else:
            ax.scatter(
                pts.x1, pts.x2, c=color_of(pts.labels), marker="x", s=30, linewidths=1.6, zorder=4
            )
    legend = [
        Line2D([], [], marker=markers[s][0], linestyle="none", color="dimgray", label=markers[s][1])
        for s in data.points
    ]
    n_legend_classes = 2 if data.binary else data.n_classes
    legend += [
        Line2D([], [], marker="s", linestyle="none", color=class_colors[k], label=f"class {k}")
        for k in range(min(n_legend_classes, len(class_colors)))
    ]
    fig.legend(
        handles=legend,
        loc="outside lower center",
        ncols=min(len(legend), 6),
        fontsize=9,
        frameon=False,
    )
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlim(float(data.xs.min()), float(data.xs.max()))
    ax.set_ylim(float(data.ys.min()), float(data.ys.max()))
    ax.set_xlabel("x1", fontsize=10)
    ax.set_ylabel("x2", fontsize=10)
    ax.tick_params(labelsize=9)
    fig.suptitle(title, fontsize=12)
    return _save(fig, target)


def plot_run(run_dir: str | Path) -> list[Path]:
    """Draw the plots of one run directory from its files; returns the PNGs written.

    ``plots/learning_curves.png`` always, ``plots/decision_boundary.png`` when the run wrote a
    ``boundary.csv``, and ``plots/weights.png``, ``gradients.png``, ``batches.png`` when it
    captured ``weights.csv``, ``gradients.csv``, ``batches.csv``
    (:func:`nnlab.dynamics_plots.plot_run_dynamics`). Called by ``nnlab plot``, by
    :func:`plot_dir` and at the end of a run. Raises ``NnlabError`` when the history is missing
    or has no complete row.
    """
    run_dir = Path(run_dir)
    history = read_history(run_dir / store.HISTORY_FILE)
    result = store.read_json(run_dir / store.RESULT_FILE)
    title = _run_title(run_dir, result)
    diverged = (result or {}).get("diverged_epoch")
    diverged_epoch = int(diverged) if isinstance(diverged, int | float) else None

    out = run_dir / store.PLOTS_DIR
    written = [
        _draw_learning_curves(
            curve_panels(history), title, diverged_epoch, out / LEARNING_CURVES_FILE
        )
    ]
    boundary_file = run_dir / store.BOUNDARY_FILE
    if boundary_file.is_file():
        data = read_boundary(boundary_file)
        written.append(
            _draw_boundary(data, f"{title}\ndecision boundary", out / DECISION_BOUNDARY_FILE)
        )
    from nnlab.dynamics_plots import plot_run_dynamics  # imports this module: no cycle at load

    written += plot_run_dynamics(run_dir)
    return _drop_stale(out, written)


def _ticks_fit(x: np.ndarray, log: bool) -> bool:
    """Whether a tick at each value leaves room for its label: no two values closer than
    ``MIN_TICK_GAP`` of the axis span (random-search values often are; they get the ordinary
    ticks instead)."""
    pos = np.unique(np.log10(x[x > 0]) if log else x)
    if pos.size < 2:
        return True
    return bool(np.diff(pos).min() >= MIN_TICK_GAP * (pos[-1] - pos[0]))


def _drop_stale(folder: Path, written: list[Path]) -> list[Path]:
    """Remove the PNGs in ``folder`` that this drawing did not write (a sweep axis that is
    gone, a capture that was turned off), so nothing shows a plot of an older config."""
    keep = {p.resolve() for p in written}
    for png in folder.glob("*.png") if folder.is_dir() else []:
        if png.resolve() not in keep:
            png.unlink(missing_ok=True)
    return written


def _color(index: int) -> Any:
    from matplotlib import colormaps

    return colormaps["tab10"](index % GROUP_COLORS)


def _column_label(column: str) -> str:
    """``best_val_accuracy`` -> ``best val_accuracy``."""
    kind, _, metric = column.partition("_")
    return f"{kind} {metric}" if kind in ("best", "final") and metric else column


def _draw_band(ax: Axes, curve: MeanCurve, color: Any, alpha: float) -> None:
    if (curve.n > 1).any():
        ax.fill_between(
            curve.epochs,
            _finite_or_nan(curve.mean - curve.std),
            _finite_or_nan(curve.mean + curve.std),
            color=color,
            alpha=alpha,
            linewidth=0,
        )


def _draw_group_curves(
    groups: list[GroupCurve], metric: str, log_y: bool, title: str, target: Path
) -> Path:
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    many = len(groups) > LEGEND_BELOW_MAX
    fig = _new_figure(9.8 if many else 7.6, 5.2 + 0.22 * min(len(groups), 6) * (not many))
    ax = fig.subplots()
    last_epoch = 0
    counts = {g.n_runs for g in groups}
    repeats = max(counts) > 1
    same_n = len(counts) == 1
    legend = []
    for g in groups:
        color = _color(g.color)
        # past ten groups the colours repeat: a marker tells the second round apart, since
        # solid and dashed already mean train and validation
        marker = GROUP_MARKERS[(g.color // GROUP_COLORS) % len(GROUP_MARKERS)]
        for curve, style, alpha, width in (
            (g.train, "solid", 0.12, 1.4),
            (g.validation, "dashed", 0.2, 1.9),
        ):
            if curve is None:
                continue
            if g.n_runs > 1:
                _draw_band(ax, curve, color, alpha)
            ax.plot(
                curve.epochs,
                _finite_or_nan(curve.mean),
                linestyle=style,
                color=color,
                linewidth=width,
                marker=marker,
                markersize=4,
                markevery=max(1, len(curve.epochs) // 8),
            )
            last_epoch = max(last_epoch, int(curve.epochs.max()))
        label = g.label + (f" (n={g.n_runs})" if repeats and not same_n else "")
        legend.append(Line2D([], [], color=color, linewidth=2.5, marker=marker, label=label))
    if any(g.train is not None for g in groups) and any(g.validation is not None for g in groups):
        legend += [
            Line2D([], [], color="dimgray", linestyle="solid", linewidth=1.4, label="train"),
            Line2D([], [], color="dimgray", linestyle="dashed", linewidth=1.9, label="validation"),
        ]
    if log_y:
        ax.set_yscale("log")
    ax.set_xlim(0, max(last_epoch, 1))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch", fontsize=10)
    ax.set_ylabel(metric.replace("_", " "), fontsize=10)
    ax.tick_params(labelsize=9)
    ax.grid(True, alpha=0.3)
    if many:
        fig.legend(handles=legend, loc="outside right upper", fontsize=9, frameon=False)
    else:
        longest = max(len(h.get_label()) for h in legend)
        ncols = max(1, min(len(legend), 4 if longest <= 22 else 2))
        fig.legend(
            handles=legend, loc="outside lower center", ncols=ncols, fontsize=9, frameon=False
        )
    subtitle = "train solid, validation dashed"
    if repeats:
        seeds = f"{min(counts)} seeds" if same_n else "seeds (n in the legend)"
        subtitle += f"; line = mean over {seeds}, band = ± 1 std"
    fig.suptitle(f"{title}: {metric.replace('_', ' ')}", fontsize=12)
    ax.set_title(subtitle, fontsize=9, color="dimgray")
    return _save(fig, target)


def _draw_value_series(
    best: ValueSeries, final: ValueSeries | None, name: str, title: str, target: Path
) -> Path:
    from matplotlib.transforms import offset_copy

    width = 6.8 if best.numeric else min(max(6.4, 0.9 * len(best.labels) + 3.0), 12.0)
    fig = _new_figure(width, 4.8)
    ax = fig.subplots()

    def shifted(points: float) -> Any:
        # side by side at the same value, on a linear, log or categorical axis alike
        return offset_copy(ax.transData, fig=fig, x=points, y=0.0, units="points")

    # (series, colour, marker, filled, offset of the mean, offset of the runs) in points
    series = [(best, "tab:blue", "o", True, 0.0, -8.0)]
    if final is not None:
        series = [(best, "tab:blue", "o", True, -5.0, -13.0)]
        series.append((final, "#7fb0dc", "D", False, 5.0, 13.0))
    for s, color, marker, filled, dx_mean, dx_runs in series:
        label = _column_label(s.column)
        repeats = bool(s.n.max(initial=0) > 1)
        if repeats:  # with one run per value its point is the mean: draw it once
            ax.scatter(
                s.run_x, s.run_y, s=18, color=color, alpha=0.6, zorder=2, edgecolors="none",
                transform=shifted(dx_runs), label=f"{label}, each run",
            )  # fmt: skip
        has = s.n > 0
        ax.errorbar(
            s.x[has], s.mean[has], yerr=s.std[has], color=color, marker=marker, markersize=7,
            capsize=4, linewidth=1.6, zorder=3, markerfacecolor=color if filled else "white",
            markeredgewidth=1.5, linestyle="none", transform=shifted(dx_mean),
            label=f"{label}, mean ± std" if repeats else label,
        )  # fmt: skip
        if s.numeric:  # a trend only means something along numbers
            order = np.argsort(s.x, kind="stable")
            xs, ys = s.x[order], s.mean[order]
            ax.plot(
                xs[np.isfinite(ys)], ys[np.isfinite(ys)], color=color, linewidth=1.2, zorder=1,
                transform=shifted(dx_mean),
            )  # fmt: skip
    # artists drawn with an offset transform do not take part in autoscaling: give the limits
    # every point and error bar in data coordinates
    for s, *_ in series:
        has = s.n > 0
        ax.update_datalim(np.column_stack([s.run_x, s.run_y]))
        for sign in (-1, 1):
            ax.update_datalim(np.column_stack([s.x[has], s.mean[has] + sign * s.std[has]]))
    if best.log_x:
        ax.set_xscale("log")
    ax.autoscale_view()
    if best.numeric and best.x.size <= MAX_VALUE_TICKS and _ticks_fit(best.x, best.log_x):
        ax.set_xticks(best.x, [_display(t) for t in best.labels])
        if best.log_x:
            ax.minorticks_off()
    elif not best.numeric:
        ax.set_xticks(best.x, [_display(t) or "(none)" for t in best.labels])
        if max((len(t) for t in best.labels), default=0) > 8:
            ax.tick_params(axis="x", labelrotation=25)
        ax.set_xlim(-0.6, len(best.labels) - 0.4)
    ax.set_xlabel(best.axis, fontsize=10)
    ax.set_ylabel(_column_label(best.column), fontsize=10)
    ax.tick_params(labelsize=9)
    ax.grid(True, alpha=0.3)
    fig.legend(loc="outside lower center", ncols=2, fontsize=9, frameon=False)
    fig.suptitle(f"{title}: {_column_label(best.column)} against {name}", fontsize=12)
    return _save(fig, target)


def _draw_heatmap(data: HeatmapData, title: str, target: Path) -> Path:
    from matplotlib import colormaps

    rows, cols = data.values.shape
    fig = _new_figure(max(5.0, 1.25 * cols + 3.2), max(3.6, 0.75 * rows + 2.4))
    ax = fig.subplots()
    # bright is better whether the column is maximised (accuracy) or minimised (loss)
    metric = data.column.partition("_")[2] or data.column
    maximized = is_maximized(metric)
    cmap = colormaps["viridis" if maximized else "viridis_r"].with_extremes(bad="#e6e6e6")
    masked = np.ma.masked_invalid(data.values)
    image = ax.imshow(masked, cmap=cmap, aspect="auto")
    finite = data.values[np.isfinite(data.values)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    for i in range(rows):
        for j in range(cols):
            value = data.values[i, j]
            if not np.isfinite(value):
                ax.text(j, i, "no run", ha="center", va="center", fontsize=9, color="dimgray")
                continue
            level = (value - lo) / (hi - lo) if hi > lo else 0.5
            dark = level < 0.6 if maximized else level > 0.4  # the dark end of viridis
            text = f"{value:.3g}" + (f"\n(n={data.n[i, j]})" if data.n.max() > 1 else "")
            ax.text(
                j, i, text, ha="center", va="center", fontsize=10,
                color="white" if dark else "black",
            )  # fmt: skip
    ax.set_xticks(range(cols), [_display(t) for t in data.col_labels])
    ax.set_yticks(range(rows), [_display(t) for t in data.row_labels])
    ax.set_xlabel(data.col_axis, fontsize=10)
    ax.set_ylabel(data.row_axis, fontsize=10)
    ax.tick_params(labelsize=9, length=0)
    bar = fig.colorbar(image, ax=ax, shrink=0.9)
    bar.set_label(_column_label(data.column) + " (mean over seeds)", fontsize=9)
    fig.suptitle(f"{title}: {_column_label(data.column)}", fontsize=12)
    return _save(fig, target)


def plot_experiment(experiment_dir: str | Path, runs: Sequence[Path] | None = None) -> list[Path]:
    """The cross-run comparison plots of an experiment, under ``<experiment>/plots/``.

    * ``curves_<metric>.png`` for loss and each metric: one colour per sweep point, train solid
      and validation dashed, mean over repeats with a band of ± 1 std;
    * ``<target>_vs_<axis>.png`` per swept axis: the target column (:func:`target_column`) of
      every run, its mean ± std per value, and the final value beside it in a lighter colour;
    * ``heatmap_<target>.png`` when exactly two axes are swept;
    * ``gradients_std.png``, ``weights_std.png``, ``gradients_mean.png`` when runs captured
      ``gradients.csv`` / ``weights.csv``: a panel per layer, a curve per sweep point
      (:func:`nnlab.dynamics_plots.plot_experiment_dynamics`).

    Rows come from ``summary.csv`` (runs of the current config only); an experiment without one
    is summarised from the ``result.json`` of ``runs`` (default: every run folder), without
    axes. Failed runs and runs without history rows are left out. Called by :func:`plot_dir`
    and at the end of a sweep; returns the PNGs written.
    """
    experiment_dir = Path(experiment_dir)
    summary = experiment_summary(experiment_dir, runs)
    if summary.empty or RUN_ID not in summary.columns:
        return []
    title = experiment_dir.resolve().name
    out = experiment_dir / store.PLOTS_DIR
    written: list[Path] = []

    histories = read_histories(experiment_dir, summary)
    for metric in curve_metrics(list(histories.values())):
        groups = group_curves(summary, histories, metric)
        if groups:
            log_y = curves_log_y(metric, groups)
            target = out / f"curves_{metric}.png"
            written.append(_draw_group_curves(groups, metric, log_y, title, target))
    from nnlab.dynamics_plots import plot_experiment_dynamics  # imports this module

    written += plot_experiment_dynamics(experiment_dir, summary)

    column = target_column(summary)
    if column is None:
        return _drop_stale(out, written)
    final_column = "final_" + column.removeprefix("best_")
    short = _short_names(sweep_axes(summary))
    for axis in sweep_axes(summary):
        best = metric_vs_value(summary, axis, column)
        if not best.n.any():
            continue
        final = metric_vs_value(summary, axis, final_column)
        name = short[axis]
        target = out / f"{column}_vs_{name}.png"
        written.append(
            _draw_value_series(best, final if final.n.any() else None, name, title, target)
        )
    heat = heatmap_data(summary, column)
    if heat is not None and heat.n.any():
        written.append(_draw_heatmap(heat, title, out / f"heatmap_{column}.png"))
    return _drop_stale(out, written)


def plot_dir(path: str | Path) -> list[Path]:
    """``nnlab plot DIR``: the plots of a run directory, or of every run of an experiment.

    For an experiment, runs that never completed an epoch (no history rows: they failed while
    building the model) have nothing to plot and are skipped; their status is in result.json.
    Returns the PNGs written.
    """
    path = Path(path)
    if store.is_run_dir(path):
        return plot_run(path)
    runs = store.run_dirs(path)
    if not runs:
        raise NnlabError(f"{path}: not a run or experiment directory (no history.csv found)")
    written: list[Path] = []
    plotted: list[Path] = []
    for run in runs:
        try:
            written += plot_run(run)
        except _NothingToPlot:
            continue
        plotted.append(run)
    written += plot_experiment(path, plotted)
    return written
