"""Parameter importance of a sweep: how much each swept axis decides the target column, and
which way, as W&B's parameter-importance panel shows it.

For a sweep of two or more axes with at least ``MIN_RUNS`` completed runs, a random forest
(scikit-learn, ``random_state`` fixed) learns the target column (``best_val_accuracy`` ...,
:func:`nnlab.results.target_column`) from the swept values of each run; the importance of an axis is
the permutation importance of the fitted forest: how much its R² drops, on the runs it was
fitted on, when that axis' values are shuffled across the runs (``N_REPEATS`` shuffles, seeded;
mean and std). An axis is one feature: a category axis (``variant``, ``batch_size: [16,
full]``) is one-hot encoded *after* the shuffle, so its columns move together.

* a number axis enters as is, or as log10 when its values are all positive and span a factor
  of ``LOG_X_RATIO`` (the plots' log x axis: learning rates); a forest does not care, the
  correlation does;
* correlation: Pearson's r between the axis' value (log10 as above) and the target, over the
  runs used; NaN for a category axis (it has no order) or an axis that did not vary;
* the runs: the completed ones with a finite target, plus each diverged run counted at the
  worst target of the completed runs (a setting that diverges is a bad setting, and leaving it
  out would hide what made it diverge); failed, interrupted and unfinished runs are left out;
  seeds are not an axis, their spread is the noise the forest sees;
* large sweeps: the forest has ``N_TREES`` trees and is fitted on at most ``MAX_ROWS`` runs,
  a seeded sample (correlations use every run), so 10,000 runs take about a second.

Numbers only; the drawing is :mod:`nnlab.plots.draw_importance`, the report's table is
:mod:`nnlab.report.facts`. scikit-learn is imported inside :func:`importance_data` only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from nnlab import results, store
from nnlab.names import is_maximized
from nnlab.plots.comparison import LOG_X_RATIO

MIN_RUNS = 8  # fewer completed runs: the importance cannot tell
MIN_AXES = 2  # a single axis needs no ranking: its plot against the target says it all
N_TREES = 100
N_REPEATS = 5  # shuffles of each axis
MAX_ROWS = 2000  # the forest is fitted on a seeded sample of this many runs past it
SEED = 0  # the forest's, the shuffles' and the sample's random_state

WEAK = 0.1  # |r| below it: no clear trend
POOR_FIT = 0.5  # an out-of-bag R² below it: the swept values explain the metric poorly

NUMBER = "number"
LOG10 = "log10"
CATEGORY = "category"

# which way an axis goes (:meth:`Importance.trend`)
BETTER = "better"  # larger values went with better runs
WORSE = "worse"
FLAT = "flat"  # |r| < WEAK
UNORDERED = "unordered"  # no correlation: a category axis, or a value that did not vary


@dataclass(frozen=True)
class AxisImportance:
    """One swept axis: its importance (drop in R²) and its correlation with the target."""

    axis: str  # the summary column, ``train.learning_rate``
    name: str  # as plots show it, ``learning_rate``
    kind: str  # NUMBER, LOG10 (correlated as log10 of the value) or CATEGORY
    importance: float  # mean drop in R² when the axis is shuffled
    importance_std: float  # over the N_REPEATS shuffles
    correlation: float  # Pearson's r of the value (log10 for LOG10) and the target; NaN if none


@dataclass(frozen=True)
class Importance:
    """The importance of every swept axis for ``column``, most important first; ``axes`` is
    empty when there were fewer than ``MIN_RUNS`` completed runs (``enough`` is False)."""

    column: str
    maximize: bool  # larger values of ``column`` are better
    n_completed: int  # completed runs with a finite target
    n_diverged: int  # diverged runs, counted at the worst completed target
    n_fitted: int  # runs the forest was fitted on (a sample past MAX_ROWS)
    fit_r2: float  # the forest's out-of-bag R²: how well the axes predict the target at all
    axes: list[AxisImportance] = field(default_factory=list)
    constant: bool = False  # every run used had the same target: nothing to explain

    @property
    def enough(self) -> bool:
        return self.n_completed >= MIN_RUNS

    def better_when_larger(self, axis: AxisImportance) -> float:
        """``axis.correlation`` signed so that positive means larger values of the axis went
        with better runs (for a loss, a negative correlation); NaN for a category axis."""
        return axis.correlation if self.maximize else -axis.correlation

    def trend(self, axis: AxisImportance) -> str:
        """``BETTER`` when larger values of ``axis`` went with better runs (|r| at least
        ``WEAK``), ``WORSE``, ``FLAT`` (weaker), or ``UNORDERED`` (no correlation)."""
        signed = self.better_when_larger(axis)
        if math.isnan(signed):
            return UNORDERED
        if abs(signed) < WEAK:
            return FLAT
        return BETTER if signed > 0 else WORSE


def _encode(texts: list[str]) -> tuple[str, np.ndarray | None]:
    """An axis' kind and, for a number axis, its values as floats (log10 for LOG10)."""
    numbers = [results.as_number(t) for t in texts]
    if not texts or any(v is None for v in numbers):
        return CATEGORY, None
    x = np.array(numbers, dtype=float)
    if (x > 0).all() and x.max() / x.min() >= LOG_X_RATIO:
        return LOG10, np.log10(x)
    return NUMBER, x


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    if x.size < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    return float(np.corrcoef(x, y)[0, 1])


