"""Parameter importance of a sweep: how much each swept axis decides the target column, and
which way, as W&B's parameter-importance panel shows it.

For a sweep of two or more axes with at least ``MIN_RUNS`` completed runs, a random forest
(scikit-learn, ``random_state`` fixed) learns the target column (``best_val_accuracy`` ...,
:func:`nnlab.results.target_column`) from the swept values of each run, and is judged only on
runs it was not fitted on: ``N_FOLDS``-fold cross-validation (seeded shuffle; fewer folds when
there are few runs, at least 2 runs a fold). For each fold the forest is fitted on the other
folds and, on the held-out runs, each axis' values are replaced by a seeded shuffle of that
axis' values over all the runs (``N_REPEATS`` times; a fold of two runs would only swap
its own). The *drop* of an axis is how much the held-out R² falls then (the fit's R² is the
cross-validated R² of every run predicted by the forest that did not see it), pooled over the
folds, as the mean and std over the shuffles. Measured on the runs it was fitted on, a forest
that used a pure-noise axis to memorise the noise loses that memory when the axis is shuffled, so a
continuous axis with many distinct values looks important; held out, it does not.

* the *importance* of an axis is its share of the axes' summed drops (negative drops count
  as 0), from 0 to 1: a drop can exceed 1 (a forest that predicts well predicts worse than
  the mean once its key axis is shuffled), a share cannot;
* noise floor: ``N_PROBES`` random axes (seeded uniform values) are fitted and shuffled with
  the real ones, and an axis is *clear* when its drop less its std stays above the probes'
  largest drop and ``MIN_DROP``; otherwise it has no clear effect, whatever its share (a
  forest finds some use for any axis of many values; the probes show how much);
* a number axis enters as is, or as log10 when its values are all positive and span a factor
  of ``LOG_X_RATIO`` (the plots' log x axis: learning rates); a forest does not care, the
  correlation does;
* correlation: Pearson's r between the axis' value (log10 as above) and the target, over the
  runs used, and its two-sided p-value; NaN for a category axis (it has no order) or an axis
  that did not vary. A trend (larger values did better or worse) is claimed only for a clear
  axis whose |r| is at least ``WEAK`` with p below ``ALPHA``;
* an axis is one feature: a category axis (``variant``, ``batch_size: [16, full]``) is
  one-hot encoded *after* the shuffle, so its columns move together;
* the runs: the completed ones with a finite target, plus each diverged run counted at the
  worst target of the completed runs (a setting that diverges is a bad setting, and leaving it
  out would hide what made it diverge); failed, interrupted and unfinished runs are left out;
  seeds are not an axis, their spread is the noise the forest sees;
* large sweeps: the forest has ``N_TREES`` trees and is cross-validated on at most
  ``MAX_ROWS`` runs, a seeded sample (correlations use every run), so 10,000 runs take
  seconds.

Numbers only; the drawing is :mod:`nnlab.plots.draw_importance`, the report's table is
:mod:`nnlab.report.facts`. scikit-learn and scipy are imported inside :func:`importance_data`.
"""

from __future__ import annotations

import hashlib
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
N_FOLDS = 5  # cross-validation folds (fewer when there are few runs: at least 2 runs a fold)
N_REPEATS = 10  # shuffles of each axis on each held-out fold
MAX_ROWS = 2000  # the forest is cross-validated on a seeded sample of this many runs past it
SEED = 0  # the forest's, the folds', the shuffles' and the sample's random_state
N_PROBES = 2  # random axes fitted beside the real ones: the noise floor of a drop

MIN_DROP = 0.01  # a held-out R² drop below it (or mean - std <= 0): no clear effect
WEAK = 0.1  # |r| below it: no clear trend
ALPHA = 0.05  # a correlation with a larger p-value: no clear trend
POOR_FIT = 0.5  # a cross-validated R² below it: the swept values explain the metric poorly

NUMBER = "number"
LOG10 = "log10"
CATEGORY = "category"

# which way an axis goes (:meth:`Importance.trend`)
BETTER = "better"  # larger values went with better runs
WORSE = "worse"
FLAT = "flat"  # no clear effect, |r| < WEAK or p >= ALPHA
UNORDERED = "unordered"  # no correlation: a category axis, or a value that did not vary


