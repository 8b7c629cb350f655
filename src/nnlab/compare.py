"""Which setting won, and is the win larger than the seed noise?

The runs of an experiment's summary are grouped by their swept values (the seed is not a swept
value: the runs of a group differ only in their seed). A group's score is the mean of the
ranking column (``best_val_accuracy``, or what :func:`nnlab.names.target_column` picks) over
its completed runs; failed, interrupted and diverged runs are failures, not data points, and
the verdict says how many were left out. For the best and the runner-up group,
:func:`seed_verdict` asks whether the difference of their means is larger than the spread
between seeds, with Welch's two-sample t-test (unequal variances) at ``ALPHA``.

Pure numpy, pandas and scipy: the report and the CLI call it on finished experiments.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from nnlab import results, store
from nnlab.names import is_maximized
from nnlab.results import STD_DDOF, target_column

ALPHA = 0.05
TEST_NAME = "Welch's t-test"
MIN_SEEDS = 2  # the t-test needs at least two runs per group for a variance
SUGGESTED_REPEATS = 3


@dataclass(frozen=True)
class GroupStats:
    """The runs of one sweep point and the statistics of their ranking column.

    ``scores`` holds the values of the completed runs that have one (in summary order);
    ``left_out`` counts the other runs of the group by status (``failed``, ``diverged``, ...).
    """

    label: str  # "activation=tanh", "batch_size=16, learning_rate=0.01", "all runs"
    values: dict[str, str]  # axis -> value as written in summary.csv
    run_ids: list[str]  # every run of the group, in summary order
    scores: tuple[float, ...]
    seeds: tuple[int, ...]  # the seeds of the counted runs
    left_out: dict[str, int] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.scores)

    @property
    def mean(self) -> float | None:
        return float(np.mean(self.scores)) if self.scores else None

    @property
    def std(self) -> float | None:
        """Sample standard deviation (ddof=1); None with fewer than two runs."""
        return float(np.std(self.scores, ddof=STD_DDOF)) if self.n >= MIN_SEEDS else None


@dataclass(frozen=True)
class SeedVerdict:
    """What :func:`seed_verdict` found.

    ``groups`` are ranked best first (groups without a counted run last). ``significant`` is
    True when the best group beats the runner-up by more than the seed noise, False when the
    difference is within it, and None when it cannot be told (one seed, a single group, no
    data). ``difference`` is how much better the best group is (positive; in the column's
    units). ``t`` and ``p`` are None where the test was not run (and ``t`` is ±inf, ``p`` 0,
    when both groups have zero variance and different means).
    """

    column: str | None
    maximize: bool
    groups: list[GroupStats]
    best: GroupStats | None
    runner_up: GroupStats | None
    difference: float | None
    t: float | None
    p: float | None
    alpha: float
    significant: bool | None
    sentence: str
    left_out: dict[str, int]  # status -> runs that were not counted, over all groups
    test: str = TEST_NAME


def format_number(x: float | None, digits: int = 4) -> str:
    """``x`` with ``digits`` significant digits, "–" for None or NaN."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    return f"{x:.{digits}g}"


def _decimals(x: float, digits: int = 4) -> int:
    """Decimals that show ``x`` with ``digits`` significant digits (at most 6)."""
    if x == 0 or not math.isfinite(x):
        return 3
    return int(min(6, max(0, digits - 1 - math.floor(math.log10(abs(x))))))


def format_mean_std(
    mean: float | None, std: float | None, digits: int = 4, decimals: int | None = None
) -> str:
    """``0.9624 ± 0.0103``: the std with as many decimals as the mean (``decimals``, or what
    shows the mean with ``digits`` significant digits); the mean alone when there is no std
    (one run)."""
    if mean is None or math.isnan(mean):
        return "–"
    d = _decimals(mean, digits) if decimals is None else decimals
    return f"{mean:.{d}f}" if std is None else f"{mean:.{d}f} ± {std:.{d}f}"


def _format_p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3g}"


