"""The training dynamics a run captured (``train.capture``) as plot data: per-layer weight and
gradient statistics, and the loss of every batch, as small dataclasses of numpy arrays (or a
table for the report), tested as numbers.

The files, written by ``capture`` next to ``history.csv``:

* ``weights.csv``, ``gradients.csv``: long tables ``epoch,layer,tensor,stat,value``; epoch 0 is
  the untrained model, layers come in model order (the order of their first row is the depth
  order); gradients are of the kernels only and add the stat ``update_ratio``;
* ``batches.csv``: ``epoch,batch,step,size,loss[,<metric>...]``, one row per training batch.

One run: :func:`read_layer_stats`, :func:`layer_panels`, :func:`read_batches`,
:func:`batch_panels`; an experiment: :func:`read_captures`, :func:`group_layer_curves` and
:func:`layer_stat_table` (runs grouped by :func:`nnlab.results.groups`, as every comparison).
The drawing is :mod:`nnlab.plots.draw_dynamics`.

Every file may be cut mid-write (a killed run) and may hold NaN or inf (a diverged run): the cut
last line is dropped, non-finite values are left out of what is drawn and averaged, and log axes
leave out zeros and negatives. Imports numpy and pandas, never matplotlib.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from nnlab import results
from nnlab.errors import NnlabError
from nnlab.plots.comparison import ShownGroups
from nnlab.plots.curves import spans_decades
from nnlab.results import STD_DDOF, read_streamed_csv
from nnlab.store import GRADIENTS_FILE, LONG_COLUMNS, WEIGHTS_FILE

KIND_FILES = {"weights": WEIGHTS_FILE, "gradients": GRADIENTS_FILE}
BATCH_INDEX_COLUMNS = ("epoch", "batch", "step", "size")

# the panels of a run's weights.png and gradients.png
WEIGHT_STATS = ("mean", "std")
GRADIENT_STATS = ("mean", "std", "update_ratio")
# stats drawn on a log y axis: magnitudes, which shrink or grow by decades from layer to layer
LOG_STATS = frozenset({"std", "norm", "update_ratio"})
# the rule of thumb for learning_rate * |grad| / |weights|: about 1e-3 per step
UPDATE_RATIO_REFERENCE = 1e-3

# an experiment's per-layer comparisons, ``<kind>_<stat>.png``, in the order they are drawn
EXPERIMENT_STATS = (("gradients", "std"), ("weights", "std"), ("gradients", "mean"))


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
    df = read_streamed_csv(path, "statistics")
    _missing_columns(df, path, LONG_COLUMNS)
    df = df[list(LONG_COLUMNS)].copy()
    df["epoch"] = pd.to_numeric(df["epoch"], errors="coerce")
    df["value"] = pd.to_numeric(df["value"], errors="coerce").astype(float)
    for col in ("layer", "tensor", "stat"):
        df[col] = df[col].map(results.text)
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
    df = read_streamed_csv(path, "batch losses")
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
        log_y = metric == "loss" and spans_decades(values[keep & (values > 0)])
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
    color: int  # the group's position in the summary, as in comparison.group_curves
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
    return results.run_files(experiment_dir, summary, KIND_FILES[kind], read_layer_stats)


def _seed_band(series: Sequence[pd.Series], log: bool) -> SeedBand | None:
    series = [s for s in series if len(s)]
    if not series:
        return None
    table, n = results.by_epoch(series)
    data = np.log(table) if log else table
    center = data.mean(axis=1).to_numpy(dtype=float)
    spread = data.std(axis=1, ddof=STD_DDOF).to_numpy(dtype=float)
    spread = np.where(n > 1, spread, 0.0)
    low, high = center - spread, center + spread
    if log:
        center, low, high = np.exp(center), np.exp(low), np.exp(high)
    return SeedBand(table.index.to_numpy(), center, low, high, n)


def _group_runs(
    summary: pd.DataFrame, frames: Mapping[str, pd.DataFrame], shown: ShownGroups | None
) -> list[tuple[int, str, dict[str, str], list[str]]]:
    """(colour, label, swept values, run ids with a frame) of each sweep point
    (:func:`nnlab.results.groups`), in summary order, as ``comparison.group_curves`` groups
    them; groups without a frame are left out but keep their colour index. With ``shown``
    limited (many settings), only its groups, coloured and labelled as the curves show them."""
    if shown is not None and shown.limited:
        chosen = [(k, shown.label(k), g) for k, g in enumerate(shown.groups)]
    else:
        chosen = [(g.index, g.label, g) for g in results.groups(summary)]
    out = []
    for color, label, group in chosen:
        run_ids = results.counted_run_ids(summary, group, frames)
        if run_ids:
            out.append((color, label, group.values, run_ids))
    return out


def group_layer_curves(
    summary: pd.DataFrame,
    frames: Mapping[str, pd.DataFrame],
    stat: str = "std",
    tensor: str = "kernel",
    kind: str = "gradients",
    shown: ShownGroups | None = None,
) -> LayerComparison:
    """``stat`` of ``tensor`` per layer and sweep point, over the repeats of each point
    (only the points of ``shown``, when the curves show a selection of many).

    ``frames`` maps run ids to their :func:`read_layer_stats` tables (:func:`read_captures`).
    Runs are grouped by their swept values exactly as :func:`nnlab.plots.comparison.group_curves`
    (same labels, same colour index). On a log stat (std, norm, update_ratio) the curve is the
    geometric mean over seeds with a band of ×/÷ one geometric std; on ``mean`` the arithmetic
    mean ± 1 std (see :class:`SeedBand`). Non-finite values, and on a log stat zeros and
    negatives, are left out.
    """
    log = stat in LOG_STATS
    tables = {rid: df[df["tensor"] == tensor] for rid, df in frames.items()}
    groups = []
    for color, label, values, run_ids in _group_runs(summary, tables, shown):
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
    groups = _group_runs(summary, tables, None)
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
