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

from nnlab import store
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
    values = np.concatenate([ln.values for ln in lines]) if lines else np.array([])
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
    ``boundary.csv``. Called by ``nnlab plot``, by :func:`plot_dir` and at the end of a run.
    Raises ``NnlabError`` when the history is missing or has no complete row.
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
    return written


def plot_experiment(experiment_dir: str | Path, runs: Sequence[Path]) -> list[Path]:
    """The cross-run comparison plots of an experiment, under ``<experiment>/plots/``.

    Not drawn yet: curves of every sweep point with a band over repeats, the final or best
    metric against each swept value, a heat map for two axes (see the SPEC, "Plots").
    """
    return []


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