def group_runs(summary: pd.DataFrame, column: str | None) -> list[GroupStats]:
    """The runs of ``summary`` grouped by their swept values (:func:`nnlab.results.groups`),
    in order of first appearance.

    Only runs with status ``completed`` and a finite value of ``column`` are counted; the rest
    are tallied in ``left_out`` by status (a completed run without a value as ``no value``).
    """
    scores = results.numbers(summary, column) if column is not None else np.full(
        len(summary), np.nan)  # fmt: skip
    seeds = results.numbers(summary, results.SEED)
    statuses = results.statuses(summary)
    run_ids = ([results.text(v) for v in summary[results.RUN_ID]]
               if results.RUN_ID in summary else [""] * len(summary))  # fmt: skip
    out = []
    for group in results.groups(summary):
        counted, left_out = [], Counter()
        for i in group.rows:
            if statuses[i] != store.COMPLETED:
                left_out[statuses[i]] += 1
            elif not math.isfinite(scores[i]):
                left_out["no value"] += 1
            else:
                counted.append(i)
        out.append(
            GroupStats(
                label=group.label,
                values=group.values,
                run_ids=[run_ids[i] for i in group.rows],
                scores=tuple(float(scores[i]) for i in counted),
                seeds=tuple(int(seeds[i]) for i in counted if math.isfinite(seeds[i])),
                left_out=dict(left_out),
            )
        )
    return out


def rank_groups(groups: Iterable[GroupStats], maximize: bool) -> list[GroupStats]:
    """Best mean first; groups without a counted run last, in their original order."""
    groups = list(groups)
    scored = [g for g in groups if g.n]
    scored.sort(key=lambda g: -g.mean if maximize else g.mean)  # type: ignore[operator]
    return scored + [g for g in groups if not g.n]


def welch(a: Iterable[float], b: Iterable[float]) -> tuple[float, float]:
    """Welch's two-sample t statistic and two-sided p value of ``mean(a) - mean(b)``.

    Both samples need at least two values. When both have zero variance the test is not
    defined (0/0): equal means give ``(0.0, 1.0)``, different means ``(±inf, 0.0)``: every
    seed gave the same value, so any difference is larger than the (zero) seed noise.
    """
    x, y = np.asarray(list(a), dtype=float), np.asarray(list(b), dtype=float)
    if x.size < MIN_SEEDS or y.size < MIN_SEEDS:
        raise ValueError(
            f"Welch's t-test needs two values per group, but got {x.size=}, {y.size=}."
        )
    if np.var(x) == 0 and np.var(y) == 0:
        diff = float(x.mean() - y.mean())
        return (0.0, 1.0) if diff == 0 else (math.copysign(math.inf, diff), 0.0)
    from scipy import stats

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        res = stats.ttest_ind(x, y, equal_var=False)
    return float(res.statistic), float(res.pvalue)


def _seeds_phrase(a: GroupStats, b: GroupStats) -> str:
    if a.n == b.n:
        return f"{a.n} seed{'s' * (a.n != 1)} each"
    return f"{a.n} and {b.n} seeds"


def _left_out_phrase(left_out: Mapping[str, int]) -> str:
    """`` 2 runs left out (1 diverged, 1 failed): failures, not data points.`` or ``""``."""
    total = sum(left_out.values())
    if not total:
        return ""
    parts = ", ".join(f"{n} {status}" for status, n in sorted(left_out.items()))
    return (
        f" {total} run{'s' * (total != 1)} left out ({parts}): only completed runs count; "
        "a diverged run is a failure, not a data point."
    )


def _single_group_sentence(group: GroupStats, column: str, only: bool) -> str:
    what = "nothing was swept" if only else "no other setting has a completed run"
    if group.n == 1:
        return (
            f"{group.label}: {column} {format_number(group.mean)} from a single run; {what}, and "
            f"with one seed the seed noise is unknown: run with --repeats {SUGGESTED_REPEATS} "
            "to measure it."
        )
    lo, hi = min(group.scores), max(group.scores)
    return (
        f"{group.label}: {column} {format_mean_std(group.mean, group.std)} over {group.n} seeds "
        f"(from {format_number(lo)} to {format_number(hi)}); {what}, so this spread is the seed "
        "noise a comparison would have to beat."
    )


