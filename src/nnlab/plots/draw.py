"""The matplotlib layer of the plots: the figure helpers and group colours every ``draw*``
module shares, and one run's figures, drawn from the data of :mod:`nnlab.plots.curves` (the
comparison figures of an experiment are in :mod:`nnlab.plots.draw_comparison`, the dynamics
figures in :mod:`nnlab.plots.draw_dynamics`), each ``draw_*`` function writing one PNG.

matplotlib is imported inside the functions only, so that ``import nnlab.plots`` and
``nnlab plot`` start fast. Figures are built with ``matplotlib.figure.Figure`` rather than
pyplot: no global figure registry to leak into, and no switching of the backend of a process
(a notebook) that calls us. Each figure is written atomically (``store.atomic_path``).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nnlab import store
from nnlab.plots.curves import TRAIN, VALIDATION

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from nnlab.plots.curves import BoundaryData, Panel

# one colour per split, the same in every panel
SPLIT_COLORS = {TRAIN: "tab:blue", VALIDATION: "tab:orange"}
LEARNING_RATE_COLOR = "tab:green"

DPI = 110
PANEL_SIZE = (4.6, 3.6)  # inches per subplot
MAX_PANELS_PER_ROW = 4
# comparison plots: tab10 colours, then again with a marker; legend to the right past this many
GROUP_COLORS = 10
GROUP_MARKERS = (None, "o", "s", "^", "D", "v")
LEGEND_BELOW_MAX = 6
MAX_VALUE_TICKS = 8  # a tick per swept value up to this many; past it matplotlib's own ticks
MIN_TICK_GAP = 0.08  # of the axis span, between two value ticks


# --------------------------------------------------------------------------------------------
# shared by every figure
# --------------------------------------------------------------------------------------------


def new_figure(width: float, height: float) -> Figure:
    """A figure of ``width`` x ``height`` inches at ``DPI``, laid out by matplotlib."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    return fig


# while not None (``kept_figures``), figures are kept here by name instead of written
KEPT: dict[str, Figure] | None = None


@contextlib.contextmanager
def kept_figures() -> Iterator[dict[str, Figure]]:
    """Within the block, :func:`save` writes nothing and keeps each figure by its file's stem
    (``curves_val_loss``): the Python API returns them."""
    global KEPT
    KEPT = kept = {}
    try:
        yield kept
    finally:
        KEPT = None


def save(fig: Figure, target: Path) -> Path:
    """Write ``fig`` to ``target`` atomically (its format from the suffix) and free it."""
    if KEPT is not None:
        KEPT[target.stem] = fig
        return target
    with store.atomic_path(target) as tmp:
        fig.savefig(tmp, dpi=DPI, format=target.suffix.lstrip(".") or "png")
    fig.clear()
    return target


def finite_or_nan(values: np.ndarray) -> np.ndarray:
    """``values`` with +-inf as NaN: matplotlib breaks a line at NaN but lets +-inf wreck the
    autoscaled limits."""
    return np.where(np.isfinite(values), values, np.nan)


def group_color(index: int) -> Any:
    """The colour of the sweep point at ``index``: tab10, again past ten groups."""
    from matplotlib import colormaps

    return colormaps["tab10"](index % GROUP_COLORS)


def group_marker(index: int) -> str | None:
    """The marker of the sweep point at ``index``: none for the first ten groups, then one per
    round of the ten colours (solid and dashed already mean train and validation)."""
    return GROUP_MARKERS[(index // GROUP_COLORS) % len(GROUP_MARKERS)]


# --------------------------------------------------------------------------------------------
# one run
# --------------------------------------------------------------------------------------------


def _format_value(value: float) -> str:
    return f"{value:.4g}"


def _draw_panel(ax: Axes, panel: Panel, diverged_epoch: int | None) -> None:
    from matplotlib.ticker import MaxNLocator

    last_epoch = 0
    for ln in panel.lines:
        color = LEARNING_RATE_COLOR if panel.metric == "learning_rate" else SPLIT_COLORS[ln.split]
        ax.plot(
            ln.epochs,
            finite_or_nan(ln.values),
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


def draw_learning_curves(
    panels: list[Panel], title: str, diverged_epoch: int | None, target: Path
) -> Path:
    """``learning_curves.png``: the panels of :func:`nnlab.plots.curves.curve_panels`, up to
    four a row, the best validation epoch starred and a dotted line where the run diverged."""
    n = max(len(panels), 1)
    ncols = min(n, MAX_PANELS_PER_ROW)
    nrows = math.ceil(n / ncols)
    fig = new_figure(PANEL_SIZE[0] * ncols, PANEL_SIZE[1] * nrows + 0.6)
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
    return save(fig, target)


def draw_boundary(data: BoundaryData, title: str, target: Path) -> Path:
    """``decision_boundary.png``: the predicted probability (binary) or class over the lattice,
    the training points as dots and the validation points as crosses, coloured by class."""
    from matplotlib import colormaps
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.lines import Line2D

    fig = new_figure(6.4, 5.4)
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
    return save(fig, target)


# --------------------------------------------------------------------------------------------
# comparison of the runs of an experiment
# --------------------------------------------------------------------------------------------


def ticks_fit(x: np.ndarray, log: bool) -> bool:
    """Whether a tick at each value leaves room for its label: no two values closer than
    ``MIN_TICK_GAP`` of the axis span (random-search values often are; they get the ordinary
    ticks instead)."""
    pos = np.unique(np.log10(x[x > 0]) if log else x)
    if pos.size < 2:
        return True
    return bool(np.diff(pos).min() >= MIN_TICK_GAP * (pos[-1] - pos[0]))
