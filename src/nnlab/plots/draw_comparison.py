"""The comparison figures of an experiment, drawn from the data of
:mod:`nnlab.plots.comparison`: the learning curves of each sweep point (``curves_*.png``), a
summary column against a swept value (``<column>_vs_<axis>.png``) and over two swept axes
(``heatmap_<column>.png``), each ``draw_*`` function writing one PNG.

They stay readable for sweeps of thousands of runs: the curves draw the groups they are given
(:func:`nnlab.plots.comparison.shown_groups` picks the best and worst of many) and say so; a
value series of many points draws small, translucent markers; a heat map with many values per
axis drops the text in its cells and thins its ticks. Below those sizes a figure is drawn as it
always was. Shares the figure helpers and group colours of :mod:`nnlab.plots.draw`; matplotlib
is imported inside the functions only.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nnlab.names import is_maximized
from nnlab.plots.curves import NO_VALIDATION
from nnlab.plots.draw import (
    LEGEND_BELOW_MAX,
    MAX_VALUE_TICKS,
    finite_or_nan,
    group_color,
    group_marker,
    new_figure,
    save,
    ticks_fit,
)
from nnlab.results import display_value

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from nnlab.plots.comparison import GroupCurve, HeatmapData, MeanCurve, ValueSeries

# a value series past this many points (runs, or values) draws small, translucent markers
# without the error bars' caps, and no trend line through the means (a random search's
# thousands of values would draw a zigzag)
MANY_POINTS = 300
# past this many values (but not MANY_POINTS), the means get smaller markers without caps
MANY_VALUES = 30
MANY_RUN_MARKER = (5.0, 0.25)  # scatter size (points²) and alpha of each run's point
MANY_MEAN_MARKER = (3.0, 0.5)  # marker size (points) and alpha of each value's mean
# a heat map past this many values on an axis has no text in its cells and at most this many
# tick labels on each axis; its cells are then HEATMAP_CELL_MANY inches, the figure at least
# HEATMAP_MIN_INCHES and at most HEATMAP_MAX_INCHES (width, height)
HEATMAP_TEXT_MAX = 30
HEATMAP_CELL_MANY = 0.1
HEATMAP_MIN_INCHES = (6.0, 4.8)
HEATMAP_MAX_INCHES = (12.0, 10.0)


def _column_label(column: str) -> str:
    """``best_val_accuracy`` -> ``best val_accuracy``."""
    kind, _, metric = column.partition("_")
    return f"{kind} {metric}" if kind in ("best", "final") and metric else column


def _draw_band(ax: Axes, curve: MeanCurve, color: Any, alpha: float, log_y: bool) -> bool:
    """Draw ``curve``'s band; whether a lower edge was mirrored (:meth:`MeanCurve.band`)."""
    if not (curve.n > 1).any():
        return False
    lower, upper, mirrored = curve.band(log_y)
    ax.fill_between(
        curve.epochs,
        finite_or_nan(lower),
        finite_or_nan(upper),
        color=color,
        alpha=alpha,
        linewidth=0,
    )
    return mirrored