def seed_verdict(
    summary: pd.DataFrame, column: str | None = None, alpha: float = ALPHA
) -> SeedVerdict:
    """Rank the sweep points of ``summary`` (``summary.csv`` as read by
    :func:`nnlab.results.read_summary`) by the mean of ``column`` (default: the target column)
    and test the best against the runner-up. Called by the report; returns the verdict with a
    one-sentence summary in plain words."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), but got {alpha=}.")
    column = column or target_column(summary)
    maximize = column is not None and is_maximized(column.removeprefix("best_").removeprefix(
        "final_"))  # fmt: skip
    groups = rank_groups(group_runs(summary, column), maximize)
    left_out: Counter[str] = Counter()
    for g in groups:
        left_out.update(g.left_out)
    tail = _left_out_phrase(left_out)

    def verdict(sentence: str, **kw: Any) -> SeedVerdict:
        fields: dict[str, Any] = dict(best=None, runner_up=None, difference=None, t=None, p=None,
                                      significant=None)  # fmt: skip
        fields.update(kw)
        return SeedVerdict(column=column, maximize=maximize, groups=groups, alpha=alpha,
                           sentence=sentence + tail, left_out=dict(left_out), **fields)  # fmt: skip

    scored = [g for g in groups if g.n]
    if column is None:
        return verdict("No metric to rank the runs by (no best_val_* or best_loss column).")
    if not scored:
        return verdict(f"No completed run has a value of {column}; nothing to compare.")
    best = scored[0]
    if len(scored) == 1:
        return verdict(_single_group_sentence(best, column, only=len(groups) == 1), best=best)

    second = scored[1]
    assert best.mean is not None and second.mean is not None
    diff = best.mean - second.mean if maximize else second.mean - best.mean
    d = _decimals(max(abs(best.mean), abs(second.mean)))
    unit = column if maximize else f"{column} (lower is better)"

    def lead(verb: str) -> str:
        # "beats" only once the test says so; until then the best setting merely "leads"
        if diff == 0:
            return f"{best.label} and {second.label} tie at {best.mean:.{d}f} {column}"
        return f"{best.label} {verb} {second.label} by {diff:.{d}f} {unit}"

    numbers = (
        f"({format_mean_std(best.mean, best.std, decimals=d)} vs "
        f"{format_mean_std(second.mean, second.std, decimals=d)}, {_seeds_phrase(best, second)})"
    )
    common: dict[str, Any] = dict(best=best, runner_up=second, difference=diff)
    if best.n < MIN_SEEDS or second.n < MIN_SEEDS:
        return verdict(
            f"{lead('leads')} {numbers}; with one seed the seed noise is unknown, so nnlab "
            f"cannot tell whether the difference matters: run with --repeats {SUGGESTED_REPEATS} "
            f"(or repeats: {SUGGESTED_REPEATS} in the config) to find out.",
            **common,
        )
    t, p = welch(best.scores, second.scores)
    if best.std == 0 and second.std == 0:
        if diff == 0:
            sentence = (f"{lead('')} {numbers}: every seed gave the same value, so there is "
                        "no difference to test.")  # fmt: skip
            return verdict(sentence, significant=False, t=t, p=p, **common)
        sentence = (
            f"{lead('beats')} {numbers}; every seed of each gave the same value, so "
            f"{TEST_NAME} is not needed: the difference is larger than the seed noise, which "
            "is zero."
        )
        return verdict(sentence, significant=True, t=t, p=p, **common)
    significant = bool(p < alpha)
    if significant:
        below = "" if p < 0.001 <= alpha else f" < {alpha:g}"
        judged = f"{TEST_NAME} {_format_p(p)}{below}: larger than the seed noise."
    else:
        judged = (
            f"{TEST_NAME} {_format_p(p)} ≥ {alpha:g}: within the seed noise, so these runs do "
            "not tell the two apart."
        )
    sentence = f"{lead('beats' if significant else 'leads')} {numbers}; {judged}"
    return verdict(sentence, significant=significant, t=t, p=p, **common)


@dataclass(frozen=True)
class Baseline:
    """The majority-class accuracy of the validation split: what always predicting the most
    common class scores. The split can differ between seeds, hence a range."""

    mean: float
    low: float
    high: float
    n: int  # runs that recorded one


def majority_baseline(results: Iterable[Mapping[str, Any] | None]) -> Baseline | None:
    """The ``baseline_accuracy`` the runs' ``result.json`` recorded; None when no run has one
    (regression, or runs written before it was recorded)."""
    values = []
    for res in results:
        value = (res or {}).get("baseline_accuracy")
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            values.append(float(value))
    if not values:
        return None
    return Baseline(float(np.mean(values)), min(values), max(values), len(values))
