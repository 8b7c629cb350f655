"""The report's tables as text: every number formatted once, here, for both renderers.

:class:`Table` is what :func:`nnlab.report.collect.collect` puts into a report and what
``markdown`` and ``html`` render; the builders turn a summary (already ranked) and a seed
verdict into one.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from nnlab import store
from nnlab.compare import GroupStats, SeedVerdict, format_mean_std, format_number
from nnlab.names import is_evaluated
from nnlab.results import short_names, statuses, sweep_axes, text

DIGITS = 4  # significant digits of the numbers in tables


@dataclass(frozen=True)
class Note:
    """A sentence for the page. ``link`` is a file the sentence names (``summary.csv``),
    relative to the report: each renderer turns that name in ``text`` into a link."""

    text: str
    link: str | None = None


@dataclass
class Table:
    """A formatted table: every cell is text; ``numeric`` columns are right-aligned.

    ``gaps`` mark rows left out of a long table (:mod:`nnlab.report.runs`): ``(i, note)``
    puts a row saying what is missing before ``rows[i]`` (after the last row when ``i`` is
    ``len(rows)``)."""

    columns: list[str]
    rows: list[list[str]]
    numeric: list[bool]
    status_columns: frozenset[str] = frozenset()  # cells shown as a coloured label in HTML
    gaps: tuple[tuple[int, Note], ...] = ()


def duration(seconds: float) -> str:
    """``12.3 s``, ``4 min 5 s``, ``2 h 3 min``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, s = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {s} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def number_cell(value: Any) -> str:
    """A number for a table cell: whole numbers as integers, others to ``DIGITS`` significant
    digits with trailing zeros kept; ``–`` when empty; text as written."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return text(value) or "–"
    if math.isnan(x):
        return "–"
    if x.is_integer() and abs(x) < 1e6:
        return str(int(x))
    if math.isinf(x):
        return format_number(x)
    # trailing zeros kept (0.9800, not 0.98) so a column of numbers lines up
    return f"{x:#.{DIGITS}g}".rstrip(".")


def final_columns(columns: list[str], target: str | None) -> list[str]:
    """The final numbers a results table shows beside ``target``: the validation ones
    (``final_val_*``; without a validation set, the target's own final column) and those of
    ``train.evaluate_on`` (``all_accuracy`` ...)."""
    finals = [c for c in columns if str(c).startswith("final_val_")]
    if target is not None and target.startswith("best_") and not target.startswith("best_val_"):
        finals = [f"final_{target.removeprefix('best_')}", *finals]
    finals += [c for c in columns if is_evaluated(str(c))]
    return [c for c in dict.fromkeys(finals) if c in columns and c != target]


def results_table(
    ranked: pd.DataFrame,
    target: str | None,
    shown: Sequence[int] | None = None,
    gaps: tuple[tuple[int, Note], ...] = (),
) -> Table:
    """A row per run of ``ranked`` (best first): its swept values, seed, status when some run
    did not complete, the target and final validation metrics, best epoch and diagnosis.
    ``shown``: the positions in ``ranked`` to show (default every run; a completed run keeps
    its rank), ``gaps`` the table's rows saying what is left out."""
    axes = sweep_axes(ranked)
    short = short_names(axes)
    finals = final_columns(list(ranked.columns), target)
    row_statuses = statuses(ranked)
    show_status = any(s != store.COMPLETED for s in row_statuses)  # else the run counts say it
    columns = ["#", "run", *[short[a] for a in axes], "seed", *["status"] * show_status]
    numeric = [True, False, *[False] * len(axes), True, *[False] * show_status]
    keys: list[str] = []
    if target is not None:
        keys.append(target)
    keys += [*finals, "best_epoch"]
    keys = [k for k in keys if k in ranked.columns]
    has_diagnosis = "diagnosis" in ranked.columns
    columns += keys + (["diagnosis"] if has_diagnosis else [])
    numeric += [True] * len(keys) + ([False] if has_diagnosis else [])
    rows = []
    for i in range(len(ranked)) if shown is None else shown:
        row = ranked.iloc[i]
        status = row_statuses[i]
        cells = [str(i + 1) if status == store.COMPLETED else "", text(row.get("run_id"))]
        cells += [text(row.get(a)) for a in axes]
        cells += [number_cell(row.get("seed")), *[status] * show_status]
        cells += [number_cell(row.get(k)) for k in keys]
        if has_diagnosis:
            cells.append(text(row.get("diagnosis")))
        rows.append(cells)
    return Table(columns, rows, numeric, frozenset({"status", "diagnosis"}), gaps)


def grouped_table(
    summary: pd.DataFrame,
    verdict: SeedVerdict,
    target: str,
    finals: list[str],
    shown: Sequence[GroupStats] | None = None,
    gaps: tuple[tuple[int, Note], ...] = (),
) -> Table:
    """A row per sweep point (ranked as the verdict ranks them): mean ± std over its seeds.
    ``shown``: the verdict's groups to show (default all), ``gaps`` as in :class:`Table`."""
    by_id = {text(r): i for i, r in enumerate(summary["run_id"])}
    row_statuses = statuses(summary)
    columns = ["setting", "runs", target, *finals]
    numeric = [False, True, True, *[True] * len(finals)]
    has_diagnosis = "diagnosis" in summary.columns
    if has_diagnosis:
        columns.append("diagnoses")
        numeric.append(False)
    rows = []
    for g in verdict.groups if shown is None else shown:
        counted_rows = [by_id[r] for r in g.run_ids if r in by_id]
        done = [i for i in counted_rows if row_statuses[i] == store.COMPLETED]
        runs = f"{g.n} of {len(g.run_ids)}" if g.n != len(g.run_ids) else str(g.n)
        cells = [g.label, runs, format_mean_std(g.mean, g.std, DIGITS)]
        for col in finals:
            values = pd.to_numeric(summary[col].iloc[done], errors="coerce").dropna()
            std = float(values.std(ddof=1)) if len(values) > 1 else None
            cells.append(format_mean_std(float(values.mean()) if len(values) else None, std))
        if has_diagnosis:
            labels = Counter(text(summary["diagnosis"].iat[i]) for i in counted_rows)
            labels.pop("", None)
            cells.append(", ".join(f"{k} ×{n}" if n > 1 else k for k, n in labels.items()))
        rows.append(cells)
    return Table(columns, rows, numeric, gaps=gaps)


def frame_table(df: pd.DataFrame, first_column: str) -> Table:
    """A table of a numeric frame: its index as the first (text) column, every value through
    :func:`number_cell`."""
    columns = [first_column, *[str(c) for c in df.columns]]
    rows = [[str(idx), *map(number_cell, values)]
            for idx, values in zip(df.index, df.to_numpy(), strict=True)]  # fmt: skip
    return Table(columns, rows, [False] + [True] * len(df.columns))