def _runs(
    summary: pd.DataFrame, column: str, maximize: bool
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """The rows used and their target: completed with a finite target, and diverged ones at
    the worst completed value. Returns (rows, y, n_completed, n_diverged)."""
    status = np.array(results.statuses(summary), dtype=object)
    y = results.numbers(summary, column)
    completed = (status == store.COMPLETED) & np.isfinite(y)
    diverged = status == store.DIVERGED
    n_completed = int(completed.sum())
    if n_completed == 0:
        return np.flatnonzero(completed), y[completed], 0, 0
    worst = float(y[completed].min() if maximize else y[completed].max())
    y = np.where(diverged, worst, y)
    rows = np.flatnonzero(completed | diverged)
    return rows, y[rows], n_completed, int(diverged.sum())


def importance_data(summary: pd.DataFrame, column: str | None = None) -> Importance | None:
    """The importance of each swept axis for ``column`` (default: the target column), or None
    when fewer than ``MIN_AXES`` axes are swept or there is no target column. With fewer than
    ``MIN_RUNS`` completed runs, an :class:`Importance` without axes (``enough`` False).
    Deterministic: the same summary gives the same numbers. Called by
    :func:`nnlab.plots.plot_experiment` and the report."""
    axes = results.sweep_axes(summary)
    column = column or results.target_column(summary)
    if len(axes) < MIN_AXES or column is None or column not in summary.columns:
        return None
    maximize = is_maximized(column.removeprefix("best_").removeprefix("final_"))
    rows, y, n_completed, n_diverged = _runs(summary, column, maximize)
    empty = Importance(column, maximize, n_completed, n_diverged, 0, math.nan)
    if n_completed < MIN_RUNS:
        return empty
    texts = {a: [results.text(v) for v in summary[a].to_numpy()[rows]] for a in axes}
    encoded = {a: _encode(texts[a]) for a in axes}
    short = results.short_names(axes)
    correlation = {a: math.nan if x is None else _pearson(x, y) for a, (_, x) in encoded.items()}
    if np.ptp(y) == 0:
        out = [AxisImportance(a, short[a], encoded[a][0], 0.0, 0.0, math.nan) for a in axes]
        return Importance(column, maximize, n_completed, n_diverged, 0, math.nan, out, True)

    frame = pd.DataFrame(
        {f"x{i}": texts[a] if x is None else x for i, (a, (_, x)) in enumerate(encoded.items())}
    )
    fit_rows = np.arange(len(frame))
    if len(frame) > MAX_ROWS:
        fit_rows = np.sort(np.random.default_rng(SEED).choice(len(frame), MAX_ROWS, False))
    categories = [f"x{i}" for i, (kind, _) in enumerate(encoded.values()) if kind == CATEGORY]
    sample = frame.iloc[fit_rows].reset_index(drop=True)
    means, stds, fit_r2 = _permutation(sample, categories, y[fit_rows])
    out = [
        AxisImportance(a, short[a], encoded[a][0], float(m), float(s), correlation[a])
        for a, m, s in zip(axes, means, stds, strict=True)
    ]
    out.sort(key=lambda item: -item.importance)  # a stable sort: ties keep the axes' order
    return Importance(column, maximize, n_completed, n_diverged, len(fit_rows), fit_r2, out)


def _permutation(
    frame: pd.DataFrame, categories: list[str], y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """Fit the forest on ``frame`` (one column per axis; the ``categories`` columns one-hot
    encoded inside the pipeline) and shuffle each column: mean and std of the R² drops, and
    the out-of-bag R²."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.inspection import permutation_importance
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    encode = ColumnTransformer(
        [("onehot", OneHotEncoder(handle_unknown="ignore"), categories)],
        remainder="passthrough",
    )
    forest = RandomForestRegressor(
        n_estimators=N_TREES, random_state=SEED, oob_score=True, n_jobs=1
    )
    model = Pipeline([("encode", encode), ("forest", forest)]).fit(frame, y)
    shuffled = permutation_importance(model, frame, y, n_repeats=N_REPEATS, random_state=SEED)
    return shuffled.importances_mean, shuffled.importances_std, float(forest.oob_score_)
