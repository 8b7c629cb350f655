"""Plots of the training dynamics a run captured (``train.capture``): per-layer weight and
gradient statistics, and the loss of every batch.

The files, written by ``capture`` next to ``history.csv``:

* ``weights.csv``, ``gradients.csv``: long tables ``epoch,layer,tensor,stat,value``; epoch 0 is
  the untrained model, layers come in model order (the order of their first row is the depth
  order); gradients are of the kernels only and add the stat ``update_ratio``;
* ``batches.csv``: ``epoch,batch,step,size,loss[,<metric>...]``, one row per training batch.

Like :mod:`nnlab.plots`, two layers:

* data: :func:`read_layer_stats`, :func:`layer_panels`, :func:`read_batches`,
  :func:`batch_panels`, :func:`group_layer_curves` and :func:`layer_stat_table` turn the files
  into small dataclasses of numpy arrays (or a table for the report);
* drawing: :func:`plot_run_dynamics` (``<run>/plots/weights.png``, ``gradients.png``,
  ``batches.png``) and :func:`plot_experiment_dynamics` (``<experiment>/plots/weights_std.png``,
  ``gradients_std.png``, ``gradients_mean.png``).

Every file may be cut mid-write (a killed run) and may hold NaN or inf (a diverged run): the cut
last line is dropped, non-finite values are left out of what is drawn and averaged, and log axes
leave out zeros and negatives. Only numpy and pandas are imported at the top (``nnlab plot``
never imports a backend); matplotlib is imported inside the drawing functions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from nnlab import store
from nnlab.errors import NnlabError
from nnlab.plots import (
    GROUP_COLORS,
    GROUP_MARKERS,
    LEGEND_BELOW_MAX,
    PANEL_SIZE,
    RUN_ID,
    STD_DDOF,
    _color,
    _counted,
    _group_label,
    _groups,
    _new_figure,
    _read_streamed_csv,
    _run_title,
    _save,
    _short_names,
    _spans_decades,
    _text,
    sweep_axes,
)
from nnlab.store import BATCHES_FILE, GRADIENTS_FILE, LONG_COLUMNS, WEIGHTS_FILE

if TYPE_CHECKING:
    from matplotlib.axes import Axes

KIND_FILES = {"weights": WEIGHTS_FILE, "gradients": GRADIENTS_FILE}
BATCH_INDEX_COLUMNS = ("epoch", "batch", "step", "size")

# per-run plots
WEIGHTS_PLOT = "weights.png"
GRADIENTS_PLOT = "gradients.png"
BATCHES_PLOT = "batches.png"
WEIGHT_STATS = ("mean", "std")
GRADIENT_STATS = ("mean", "std", "update_ratio")
# stats drawn on a log y axis: magnitudes, which shrink or grow by decades from layer to layer
LOG_STATS = frozenset({"std", "norm", "update_ratio"})
# the rule of thumb for learning_rate * |grad| / |weights|: about 1e-3 per step
UPDATE_RATIO_REFERENCE = 1e-3
STAT_LABELS = {
    "mean": "mean",
    "std": "std",
    "norm": "L2 norm",
    "update_ratio": "update ratio (lr·|g| / |w|)",
}
# layers are coloured by depth along this colormap, first layer dark to output light; the
# last 15 % of viridis (pale yellow) is left out, it does not show on white
DEPTH_COLORMAP = "viridis"
DEPTH_COLOR_RANGE = (0.0, 0.85)

# per-experiment plots: one panel per layer
EXPERIMENT_STATS = (("gradients", "std"), ("weights", "std"), ("gradients", "mean"))
LAYER_PANEL_SIZE = (3.3, 2.8)
MAX_LAYER_PANELS_PER_ROW = 6


# --------------------------------------------------------------------------------------------
# data: one run
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class LayerLine:
    """One layer's statistic against epoch: finite values only (and only positive ones on a
    log panel)."""

    layer: str
    depth: int  # position in model order, 0 = first layer: picks the colour
    epochs: np.ndarray
    values: np.ndarray


@dataclass(frozen=True, eq=False)
class LayerPanel:
    """One subplot of ``weights.png`` or ``gradients.png``: a statistic, a line per layer."""

    stat: str
    lines: list[LayerLine]
    log_y: bool
    n_layers: int  # every layer of the file, so the colour of a layer is the same in each panel
    reference: float | None = None  # a horizontal rule of thumb (update ratio: 1e-3)

    def line(self, layer: str) -> LayerLine | None:
        return next((ln for ln in self.lines if ln.layer == layer), None)


@dataclass(frozen=True, eq=False)
class BatchPanel:
    """One subplot of ``batches.png``: a metric of every batch, and its mean over each epoch.

    ``steps``/``values`` are the batches with a finite value (positive too when ``log_y``);
    the mean of an epoch is weighted by the batch sizes (as Keras averages the epoch) and is
    placed at the middle step of that epoch.
    """

    metric: str
    steps: np.ndarray
    values: np.ndarray
    epochs: np.ndarray
    epoch_steps: np.ndarray
    epoch_means: np.ndarray
    log_y: bool


def _missing_columns(df: pd.DataFrame, path: Path, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise NnlabError(f"{path}: missing columns {', '.join(missing)}")


def read_layer_stats(path: str | Path) -> pd.DataFrame:
    """The rows of a ``weights.csv`` or ``gradients.csv``.

    ``epoch`` int, ``layer``/``tensor``/``stat`` text, ``value`` float (``nan``/``inf`` kept);
    a cut last line is dropped, rows without an epoch or layer too. Raises ``NnlabError`` when
    the file is missing, has no complete row, or lacks a column.
    """
    path = Path(path)
    df = _read_streamed_csv(path, "statistics")
    _missing_columns(df, path, LONG_COLUMNS)
    df = df[list(LONG_COLUMNS)].copy()
    df["epoch"] = pd.to_numeric(df["epoch"], errors="coerce")
    df["value"] = pd.to_numeric(df["value"], errors="coerce").astype(float)
    for col in ("layer", "tensor", "stat"):
        df[col] = df[col].map(_text)
    df = df[df["epoch"].notna() & (df["layer"] != "")]
    df["epoch"] = df["epoch"].astype(int)
    return df.reset_index(drop=True)


def layer_order(frames: Sequence[pd.DataFrame]) -> list[str]:
    """The layers of one or more statistics tables in depth order.

    Each table lists its layers in model order. Tables of different models (a sweep over
    ``model.hidden``) are merged so that each one's order is kept: a layer new to the merged
    list goes right after the layer that precedes it in its own table (``dense3`` after
    ``dense2``, before ``output``).
    """
    merged: list[str] = []
    for df in frames:
        previous: str | None = None
        for layer in pd.unique(df["layer"]):
            layer = str(layer)
            if layer not in merged:
                merged.insert(0 if previous is None else merged.index(previous) + 1, layer)
            previous = layer
    return merged


def _series(df: pd.DataFrame, layer: str, tensor: str, stat: str, log: bool) -> pd.Series:
    """Values of one layer/tensor/stat by epoch: finite (and > 0 when ``log``) only, the last
    row of an epoch written twice."""
    rows = df[(df["layer"] == layer) & (df["tensor"] == tensor) & (df["stat"] == stat)]
    s = pd.Series(rows["value"].to_numpy(dtype=float), index=rows["epoch"].to_numpy())
    keep = np.isfinite(s.to_numpy())
    if log:
        keep &= s.to_numpy() > 0
    s = s[keep]
    return s[~s.index.duplicated(keep="last")].sort_index()


def layer_panels(
    df: pd.DataFrame, stats: Sequence[str], tensor: str = "kernel"
) -> list[LayerPanel]:
    """The panels of one run's ``weights.png`` (stats mean, std) or ``gradients.png`` (mean,
    std, update_ratio), from :func:`read_layer_stats`.

    One line per layer of ``tensor`` in depth order; non-finite values are dropped, and so are
    zeros and negatives on the log panels (std, norm, update_ratio). A stat without any value
    left gets no panel; the update-ratio panel carries the 1e-3 reference.
    """
    rows = df[df["tensor"] == tensor]
    layers = layer_order([rows])
    panels = []
    for stat in stats:
        log = stat in LOG_STATS
        lines = []
        for depth, layer in enumerate(layers):
            s = _series(rows, layer, tensor, stat, log)
            if len(s):
                lines.append(LayerLine(layer, depth, s.index.to_numpy(), s.to_numpy()))
        if lines:
            reference = UPDATE_RATIO_REFERENCE if stat == "update_ratio" else None
            panels.append(LayerPanel(stat, lines, log, len(layers), reference))
    return panels


def read_batches(path: str | Path) -> pd.DataFrame:
    """The rows of a ``batches.csv``: every column a float but ``epoch``, ``batch`` and
    ``step``, ints (rows without them are dropped); a cut last line is dropped. Raises
    ``NnlabError`` when the file is missing, has no complete row or no ``loss``."""
    path = Path(path)
    df = _read_streamed_csv(path, "batch losses")
    _missing_columns(df, path, ("epoch", "loss"))
    for col in df.columns:
        df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    if "step" not in df.columns:
        df["step"] = np.arange(1, len(df) + 1, dtype=float)
    df = df[df["epoch"].notna() & df["step"].notna()].copy()
    for col in ("epoch", "batch", "step"):
        if col in df.columns and df[col].notna().all():
            df[col] = df[col].astype(int)
    return df.reset_index(drop=True)


def batch_metrics(df: pd.DataFrame) -> list[str]:
    """The value columns of a batches table: ``loss`` first, then the others in column order."""
    names = [str(c) for c in df.columns if c not in BATCH_INDEX_COLUMNS]
    return sorted(names, key=lambda n: n != "loss")


def batch_panels(df: pd.DataFrame) -> list[BatchPanel]:
    """One panel per metric of :func:`read_batches` (``loss`` first), with the per-epoch means.

    Non-finite values are dropped; ``log_y`` when the loss is positive and spans more than two
    decades (then zeros and negatives are dropped too). A metric without a value gets no panel.
    """
    steps_all = df["step"].to_numpy(dtype=float)
    epochs_all = df["epoch"].to_numpy(dtype=float)
    sizes_all = df["size"].to_numpy(dtype=float) if "size" in df.columns else None
    panels = []
    for metric in batch_metrics(df):
        values = df[metric].to_numpy(dtype=float)
        keep = np.isfinite(values)
        log_y = metric == "loss" and _spans_decades(values[keep & (values > 0)])
        if log_y:
            keep &= values > 0
        if not keep.any():
            continue
        epochs, epoch_steps, means = [], [], []
        for epoch in np.unique(epochs_all[keep]):
            in_epoch = keep & (epochs_all == epoch)
            weights = None if sizes_all is None else sizes_all[in_epoch]
            if weights is None or not (np.isfinite(weights).all() and (weights > 0).all()):
                weights = None
            means.append(float(np.average(values[in_epoch], weights=weights)))
            epoch_steps.append(float(steps_all[in_epoch].min() + steps_all[in_epoch].max()) / 2)
            epochs.append(int(epoch))
        panels.append(
            BatchPanel(
                metric=metric,
                steps=steps_all[keep],
                values=values[keep],
                epochs=np.array(epochs, dtype=int),
                epoch_steps=np.array(epoch_steps, dtype=float),
                epoch_means=np.array(means, dtype=float),
                log_y=log_y,
            )
        )
    return panels


def steps_per_epoch(df: pd.DataFrame) -> int | None:
    """The number of batches of every epoch, when all complete epochs have the same (the last
    epoch may be cut short by a killed run); None otherwise."""
    counts = df.groupby("epoch")["step"].count().sort_index().to_numpy()
    if counts.size == 0:
        return None
    complete = counts[:-1] if counts.size > 1 else counts
    if (complete == complete[0]).all() and counts[-1] <= complete[0]:
        return int(complete[0])
    return None


# --------------------------------------------------------------------------------------------
# data: comparison of the runs of an experiment
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SeedBand:
    """One layer of one sweep point: the centre over its runs at each epoch and a band.

    On a log stat the centre is the geometric mean over seeds and the band the geometric mean
    times/divided by the geometric std (mean ± 1 std of the log values); on a linear stat the
    arithmetic mean ± 1 std. Only epochs where a run has a usable value are kept; ``n`` counts
    the runs at each; the band is the centre itself where ``n == 1``.
    """

    epochs: np.ndarray
    center: np.ndarray
    low: np.ndarray
    high: np.ndarray
    n: np.ndarray


@dataclass(frozen=True, eq=False)
class GroupLayers:
    """The runs of one sweep point (same swept values, different seeds), per layer."""

    label: str
    values: dict[str, str]
    color: int  # the group's position in the summary, as in plots.group_curves
    run_ids: list[str]  # the runs that have the file, in summary order
    layers: dict[str, SeedBand]  # layer -> band, for the layers these runs have

    @property
    def n_runs(self) -> int:
        return len(self.run_ids)


@dataclass(frozen=True, eq=False)
class LayerComparison:
    """What ``<kind>_<stat>.png`` draws: a panel per layer, a curve per sweep point."""

    kind: str  # "weights" or "gradients"
    stat: str
    tensor: str
    log_y: bool
    layers: list[str]  # depth order over every run
    groups: list[GroupLayers]


def read_captures(
    experiment_dir: str | Path, summary: pd.DataFrame, kind: str
) -> dict[str, pd.DataFrame]:
    """``weights.csv`` or ``gradients.csv`` (``kind`` "weights"/"gradients") of every run of
    ``summary`` that has a readable one; failed runs are not read."""
    if kind not in KIND_FILES:
        raise NnlabError(f"capture kind must be one of {', '.join(KIND_FILES)}, got {kind!r}")
    experiment_dir = Path(experiment_dir)
    if RUN_ID not in summary.columns:
        return {}
    counted = _counted(summary)
    out: dict[str, pd.DataFrame] = {}
    for i, rid in enumerate(_text(r) for r in summary[RUN_ID]):
        path = experiment_dir / rid / KIND_FILES[kind]
        if not counted[i] or not rid or not path.is_file():
            continue
        try:
            out[rid] = read_layer_stats(path)
        except NnlabError:
            continue  # nothing complete yet, or a file we cannot read: nothing to draw
    return out


def _seed_band(series: Sequence[pd.Series], log: bool) -> SeedBand | None:
    series = [s for s in series if len(s)]
    if not series:
        return None
    table = pd.concat(series, axis=1, ignore_index=True).sort_index()
    n = table.notna().sum(axis=1).to_numpy()
    table = table[n > 0]
    n = n[n > 0]
    data = np.log(table) if log else table
    center = data.mean(axis=1).to_numpy(dtype=float)
    spread = data.std(axis=1, ddof=STD_DDOF).to_numpy(dtype=float)
    spread = np.where(n > 1, spread, 0.0)
    low, high = center - spread, center + spread
    if log:
        center, low, high = np.exp(center), np.exp(low), np.exp(high)
    return SeedBand(table.index.to_numpy(), center, low, high, n)


def _group_runs(
    summary: pd.DataFrame, frames: Mapping[str, pd.DataFrame]
) -> list[tuple[int, str, dict[str, str], list[str]]]:
    """(colour, label, swept values, run ids with a frame) of each sweep point, in summary
    order, as plots.group_curves groups them; groups without a frame are left out but keep
    their colour index."""
    short = _short_names(sweep_axes(summary))
    counted = _counted(summary)
    out = []
    for color, (values, rows) in enumerate(_groups(summary)):
        run_ids = [
            rid for i in rows if counted[i] and (rid := _text(summary[RUN_ID].iat[i])) in frames
        ]
        if run_ids:
            out.append((color, _group_label(values, short), values, run_ids))
    return out


def group_layer_curves(
    summary: pd.DataFrame,
    frames: Mapping[str, pd.DataFrame],
    stat: str = "std",
    tensor: str = "kernel",
    kind: str = "gradients",
) -> LayerComparison:
    """``stat`` of ``tensor`` per layer and sweep point, over the repeats of each point.

    ``frames`` maps run ids to their :func:`read_layer_stats` tables (:func:`read_captures`).
    Runs are grouped by their swept values exactly as :func:`nnlab.plots.group_curves` does
    (same labels, same colour index). On a log stat (std, norm, update_ratio) the curve is the
    geometric mean over seeds with a band of ×/÷ one geometric std; on ``mean`` the arithmetic
    mean ± 1 std (see :class:`SeedBand`). Non-finite values, and on a log stat zeros and
    negatives, are left out.
    """
    log = stat in LOG_STATS
    tables = {rid: df[df["tensor"] == tensor] for rid, df in frames.items()}
    groups = []
    for color, label, values, run_ids in _group_runs(summary, tables):
        bands = {}
        for layer in layer_order([tables[rid] for rid in run_ids]):
            band = _seed_band([_series(tables[r], layer, tensor, stat, log) for r in run_ids], log)
            if band is not None:
                bands[layer] = band
        if bands:
            groups.append(GroupLayers(label, values, color, run_ids, bands))
    used = [tables[rid] for g in groups for rid in g.run_ids]
    layers = [la for la in layer_order(used) if any(la in g.layers for g in groups)]
    return LayerComparison(kind, stat, tensor, log, layers, groups)


def layer_stat_table(
    experiment_dir: str | Path,
    summary: pd.DataFrame,
    kind: str = "gradients",
    stat: str = "std",
    epoch: int | Literal["last"] = 1,
    tensor: str = "kernel",
    frames: Mapping[str, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """``stat`` of each layer at ``epoch``, mean over the seeds of each sweep point.

    One row per sweep point (index: its label, as in the plots' legends, named ``group``),
    one column per layer in depth order. ``epoch`` is an epoch number (1, the default: after
    the first epoch; 0: the untrained model) or ``"last"``: the last epoch each run recorded
    (runs stopped early are taken where they stopped). The arithmetic mean over the runs with a
    finite value; NaN where none has one. Sweep points without a file are left out; failed runs
    are not read. ``frames`` (run id -> table) skips reading the files again.
    """
    last = epoch == "last"
    if not last and (isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0):
        raise NnlabError(f"epoch must be a number >= 0 or 'last', got {epoch!r}")
    if frames is None:
        frames = read_captures(experiment_dir, summary, kind)
    tables = {
        rid: df[(df["tensor"] == tensor) & (df["stat"] == stat)] for rid, df in frames.items()
    }
    tables = {rid: df for rid, df in tables.items() if len(df)}
    groups = _group_runs(summary, tables)
    layers = layer_order([tables[rid] for _, _, _, run_ids in groups for rid in run_ids])
    rows: dict[str, dict[str, float]] = {}
    for _, label, _, run_ids in groups:
        cells = {}
        for layer in layers:
            found = []
            for rid in run_ids:
                df = tables[rid]
                at = df["epoch"].max() if last else epoch
                values = df["value"][(df["layer"] == layer) & (df["epoch"] == at)].to_numpy()
                if values.size and math.isfinite(values[-1]):
                    found.append(float(values[-1]))
            cells[layer] = float(np.mean(found)) if found else math.nan
        rows[label] = cells
    table = pd.DataFrame.from_dict(rows, orient="index", columns=layers, dtype=float)
    table.index.name = "group"
    return table


# --------------------------------------------------------------------------------------------
# drawing
# --------------------------------------------------------------------------------------------


def _depth_colors(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps[DEPTH_COLORMAP]
    lo, hi = DEPTH_COLOR_RANGE
    return [cmap(x) for x in np.linspace(lo, hi, max(n, 1))] if n > 1 else [cmap(lo)]


def _epoch_axis(ax: Axes, last_epoch: int) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.set_xlim(0, max(last_epoch, 1))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch", fontsize=10)


def _stat_label(stat: str) -> str:
    return STAT_LABELS.get(stat, stat.replace("_", " "))


def _draw_layer_panels(panels: list[LayerPanel], title: str, subtitle: str, target: Path) -> Path:
    from matplotlib.lines import Line2D

    n = len(panels)
    fig = _new_figure(PANEL_SIZE[0] * n + 0.4, PANEL_SIZE[1] + 1.2)
    axes = fig.subplots(1, n, squeeze=False).ravel()
    colors = _depth_colors(max(p.n_layers for p in panels))
    legend: dict[int, Any] = {}  # depth -> handle
    for ax, panel in zip(axes, panels, strict=True):
        last = 0
        for ln in panel.lines:
            color = colors[ln.depth]
            ax.plot(
                ln.epochs, ln.values, color=color, linewidth=1.7, marker="o", markersize=2.5,
                markevery=max(1, len(ln.epochs) // 25),
            )  # fmt: skip
            legend.setdefault(ln.depth, Line2D([], [], color=color, linewidth=2.5, label=ln.layer))
            last = max(last, int(ln.epochs.max()))
        if panel.reference is not None:
            ax.axhline(panel.reference, color="gray", linestyle="--", linewidth=1.0, alpha=0.7)
            ax.annotate(
                f"{panel.reference:g} rule of thumb", xy=(0.99, panel.reference),
                xycoords=("axes fraction", "data"), ha="right", va="bottom", fontsize=8,
                color="dimgray",
            )  # fmt: skip
            ax.update_datalim([(0, panel.reference)])
            ax.autoscale_view()
        if panel.log_y:
            ax.set_yscale("log")
        elif panel.stat == "mean":
            ax.axhline(0.0, color="gray", linewidth=0.8, alpha=0.5)
        _epoch_axis(ax, last)
        name = _stat_label(panel.stat)
        ax.set_title(name + (" (log scale)" if panel.log_y else ""), fontsize=11)
        ax.set_ylabel(name, fontsize=10)
        ax.tick_params(labelsize=9)
        ax.grid(True, alpha=0.3)
    # one legend for the figure, outside the axes so that it never covers a curve
    handles = [legend[depth] for depth in sorted(legend)]
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncols=min(len(handles), 8),
        fontsize=9,
        frameon=False,
        title="layer (first to output)",
        title_fontsize=9,
    )
    fig.suptitle(f"{title}\n{subtitle}", fontsize=12)
    return _save(fig, target)


def _draw_batches(
    panels: list[BatchPanel], per_epoch: int | None, title: str, target: Path
) -> Path:
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    n = len(panels)
    fig = _new_figure(6.4 * n + 0.4, PANEL_SIZE[1] + 1.0)
    axes = fig.subplots(1, n, squeeze=False).ravel()
    for ax, panel, color in zip(
        axes, panels, ("tab:blue", "tab:green", "tab:purple") * n, strict=False
    ):
        many = panel.steps.size > 2000
        ax.plot(
            panel.steps, panel.values, color=color, alpha=0.35 if many else 0.5,
            linewidth=0.5 if many else 0.8,
        )  # fmt: skip
        ax.plot(
            panel.epoch_steps, panel.epoch_means, color=color, linewidth=2.2, marker="o",
            markersize=3.5, markeredgecolor="black", markeredgewidth=0.4,
        )  # fmt: skip
        if panel.log_y:
            ax.set_yscale("log")
        ax.set_xlim(0, max(float(panel.steps.max()), 1.0))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("step (batch)", fontsize=10)
        name = panel.metric.replace("_", " ")
        ax.set_ylabel(name, fontsize=10)
        ax.set_title(name + (" (log scale)" if panel.log_y else ""), fontsize=11)
        ax.tick_params(labelsize=9)
        ax.grid(True, alpha=0.3)
        if per_epoch:
            top = ax.secondary_xaxis(
                "top", functions=(lambda s, k=per_epoch: s / k, lambda e, k=per_epoch: e * k)
            )
            top.xaxis.set_major_locator(MaxNLocator(integer=True))
            top.set_xlabel("end of epoch", fontsize=9, color="dimgray")
            top.tick_params(labelsize=8, colors="dimgray")
    handles = [
        Line2D([], [], color="dimgray", alpha=0.5, linewidth=0.8, label="each batch"),
        Line2D([], [], color="dimgray", linewidth=2.2, marker="o", markersize=3.5,
               label="epoch mean (weighted by batch size)"),
    ]  # fmt: skip
    fig.legend(handles=handles, loc="outside lower center", ncols=2, fontsize=9, frameon=False)
    fig.suptitle(f"{title}\nloss and metrics of every training batch", fontsize=12)
    return _save(fig, target)


def plot_run_dynamics(run_dir: str | Path) -> list[Path]:
    """Draw the captured training dynamics of one run; returns the PNGs written.

    Under ``<run_dir>/plots/``, each only when its file exists and has a usable row:

    * ``weights.png`` from ``weights.csv``: mean and std (log axis) of every kernel per layer
      against epoch, a colour per layer from the first (dark) to the output (light);
    * ``gradients.png`` from ``gradients.csv``: the same for the kernel gradients, plus the
      update ratio (lr·|g|/|w|, log axis) with the 1e-3 rule of thumb;
    * ``batches.png`` from ``batches.csv``: the loss (and each metric) of every batch against
      the global step, with the mean of each epoch over it.

    A file that is unreadable or has nothing finite draws nothing. Called by
    :func:`nnlab.plots.plot_run`.
    """
    run_dir = Path(run_dir)
    out = run_dir / store.PLOTS_DIR
    written: list[Path] = []
    figures = (
        (WEIGHTS_FILE, WEIGHTS_PLOT, WEIGHT_STATS, "weights of each layer's kernel"),
        (GRADIENTS_FILE, GRADIENTS_PLOT, GRADIENT_STATS, "gradient of the loss for each kernel"),
    )
    title: str | None = None
    for file, plot, stats, subtitle in figures:
        if not (run_dir / file).is_file():
            continue
        try:
            panels = layer_panels(read_layer_stats(run_dir / file), stats)
        except NnlabError:
            continue
        if panels:
            title = title or _run_title(run_dir, store.read_json(run_dir / store.RESULT_FILE))
            written.append(_draw_layer_panels(panels, title, subtitle, out / plot))
    if (run_dir / BATCHES_FILE).is_file():
        try:
            batches = read_batches(run_dir / BATCHES_FILE)
        except NnlabError:
            batches = None
        panels_b = batch_panels(batches) if batches is not None and len(batches) else []
        if panels_b:
            title = title or _run_title(run_dir, store.read_json(run_dir / store.RESULT_FILE))
            per_epoch = steps_per_epoch(batches) if batches is not None else None
            written.append(_draw_batches(panels_b, per_epoch, title, out / BATCHES_PLOT))
    return written


def _draw_layer_comparison(data: LayerComparison, title: str, target: Path) -> Path:
    from matplotlib.lines import Line2D

    n = len(data.layers)
    ncols = min(n, MAX_LAYER_PANELS_PER_ROW)
    nrows = math.ceil(n / ncols)
    many = len(data.groups) > LEGEND_BELOW_MAX
    legend_rows = 0 if many else math.ceil(len(data.groups) / 3)
    width = LAYER_PANEL_SIZE[0] * ncols + (2.6 if many else 0.4)
    height = LAYER_PANEL_SIZE[1] * nrows + 1.0 + 0.25 * legend_rows
    fig = _new_figure(max(width, 6.4), height)
    # a shared y axis on a log stat lets the eye compare the layers: that is the lesson
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=data.log_y).ravel()
    counts = {g.n_runs for g in data.groups}
    repeats = max(counts) > 1
    for ax, layer in zip(axes, data.layers, strict=False):
        last = 0
        for g in data.groups:
            band = g.layers.get(layer)
            if band is None:
                continue
            color = _color(g.color)
            marker = GROUP_MARKERS[(g.color // GROUP_COLORS) % len(GROUP_MARKERS)]
            if (band.n > 1).any():
                ax.fill_between(band.epochs, band.low, band.high, color=color, alpha=0.18,
                                linewidth=0)  # fmt: skip
            ax.plot(
                band.epochs, band.center, color=color, linewidth=1.6, marker=marker,
                markersize=3.5, markevery=max(1, len(band.epochs) // 8),
            )  # fmt: skip
            last = max(last, int(band.epochs.max()))
        if data.log_y:
            ax.set_yscale("log")
        elif data.stat == "mean":
            ax.axhline(0.0, color="gray", linewidth=0.8, alpha=0.5)
        _epoch_axis(ax, last)
        ax.set_title(layer, fontsize=10)
        ax.tick_params(labelsize=8)
        ax.grid(True, alpha=0.3)
    for ax in axes[n:]:
        ax.set_visible(False)
    what = "gradient" if data.kind == "gradients" else "weight"
    for row in range(nrows):
        axes[row * ncols].set_ylabel(f"{what} {_stat_label(data.stat)}", fontsize=10)
    same_n = len(counts) == 1
    handles = []
    for g in data.groups:
        marker = GROUP_MARKERS[(g.color // GROUP_COLORS) % len(GROUP_MARKERS)]
        label = g.label + (f" (n={g.n_runs})" if repeats and not same_n else "")
        handles.append(Line2D([], [], color=_color(g.color), linewidth=2.5, marker=marker,
                              label=label))  # fmt: skip
    if many:
        fig.legend(handles=handles, loc="outside right upper", fontsize=9, frameon=False)
    else:
        fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 3),
                   fontsize=9, frameon=False)  # fmt: skip
    subtitle = f"{what} {_stat_label(data.stat)} of each layer's {data.tensor}, one panel a layer"
    if repeats:
        seeds = f"{min(counts)} seeds" if same_n else "seeds (n in the legend)"
        if data.log_y:
            subtitle += f"\nline = geometric mean over {seeds}, band = ×/÷ 1 geometric std"
        else:
            subtitle += f"\nline = mean over {seeds}, band = ± 1 std"
    fig.suptitle(f"{title}: {subtitle}", fontsize=11)
    return _save(fig, target)


def plot_experiment_dynamics(experiment_dir: str | Path, summary: pd.DataFrame) -> list[Path]:
    """The per-layer comparison plots of an experiment, under ``<experiment>/plots/``.

    ``gradients_std.png``, ``weights_std.png`` and ``gradients_mean.png``, each when a run of
    ``summary`` captured the file: a panel per layer (depth order, up to six a row), the stat
    of its kernel against epoch, a colour per sweep point (as in ``curves_*.png``), the
    geometric mean over seeds with a ×/÷ 1 geometric std band on the log std panels, the mean
    ± 1 std on the mean panels (see :func:`group_layer_curves`). Failed runs and runs without
    the file are left out. Called by :func:`nnlab.plots.plot_experiment`; returns the PNGs.
    """
    experiment_dir = Path(experiment_dir)
    if summary.empty or RUN_ID not in summary.columns:
        return []
    title = experiment_dir.resolve().name
    out = experiment_dir / store.PLOTS_DIR
    written: list[Path] = []
    frames: dict[str, dict[str, pd.DataFrame]] = {}
    for kind, stat in EXPERIMENT_STATS:
        if kind not in frames:
            frames[kind] = read_captures(experiment_dir, summary, kind)
        if not frames[kind]:
            continue
        data = group_layer_curves(summary, frames[kind], stat, kind=kind)
        if data.groups and data.layers:
            written.append(_draw_layer_comparison(data, title, out / f"{kind}_{stat}.png"))
    return written
