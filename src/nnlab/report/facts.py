"""The sentences both renderers share: the "What was run" list, the verdict's heading and
the note on the test, and the parameter importance's sentences and table. Plain text; each
renderer escapes it its own way."""

from __future__ import annotations

import math

from nnlab import store
from nnlab.compare import SeedVerdict
from nnlab.plots.importance import (
    ALPHA,
    BETTER,
    CATEGORY,
    LOG10,
    MIN_DROP,
    MIN_RUNS,
    N_REPEATS,
    POOR_FIT,
    WEAK,
    WORSE,
    AxisImportance,
    Importance,
)
from nnlab.report.cells import Table
from nnlab.report.collect import Report
from nnlab.results import as_number

VALUES_MAX = 50  # a swept axis (or the seeds) with more values is summed up, not listed
VALUES_SHOWN = 10  # ... as its first values and how many there are, or its range


def _values_text(values: list[str]) -> str:
    """The values as a list; above ``VALUES_MAX``, how many and their range (numbers) or the
    first ``VALUES_SHOWN`` of them."""
    if len(values) <= VALUES_MAX:
        return ", ".join(values)
    numbers = [x for x in map(as_number, values) if x is not None]
    if len(numbers) == len(values):
        low, high = values[numbers.index(min(numbers))], values[numbers.index(max(numbers))]
        return f"{len(values)} values from {low} to {high}"
    return ", ".join(values[:VALUES_SHOWN]) + f", … ({len(values)} values)"


def _counts_text(report: Report) -> str:
    order = [store.COMPLETED, store.DIVERGED, store.FAILED, store.INTERRUPTED, store.RUNNING]
    items = sorted(report.status_counts.items(), key=lambda kv: (
        order.index(kv[0]) if kv[0] in order else len(order), kv[0]))  # fmt: skip
    n = report.n_runs
    if len(items) == 1:
        return f"{n}, all {items[0][0]}" if n > 1 else f"1, {items[0][0]}"
    return f"{n}: " + ", ".join(f"{c} {s}" for s, c in items) if items else "0"


def _seeds_text(report: Report) -> str | None:
    if not report.seeds:
        return None
    seeds = _values_text(list(map(str, report.seeds)))
    if report.kind == "run":
        return f"seed {seeds}"
    n = len(report.seeds)
    return f"{n} seed{'s' * (n != 1)} per setting ({seeds})"


def facts(report: Report) -> list[tuple[str, str]]:
    """The "What was run" list, shared by both renderers (values are plain text)."""
    out = []
    if report.axes:
        swept = "" if report.kind == "run" else "swept "
        out += [(f"{swept}{axis}", _values_text(values)) for axis, values in report.axes]
    elif report.kind == "experiment":
        out.append(("swept", "nothing (a single setting)"))
    out.append(("runs", _counts_text(report)))
    if seeds := _seeds_text(report):
        out.append(("seeds", seeds))
    if report.wall:
        out.append(("wall time", report.wall))
    if report.span:
        out.append(("ran", report.span))
    return out


def verdict_heading(verdict: SeedVerdict) -> str:
    best = verdict.best.label if verdict.best is not None else None
    if best is None:
        return "Nothing to compare yet"
    if verdict.runner_up is None:
        return f"{best}: the seed noise"
    if verdict.difference == 0:
        return f"{best} and {verdict.runner_up.label} tie"
    if verdict.significant is True:
        return f"{best} is best, by more than the seed noise"
    if verdict.significant is False:
        return f"{best} leads, but within the seed noise"
    return f"{best} leads; one seed cannot tell whether that is noise"


def verdict_note(verdict: SeedVerdict) -> str:
    return (
        f"Test: {verdict.test} (two-sided, unequal variances) of the best setting against the "
        f"runner-up on {verdict.column}, alpha {verdict.alpha:g}; mean ± sample std over seeds."
    )


IMPORTANCE_HEADING = "Parameter importance"
TRENDS = {BETTER: "did better", WORSE: "did worse"}
NO_EFFECT = "no clear effect"
UNCLEAR_LISTED = 3  # more axes without a clear effect are counted, not named


