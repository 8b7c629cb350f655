"""The matplotlib figures of the captured training dynamics, drawn from the data of
:mod:`nnlab.plots.dynamics`: a run's ``weights.png``, ``gradients.png`` (a panel per stat, a
line per layer) and ``batches.png``, and an experiment's per-layer comparisons
(``gradients_std.png``...: a panel per layer, a curve per sweep point).

Shares the figure helpers and group colours of :mod:`nnlab.plots.draw`; matplotlib is imported
inside the functions only.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nnlab.plots.draw import (
    LEGEND_BELOW_MAX,
    PANEL_SIZE,
    group_color,
    group_marker,
    new_figure,
    save,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from nnlab.plots.dynamics import BatchPanel, LayerComparison, LayerPanel
    from nnlab.plots.parameters import Trajectory

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
# the per-layer comparison of an experiment: one panel per layer
LAYER_PANEL_SIZE = (3.3, 2.8)
MAX_LAYER_PANELS_PER_ROW = 6


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


def draw_layer_panels(panels: list[LayerPanel], title: str, subtitle: str, target: Path) -> Path:
    """``weights.png`` or ``gradients.png``: a panel per stat
    (:func:`nnlab.plots.dynamics.layer_panels`), a line per layer coloured by depth."""
    from matplotlib.lines import Line2D

    n = len(panels)
    fig = new_figure(PANEL_SIZE[0] * n + 0.4, PANEL_SIZE[1] + 1.2)
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
    return save(fig, target)


def draw_batches(panels: list[BatchPanel], per_epoch: int | None, title: str, target: Path) -> Path:
    """``batches.png``: every batch's value against the step and each epoch's mean over it
    (:func:`nnlab.plots.dynamics.batch_panels`); epochs on the top axis when ``per_epoch``."""
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    n = len(panels)
    fig = new_figure(6.4 * n + 0.4, PANEL_SIZE[1] + 1.0)
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
    return save(fig, target)


def draw_layer_comparison(data: LayerComparison, title: str, target: Path) -> Path:
    """``<kind>_<stat>.png``: a panel per layer, a curve per sweep point with its seed band
    (:func:`nnlab.plots.dynamics.group_layer_curves`)."""
    from matplotlib.lines import Line2D

    n = len(data.layers)
    ncols = min(n, MAX_LAYER_PANELS_PER_ROW)
    nrows = math.ceil(n / ncols)
    many = len(data.groups) > LEGEND_BELOW_MAX
    legend_rows = 0 if many else math.ceil(len(data.groups) / 3)
    width = LAYER_PANEL_SIZE[0] * ncols + (2.6 if many else 0.4)
    height = LAYER_PANEL_SIZE[1] * nrows + 1.0 + 0.25 * legend_rows
    fig = new_figure(max(width, 6.4), height)
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
            color = group_color(g.color)
            marker = group_marker(g.color)
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
            _symlog_when_wide(ax, np.concatenate([g.layers[layer].center for g in data.groups
                                                  if layer in g.layers]))  # fmt: skip
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
        marker = group_marker(g.color)
        label = g.label + (f" (n={g.n_runs})" if repeats and not same_n else "")
        handles.append(Line2D([], [], color=group_color(g.color), linewidth=2.5, marker=marker,
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
    return save(fig, target)


def draw_parameters(
    paths: list[Trajectory], loss_epochs: np.ndarray, loss: np.ndarray, title: str, target: Path
) -> Path:
    """``parameters.png``: each single-number weight against epoch (one gradient step per
    epoch with ``batch_size: full``) and, beside it, the training loss (log scale when it
    spans decades) (:func:`nnlab.plots.parameters.trajectories`)."""
    from nnlab.plots.curves import spans_decades

    fig = new_figure(2 * PANEL_SIZE[0] + 0.6, PANEL_SIZE[1] + 1.0)
    left, right = fig.subplots(1, 2)
    for i, path in enumerate(paths):
        left.plot(path.epochs, path.values, color=group_color(i), linewidth=1.6, marker="o",
                  markersize=3, label=path.name)  # fmt: skip
    _symlog_when_wide(left, np.concatenate([p.values for p in paths]))
    left.set_ylabel("value", fontsize=10)
    left.set_title("each weight after each epoch", fontsize=11)
    left.legend(fontsize=9, frameon=False)
    right.plot(loss_epochs, loss, color="dimgray", linewidth=1.6, marker="o", markersize=3)
    if spans_decades(loss):
        right.set_yscale("log")
    right.set_ylabel("loss", fontsize=10)
    right.set_title("training loss", fontsize=11)
    last = int(max(loss_epochs.max(initial=0), *(p.epochs.max(initial=0) for p in paths)))
    for ax in (left, right):
        _epoch_axis(ax, last)
        ax.tick_params(labelsize=9)
        ax.grid(True, alpha=0.3)
    fig.suptitle(f"{title}\nthe model's weights and loss per epoch", fontsize=12)
    return save(fig, target)


def _symlog_when_wide(ax: Axes, values: np.ndarray) -> None:
    """A symmetric log axis (linear within ±10) when values run far beyond that, so that a
    diverging weight does not flatten the others."""
    finite = values[np.isfinite(values)]
    if finite.size and np.abs(finite).max() > 50:
        ax.set_yscale("symlog", linthresh=10)