@dataclass(frozen=True)
class AxisImportance:
    """One swept axis: its importance (share of the held-out R² drops), its drop, and its
    correlation with the target."""

    axis: str  # the summary column, ``train.learning_rate``
    name: str  # as plots show it, ``learning_rate``
    kind: str  # NUMBER, LOG10 (correlated as log10 of the value) or CATEGORY
    importance: float  # share of the axes' summed held-out R² drops, 0 to 1
    importance_std: float  # drop_std on the same scale
    drop: float  # mean drop of the held-out R² when the axis is shuffled
    drop_std: float  # over the folds and the N_REPEATS shuffles
    correlation: float  # Pearson's r of the value (log10 for LOG10) and the target; NaN if none
    p_value: float = math.nan  # of the correlation, two-sided; NaN if none
    floor: float = 0.0  # the largest drop of a random probe axis in the same forest

    @property
    def clear(self) -> bool:
        """The drop is clearly above noise: less its std, still above the probes' drop and
        ``MIN_DROP``."""
        return self.drop - self.drop_std > max(MIN_DROP, self.floor)


@dataclass(frozen=True)
class Importance:
    """The importance of every swept axis for ``column``, most important first; ``axes`` is
    empty when there were fewer than ``MIN_RUNS`` completed runs (``enough`` is False)."""

    column: str
    maximize: bool  # larger values of ``column`` are better
    n_completed: int  # completed runs with a finite target
    n_diverged: int  # diverged runs, counted at the worst completed target
    n_fitted: int  # runs the forest was cross-validated on (a sample past MAX_ROWS)
    fit_r2: float  # the cross-validated R²: how well the axes predict held-out runs at all
    axes: list[AxisImportance] = field(default_factory=list)
    constant: bool = False  # every run used had the same target: nothing to explain

    @property
    def enough(self) -> bool:
        return self.n_completed >= MIN_RUNS

    @property
    def n_folds(self) -> int:
        """The cross-validation folds the drops were measured on."""
        return min(N_FOLDS, self.n_fitted // 2)

    def better_when_larger(self, axis: AxisImportance) -> float:
        """``axis.correlation`` signed so that positive means larger values of the axis went
        with better runs (for a loss, a negative correlation); NaN for a category axis."""
        return axis.correlation if self.maximize else -axis.correlation

    def trend(self, axis: AxisImportance) -> str:
        """``BETTER`` when larger values of ``axis`` went with better runs (a clear axis, |r|
        at least ``WEAK`` and p below ``ALPHA``), ``WORSE``, ``FLAT`` (not clear, weaker or
        not significant), or ``UNORDERED`` (no correlation)."""
        signed = self.better_when_larger(axis)
        if math.isnan(signed):
            return UNORDERED
        if not axis.clear or abs(signed) < WEAK or not axis.p_value < ALPHA:
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


def _pearson(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Pearson's r and its two-sided p-value; NaNs when either side did not vary."""
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan, math.nan
    from scipy.stats import pearsonr

    r, p = pearsonr(x, y)
    return float(r), float(p)


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


# the last answer, by the summary's content and the column: the end of a sweep draws
# importance.png, then writes the report from the same summary.csv
_last: dict[tuple[bytes, str | None], Importance | None] = {}


def importance_data(summary: pd.DataFrame, column: str | None = None) -> Importance | None:
    """:func:`_importance_data`, computed once for a summary's content and ``column`` (the
    plot and the report of an experiment ask for the same numbers; a forest costs seconds
    on a large sweep)."""
    digest = hashlib.sha256(repr(list(summary.columns)).encode())
    digest.update(pd.util.hash_pandas_object(summary, index=False).to_numpy().tobytes())
    key = (digest.digest(), column)
    if key not in _last:
        _last.clear()
        _last[key] = _importance_data(summary, column)
    return _last[key]


def _importance_data(summary: pd.DataFrame, column: str | None = None) -> Importance | None:
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
    nan2 = (math.nan, math.nan)
    correlation = {a: nan2 if x is None else _pearson(x, y) for a, (_, x) in encoded.items()}
    if np.ptp(y) == 0:
        out = [AxisImportance(a, short[a], encoded[a][0], 0.0, 0.0, 0.0, 0.0, math.nan)
               for a in axes]  # fmt: skip
        return Importance(column, maximize, n_completed, n_diverged, 0, math.nan, out, True)

    frame = pd.DataFrame(
        {f"x{i}": texts[a] if x is None else x for i, (a, (_, x)) in enumerate(encoded.items())}
    )
    probes = np.random.default_rng(SEED + 1).uniform(size=(len(frame), N_PROBES))
    for k in range(N_PROBES):  # axes of pure noise: what a drop of no effect looks like here
        frame[f"probe{k}"] = probes[:, k]
    fit_rows = np.arange(len(frame))
    if len(frame) > MAX_ROWS:
        fit_rows = np.sort(np.random.default_rng(SEED).choice(len(frame), MAX_ROWS, False))
    categories = [f"x{i}" for i, (kind, _) in enumerate(encoded.values()) if kind == CATEGORY]
    sample = frame.iloc[fit_rows].reset_index(drop=True)
    drops, fit_r2 = _permutation(sample, categories, y[fit_rows])
    floor = max(0.0, float(drops[len(axes):].mean(axis=1).max()))
    drops = drops[: len(axes)]
    means, stds = drops.mean(axis=1), drops.std(axis=1)
    total = float(np.clip(means, 0, None).sum())
    scale = 1 / total if total > 0 else 0.0
    out = []
    for a, m, s in zip(axes, means.tolist(), stds.tolist(), strict=True):
        share, spread = max(m, 0.0) * scale, s * scale
        out.append(AxisImportance(a, short[a], encoded[a][0], share, spread, m, s,
                                  *correlation[a], floor=floor))  # fmt: skip
    out.sort(key=lambda item: -item.drop)  # a stable sort: ties keep the axes' order
    return Importance(column, maximize, n_completed, n_diverged, len(fit_rows), fit_r2, out)


def _permutation(
    frame: pd.DataFrame, categories: list[str], y: np.ndarray
) -> tuple[np.ndarray, float]:
    """Cross-validate the forest on ``frame`` (one column per axis; the ``categories`` columns
    one-hot encoded inside the pipeline): on each held-out fold, shuffle each column
    ``N_REPEATS`` times. Returns the drops of the held-out R², one row per column and one
    value per shuffle, pooled over the folds (a fold's drop: its squared errors' rise over the
    sum of squares of all of ``y``, times the folds' count, so the folds' mean is the drop of
    the R² of every run predicted out of fold), and the cross-validated R²."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.model_selection import KFold
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    encode = ColumnTransformer(
        [("onehot", OneHotEncoder(handle_unknown="ignore"), categories)],
        remainder="passthrough",
    )
    forest = RandomForestRegressor(n_estimators=N_TREES, random_state=SEED, n_jobs=1)
    model = Pipeline([("encode", encode), ("forest", forest)])
    n, width = frame.shape
    folds = KFold(n_splits=min(N_FOLDS, n // 2), shuffle=True, random_state=SEED)
    rng = np.random.default_rng(SEED)
    sum_squares = float(((y - y.mean()) ** 2).sum())
    predicted = np.empty(n)
    drops = np.empty((width, folds.n_splits, N_REPEATS))
    for k, (train, test) in enumerate(folds.split(frame)):
        model.fit(frame.iloc[train], y[train])
        held = frame.iloc[test]
        predicted[test] = model.predict(held)
        base = float(((y[test] - predicted[test]) ** 2).sum())
        copies = []  # every column's shuffles of the held-out runs, predicted at once
        for j in range(width):
            values = frame.iloc[:, j].to_numpy()
            for _ in range(N_REPEATS):
                copy = held.copy()
                copy.iloc[:, j] = rng.permutation(values)[: len(test)]
                copies.append(copy)
        shuffled = model.predict(pd.concat(copies)).reshape(width, N_REPEATS, len(test))
        errors = ((y[test] - shuffled) ** 2).sum(axis=2)
        drops[:, k, :] = (errors - base) / sum_squares * folds.n_splits
    fit_r2 = 1 - float(((y - predicted) ** 2).sum()) / sum_squares
    # pooled over the folds (every run held out once): one drop per shuffle; a fold of two or
    # three runs alone says little, and its noise would bury a clear axis of a small sweep
    return drops.mean(axis=1), fit_r2