def _trend_text(importance: Importance, axis: AxisImportance) -> str:
    if math.isnan(axis.correlation) and axis.kind != CATEGORY:
        return "— (did not vary)"
    if not axis.clear:
        return NO_EFFECT
    if math.isnan(axis.correlation):
        return "— (no order)"
    return TRENDS.get(importance.trend(axis), "no clear trend")


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def importance_lead(importance: Importance) -> str:
    """The first sentence: which axis matters most, or why the section cannot tell."""
    column = importance.column
    if not importance.enough:
        n = importance.n_completed
        return (f"Cannot tell which swept axis matters most for {column}: {n} completed "
                f"run{'s' * (n != 1)}, and it takes at least {MIN_RUNS}.")  # fmt: skip
    if importance.constant:
        return f"Every run had the same {column}: no swept axis made a difference."
    top = importance.axes[0]
    if not top.clear:
        return (f"No swept axis clearly matters for {column}: shuffled, none of them clearly "
                "worsens a random forest's predictions of held-out runs.")  # fmt: skip
    trend = _trend_text(importance, top)
    which = f" (larger values {trend})" if trend in TRENDS.values() else ""
    lead = f"{top.name} matters most for {column}{which}"
    rest = importance.axes[1:]
    if rest and rest[0].clear:
        lead += f"; then {rest[0].name}"
    unclear = [a.name for a in rest if not a.clear]
    if len(unclear) > UNCLEAR_LISTED:
        lead += f"; the other {len(unclear)} axes show {NO_EFFECT}"
    elif unclear:
        lead += f"; {_names(unclear)} show{'s' * (len(unclear) == 1)} {NO_EFFECT}"
    return lead + "."


def importance_note(importance: Importance) -> str | None:
    """How the numbers were made, for the reader who wants to weigh them."""
    if not importance.enough or importance.constant:
        return None
    runs = f"{importance.n_completed} completed runs"
    if importance.n_diverged:
        runs += (f" and {importance.n_diverged} diverged, counted at the worst completed "
                 f"{importance.column}")  # fmt: skip
    if importance.n_fitted < importance.n_completed + importance.n_diverged:
        runs += f" (cross-validated on a seeded sample of {importance.n_fitted})"
    logs = [a.name for a in importance.axes if a.kind == LOG10]
    log_text = f" (log10 of {', '.join(logs)})" if logs else ""
    better = "higher" if importance.maximize else "lower"
    note = (
        f"R² drop: how much a random forest's R² on held-out runs falls when the axis' values "
        f"are shuffled ({importance.n_folds}-fold cross-validation, {N_REPEATS} seeded "
        f"shuffles a fold; pooled over the folds, mean ± std over the shuffles), on {runs}; "
        f"importance: the "
        f"axis' share of the axes' summed drops. The forest's cross-validated R² is "
        f"{importance.fit_r2:.2f}"
    )
    if importance.fit_r2 < POOR_FIT:
        note += ", so the swept values explain the metric poorly: read the ranking with care"
    return note + (
        f". An axis has {NO_EFFECT} when its drop less one std is not above {MIN_DROP:g} and "
        f"the drop of random probe axes fitted beside the real ones"
        f"{_floor(importance)}. "
        f"Correlation: Pearson's r of the value{log_text} with {importance.column} ({better} "
        f"is better); none for a category axis; a trend is named for an axis with a clear "
        f"effect, |r| at least {WEAK:g} and p under {ALPHA:g}."
    )


def _floor(importance: Importance) -> str:
    floor = importance.axes[0].floor if importance.axes else 0.0
    return f" ({floor:.2f} here)" if floor > MIN_DROP else ""


def importance_table(importance: Importance) -> Table | None:
    """axis, importance (share), held-out R² drop (mean ± std), correlation, and what larger
    values did (or that the axis has no clear effect)."""
    if not importance.enough or importance.constant:
        return None
    rows = [
        [
            f"{a.name} (log10)" if a.kind == LOG10 else a.name,
            f"{a.importance:.0%}",
            f"{a.drop:.2f} ± {a.drop_std:.2f}",
            "—" if math.isnan(a.correlation) else f"{a.correlation:+.2f}",
            _trend_text(importance, a),
        ]
        for a in importance.axes
    ]
    columns = ["axis", "importance", "R² drop", "correlation", "larger values"]
    return Table(columns, rows, [False, True, True, True, False])
