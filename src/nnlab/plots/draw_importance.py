"""``importance.png``: the parameter importance of a sweep (:mod:`nnlab.plots.importance`) as
two panels that share the axes' rows, most important at the top: the importance (each axis'
share of the drops of a cross-validated forest's held-out R² when the axis is shuffled, ± the
drop's std over folds and shuffles on the same scale; gray, marked "no clear effect", for an
axis under the noise floor) and the correlation of the axis' value with the target, green
where larger values did better, red where they did worse, gray for no clear trend
(:meth:`nnlab.plots.importance.Importance.trend`). matplotlib is imported inside the function
only."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from nnlab.plots.draw import new_figure, save
from nnlab.plots.importance import BETTER, CATEGORY, LOG10, POOR_FIT, WORSE

if TYPE_CHECKING:
    from nnlab.plots.importance import Importance

TREND_COLORS = {BETTER: "tab:green", WORSE: "tab:red"}  # else gray: no clear trend
IMPORTANCE_COLOR = "tab:blue"
UNCLEAR_COLOR = "silver"  # an axis under the noise floor
ROW_INCHES = 0.42
MAX_NAME_CHARS = 28  # a longer axis name is cut in the middle


def _column_label(column: str) -> str:
    """``best_val_accuracy`` -> ``best val_accuracy``."""
    kind, _, metric = column.partition("_")
    return f"{kind} {metric}" if kind in ("best", "final") and metric else column


def _name(axis_name: str, kind: str) -> str:
    if len(axis_name) > MAX_NAME_CHARS:
        half = (MAX_NAME_CHARS - 1) // 2
        axis_name = f"{axis_name[:half]}…{axis_name[-half:]}"
    return f"log10 {axis_name}" if kind == LOG10 else axis_name


def draw_importance(data: Importance, title: str, target: Path) -> Path:
    """Draw ``data`` (which has axes: enough runs) into ``target``; returns it."""
    rows = data.axes
    count = len(rows)
    fig = new_figure(8.6, 2.1 + ROW_INCHES * count)
    left, right = fig.subplots(1, 2, sharey=True, width_ratios=[1.25, 1])
    y = list(range(count))
    names = [_name(a.name, a.kind) for a in rows]
    importance = [100 * a.importance for a in rows]  # percent
    # the std, kept within 0..100%: a share cannot leave it
    low = [min(100 * a.importance_std, v) for a, v in zip(rows, importance, strict=True)]
    high = [min(100 * a.importance_std, 100 - v) for a, v in zip(rows, importance, strict=True)]
    colors = [IMPORTANCE_COLOR if a.clear else UNCLEAR_COLOR for a in rows]
    left.barh(y, importance, xerr=[low, high], color=colors, alpha=0.85, height=0.6,
              error_kw={"elinewidth": 1, "capsize": 2, "ecolor": "dimgray"})  # fmt: skip
    for k, value in enumerate(importance):  # right of the error bar
        label = f"{value:.0f}%" if rows[k].clear else f"{value:.0f}%: no clear effect"
        left.text(value + high[k] + 2, k, label, va="center", fontsize=8,
                  color="black" if rows[k].clear else "dimgray")  # fmt: skip
    left.set_xlim(0, 130)
    left.set_xticks([0, 25, 50, 75, 100])
    left.set_yticks(y, names)
    left.invert_yaxis()  # most important at the top
    left.set_xlabel("share of the held-out R² drop when shuffled (%)", fontsize=9)
    left.set_title("importance", fontsize=10)

    right.axvline(0, color="gray", linewidth=0.8)
    for k, axis in enumerate(rows):
        r = axis.correlation
        if math.isnan(r):
            why = "no order (category)" if axis.kind == CATEGORY else "did not vary"
            right.text(0.05, k, why, ha="left", va="center", fontsize=8, color="dimgray")
            continue
        color = TREND_COLORS.get(data.trend(axis), "tab:gray")
        right.barh(k, r, color=color, alpha=0.85, height=0.6)
        right.text(r + (0.04 if r >= 0 else -0.04), k, f"{r:+.2f}", va="center",
                   ha="left" if r >= 0 else "right", fontsize=8)  # fmt: skip
    right.set_xlim(-1.35, 1.35)
    right.set_xticks([-1, -0.5, 0, 0.5, 1])
    right.set_xlabel("Pearson r of the value and the metric", fontsize=9)
    right.set_title("correlation (green: larger values did better)", fontsize=10)
    for ax in (left, right):
        ax.tick_params(labelsize=9)
        ax.grid(True, axis="x", alpha=0.3)
        ax.set_ylim(count - 0.5, -0.5)

    better = "higher" if data.maximize else "lower"
    runs = f"{data.n_completed} completed runs"
    if data.n_diverged:
        runs += f" and {data.n_diverged} diverged (at the worst value)"
    fitted = "" if data.n_fitted >= data.n_completed + data.n_diverged else (
        f", cross-validated on a sample of {data.n_fitted}")  # fmt: skip
    fig.suptitle(
        f"{title}: what decides {_column_label(data.column)} ({better} is better)", fontsize=12
    )
    poor = " (poor: read with care)" if data.fit_r2 < POOR_FIT else ""
    fig.supxlabel(f"random forest on {runs}{fitted}, {data.n_folds}-fold; its cross-validated R² "
                  f"is {data.fit_r2:.2f}{poor}", fontsize=8, color="dimgray")  # fmt: skip
    return save(fig, target)