def draw_group_curves(
    groups: list[GroupCurve],
    metric: str,
    log_y: bool,
    title: str,
    target: Path,
    note: str | None = None,
) -> Path:
    """``curves_<metric>.png``: a colour per sweep point, train solid and validation dashed,
    the mean over repeats with a band of ± 1 std (:func:`nnlab.plots.comparison.group_curves`).
    ``note`` is a second line under the subtitle: which groups are shown, when not all are
    (:meth:`nnlab.plots.comparison.ShownGroups.note`)."""
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    many = len(groups) > LEGEND_BELOW_MAX
    fig = new_figure(9.8 if many else 7.6, 5.2 + 0.22 * min(len(groups), 6) * (not many))
    ax = fig.subplots()
    last_epoch = 0
    counts = {g.n_runs for g in groups}
    repeats = max(counts) > 1
    same_n = len(counts) == 1
    legend = []
    mirrored = False
    for g in groups:
        color = group_color(g.color)
        # past ten groups the colours repeat: a marker tells the second round apart
        marker = group_marker(g.color)
        for curve, style, alpha, width in (
            (g.train, "solid", 0.12, 1.4),
            (g.validation, "dashed", 0.2, 1.9),
        ):
            if curve is None:
                continue
            if g.n_runs > 1:
                mirrored |= _draw_band(ax, curve, color, alpha, log_y)
            ax.plot(
                curve.epochs,
                finite_or_nan(curve.mean),
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
        # a selection's labels (rank, values, score) are long: centred, clear of the title
        where = "outside right center" if note else "outside right upper"
        fig.legend(handles=legend, loc=where, fontsize=9, frameon=False)
    else:
        longest = max(len(h.get_label()) for h in legend)
        ncols = max(1, min(len(legend), 4 if longest <= 22 else 2))
        fig.legend(
            handles=legend, loc="outside lower center", ncols=ncols, fontsize=9, frameon=False
        )
    subtitle = "train solid, validation dashed"
    if not any(g.validation is not None for g in groups):
        subtitle = f"train only: {NO_VALIDATION}"
    if repeats:
        seeds = f"{min(counts)} seeds" if same_n else "seeds (n in the legend)"
        subtitle += f"; line = mean over {seeds}, band = ± 1 std"
        if mirrored:
            subtitle += "\nthe band's lower edge is mean² / (mean + std) where mean - std ≤ 0"
    if note:
        subtitle += f"\n{note}"
    fig.suptitle(f"{title}: {metric.replace('_', ' ')}", fontsize=12)
    ax.set_title(subtitle, fontsize=9, color="dimgray")
    return save(fig, target)


def draw_value_series(
    best: ValueSeries, final: ValueSeries | None, name: str, title: str, target: Path
) -> Path:
    """``<column>_vs_<name>.png``: every run and the mean ± std per value of ``best``, and of
    ``final`` beside it in a lighter colour (:func:`nnlab.plots.comparison.metric_vs_value`)."""
    from matplotlib.transforms import offset_copy

    width = 6.8 if best.numeric else min(max(6.4, 0.9 * len(best.labels) + 3.0), 12.0)
    fig = new_figure(width, 4.8)
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
            size, alpha = MANY_RUN_MARKER if s.run_x.size > MANY_POINTS else (18, 0.6)
            ax.scatter(
                s.run_x, s.run_y, s=size, color=color, alpha=alpha, zorder=2, edgecolors="none",
                transform=shifted(dx_runs), label=f"{label}, each run",
            )  # fmt: skip
        has = s.n > 0
        mean_label = f"{label}, mean ± std" if repeats else label
        many = int(has.sum()) > MANY_POINTS
        if many:  # small translucent means; a bar only where a value has repeats
            size, alpha = MANY_MEAN_MARKER
            spread = has & (s.n > 1)
            ax.errorbar(
                s.x[spread], s.mean[spread], yerr=s.std[spread], fmt="none", ecolor=color,
                elinewidth=0.8, alpha=alpha, zorder=3, transform=shifted(dx_mean),
            )  # fmt: skip
            ax.plot(
                s.x[has], s.mean[has], linestyle="none", marker=marker, markersize=size,
                color=color, alpha=alpha, markeredgewidth=0.6, zorder=3,
                markerfacecolor=color if filled else "white", transform=shifted(dx_mean),
                label=mean_label,
            )  # fmt: skip
        else:
            size, caps, edge = (4, 0, 1.0) if int(has.sum()) > MANY_VALUES else (7, 4, 1.5)
            ax.errorbar(
                s.x[has], s.mean[has], yerr=s.std[has], color=color, marker=marker,
                markersize=size, capsize=caps, linewidth=1.6, zorder=3,
                markerfacecolor=color if filled else "white", markeredgewidth=edge,
                linestyle="none", transform=shifted(dx_mean), label=mean_label,
            )  # fmt: skip
        if s.numeric and not many:  # a trend only means something along numbers
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
    if best.numeric and best.x.size <= MAX_VALUE_TICKS and ticks_fit(best.x, best.log_x):
        ax.set_xticks(best.x, [display_value(t) for t in best.labels])
        if best.log_x:
            ax.minorticks_off()
    elif not best.numeric:
        ax.set_xticks(best.x, [display_value(t) or "(none)" for t in best.labels])
        if max((len(t) for t in best.labels), default=0) > 8:
            ax.tick_params(axis="x", labelrotation=25)
        ax.set_xlim(-0.6, len(best.labels) - 0.4)
    ax.set_xlabel(best.axis, fontsize=10)
    ax.set_ylabel(_column_label(best.column), fontsize=10)
    ax.tick_params(labelsize=9)
    ax.grid(True, alpha=0.3)
    fig.legend(loc="outside lower center", ncols=2, fontsize=9, frameon=False)
    fig.suptitle(f"{title}: {_column_label(best.column)} against {name}", fontsize=12)
    return save(fig, target)


def _heatmap_ticks(count: int) -> list[int]:
    """Every position up to ``HEATMAP_TEXT_MAX`` values; past it every k-th, so that at most
    ``HEATMAP_TEXT_MAX`` labels are written."""
    step = 1 if count <= HEATMAP_TEXT_MAX else -(-count // HEATMAP_TEXT_MAX)
    return list(range(0, count, step))


def draw_heatmap(data: HeatmapData, title: str, target: Path) -> Path:
    """``heatmap_<column>.png``: the mean of each pair of values of two swept axes, bright where
    better (:func:`nnlab.plots.comparison.heatmap_data`). Each cell shows its value (and n)
    up to ``HEATMAP_TEXT_MAX`` values per axis; past it the colours alone."""
    from matplotlib import colormaps

    rows, cols = data.values.shape
    texts = max(rows, cols) <= HEATMAP_TEXT_MAX
    width, height = max(5.0, 1.25 * cols + 3.2), max(3.6, 0.75 * rows + 2.4)
    if not texts:  # colours alone: small cells
        (min_w, min_h), (max_w, max_h) = HEATMAP_MIN_INCHES, HEATMAP_MAX_INCHES
        width = min(max(min_w, HEATMAP_CELL_MANY * cols + 3.2), max_w)
        height = min(max(min_h, HEATMAP_CELL_MANY * rows + 2.4), max_h)
    fig = new_figure(width, height)
    ax = fig.subplots()
    # bright is better whether the column is maximised (accuracy) or minimised (loss)
    metric = data.column.partition("_")[2] or data.column
    maximized = is_maximized(metric)
    cmap = colormaps["viridis" if maximized else "viridis_r"].with_extremes(bad="#e6e6e6")
    masked = np.ma.masked_invalid(data.values)
    image = ax.imshow(masked, cmap=cmap, aspect="auto")
    finite = data.values[np.isfinite(data.values)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    for i in range(rows if texts else 0):
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
    col_ticks, row_ticks = _heatmap_ticks(cols), _heatmap_ticks(rows)
    ax.set_xticks(col_ticks, [display_value(data.col_labels[j]) for j in col_ticks])
    ax.set_yticks(row_ticks, [display_value(data.row_labels[i]) for i in row_ticks])
    ax.set_xlabel(data.col_axis, fontsize=10)
    ax.set_ylabel(data.row_axis, fontsize=10)
    ax.tick_params(labelsize=9, length=0)
    if cols > HEATMAP_TEXT_MAX:
        ax.tick_params(axis="x", labelrotation=90)
    bar = fig.colorbar(image, ax=ax, shrink=0.9)
    bar.set_label(_column_label(data.column) + " (mean over seeds)", fontsize=9)
    fig.suptitle(f"{title}: {_column_label(data.column)}", fontsize=12)
    return save(fig, target)
