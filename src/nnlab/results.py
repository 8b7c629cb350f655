"""The one reader of what ``store`` wrote: run and experiment folders into DataFrames and
small typed records, for ``compare``, ``plots``, ``report`` and ``nnlab ls``.

Everything the reading wing knows about the files lives here: how a history cut mid-write is
read, which summary columns are text, which are swept axes, how runs are grouped by their
swept values (one group per sweep point, its repeats together) and how a group is labelled,
which column ranks the runs. Imports numpy and pandas, never a deep-learning backend.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from nnlab import names, store
from nnlab.errors import NnlabError

# summary.csv columns that hold text; every other non-axis column is a number
RUN_ID, STATUS, SEED, DIAGNOSIS = "run_id", "status", "seed", "diagnosis"
TEXT_COLUMNS = frozenset({RUN_ID, STATUS, DIAGNOSIS})
VARIANT_AXIS = "variant"
NO_AXES_LABEL = "all runs"
EPOCH_COLUMN = "epoch"
# sample standard deviation over the repeats (the spread we expect from another seed);
# 0 where only one run remains
STD_DDOF = 1
MAX_NUMBER_CHARS = 8  # longer numbers are shown with 4 significant digits


class NothingToRead(NnlabError):
    """A file without any complete row: missing, empty, or cut before its first row ended
    (a run that failed before epoch 0 ended)."""


# --------------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------------


def read_streamed_csv(path: str | Path, what: str) -> pd.DataFrame:
    """Read a CSV that may have been cut mid-write (a crash while a row was being written).

    The writers end each row with a newline as the row is complete, so a last line without one
    (or with fewer or empty fields) was being written when the process died: it is dropped,
    never turned into a row of NaN. Raises :class:`NothingToRead` when the file is missing or
    no complete row is left, ``NnlabError`` when it cannot be read or parsed.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NothingToRead(f"{path}: no {what} (the run wrote none)") from None
    except OSError as exc:
        raise NnlabError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None

    lines = text.splitlines(keepends=True)
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines or not lines[0].endswith(("\n", "\r")):
        raise NothingToRead(f"{path}: no complete row in {what}")
    header = next(csv.reader([lines[0]]))
    if lines[1:]:
        last = lines[-1]
        fields = next(csv.reader([last]))
        if (
            not last.endswith(("\n", "\r"))
            or len(fields) != len(header)
            or any(not f.strip() for f in fields)
        ):
            lines.pop()
    if len(lines) < 2:
        raise NothingToRead(f"{path}: no complete row in {what}")
    try:
        df = pd.read_csv(io.StringIO("".join(lines)), skipinitialspace=True)
    except (ValueError, pd.errors.ParserError) as exc:
        raise NnlabError(f"{path}: cannot parse {what}: {exc}") from None
    return df


def read_history(path: str | Path) -> pd.DataFrame:
    """The rows of a ``history.csv``, for the plots and the report.

    Tolerates what a crash or a diverged run leaves: a cut last line is dropped, ``nan`` and
    ``inf`` stay as float values. Every column but ``epoch`` is float; ``epoch`` is int when
    every value is whole. Raises ``NnlabError`` naming the file when it is
    missing or holds no complete row.
    """
    df = read_streamed_csv(path, "history")
    for col in df.columns:
        if col != EPOCH_COLUMN or not pd.api.types.is_integer_dtype(df[col]):
            df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    if EPOCH_COLUMN in df.columns:
        epochs = df[EPOCH_COLUMN]
        if epochs.notna().all() and (epochs == np.round(epochs)).all():
            df[EPOCH_COLUMN] = epochs.astype(int)
    return df


def summary_cells(path: str | Path) -> tuple[list[str], list[list[str]]]:
    """The header and rows of a ``summary.csv`` as written, as a command leaves it at any
    moment: a last line cut by a crash is dropped, and a run listed twice (appended again
    after it trained again) keeps its last row. Raises ``FileNotFoundError``, or
    ``NnlabError`` when the file cannot be read."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError) as exc:
        raise NnlabError(f"{path}: cannot read the summary: {exc}") from None
    if not text.endswith(("\n", "\r")):
        text = text[: text.rfind("\n") + 1]  # the last line was being appended: a kill cut it
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), skipinitialspace=True))
    except csv.Error as exc:
        raise NnlabError(f"{path}: cannot read the summary: {exc}") from None
    if not rows:
        return [], []
    header, body = rows[0], [r for r in rows[1:] if len(r) == len(rows[0])]
    if RUN_ID in header:
        at = header.index(RUN_ID)
        last = {r[at]: i for i, r in enumerate(body)}
        body = [r for i, r in enumerate(body) if last[r[at]] == i]
    return header, body


def read_summary(path: str | Path) -> pd.DataFrame:
    """The rows of an experiment's ``summary.csv`` (see :func:`summary_cells`).

    Swept values, ``run_id``, ``status`` and ``diagnosis`` stay text exactly as written
    (``0.001``, ``1e-05``, ``full``); every other column is a float, empty cells NaN.
    """
    path = Path(path)
    try:
        header, body = summary_cells(path)
    except FileNotFoundError:
        raise NnlabError(f"{path}: no summary") from None
    if not header:
        return pd.DataFrame({RUN_ID: pd.Series(dtype=str)})
    df = pd.DataFrame(body, columns=header, dtype=str)
    kept_as_text = TEXT_COLUMNS | set(sweep_axes(df))
    for col in df.columns:
        if col not in kept_as_text:
            df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    return df


def read_record(run_dir: str | Path) -> dict[str, Any] | None:
    """A run's ``result.json`` (its status, numbers, diagnosis), or None when it has none or
    it cannot be read."""
    return store.read_json(Path(run_dir) / store.RESULT_FILE)


def read_env(run_dir: str | Path) -> dict[str, Any] | None:
    """A run's ``env.json`` (versions, host, device), or None."""
    return store.read_json(Path(run_dir) / store.ENV_FILE)


def timestamp(value: Any) -> datetime | None:
    """A time a record holds (``started``, ``finished``: ISO 8601), or None."""
    try:
        return datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None


def read_config_text(path: str | Path) -> tuple[str, dict[str, Any]]:
    """A config file as written (``experiment.yaml``, a run's ``config.yaml``) and as a
    mapping; ``("", {})`` when it cannot be read, an empty mapping when it does not parse."""
    try:
        source = Path(path).read_text(encoding="utf-8")
    except OSError:
        return "", {}
    try:
        doc = yaml.safe_load(source)
    except yaml.YAMLError:
        doc = None
    return source, doc if isinstance(doc, dict) else {}


def read_summary_text(path: str | Path) -> list[dict[str, str]]:
    """The rows of a ``summary.csv`` with every cell as written (for ``nnlab ls``, which shows
    them as text; see :func:`summary_cells`); no rows when there is no file."""
    try:
        header, body = summary_cells(path)
    except FileNotFoundError:
        return []
    return [dict(zip(header, row, strict=True)) for row in body]


def record_row(run_id: str, record: dict[str, Any] | None) -> dict[str, Any]:
    """A summary-like row of one run from its ``result.json`` (``record``): status (a run
    without a record never finished: ``running``), epochs_run, best_epoch, wall_s,
    ``final_<metric>``, ``best_<metric>``, ``train.evaluate_on``'s ``<set>_<metric>`` and the
    diagnosis label. Values as recorded."""
    record = record or {}
    row: dict[str, Any] = {RUN_ID: run_id, STATUS: record.get(STATUS, store.RUNNING)}
    for key in ("epochs_run", "best_epoch", "wall_s"):
        row[key] = record.get(key)
    for kind in ("final", "best"):
        values = record.get(kind)
        for metric, value in (values if isinstance(values, dict) else {}).items():
            row[f"{kind}_{metric}"] = value
    evaluated = record.get("evaluated")
    row.update(evaluated if isinstance(evaluated, dict) else {})
    diagnosis = record.get(DIAGNOSIS)
    row[DIAGNOSIS] = diagnosis.get("label") if isinstance(diagnosis, dict) else None
    return row


def summary_from_results(runs: Sequence[Path]) -> pd.DataFrame:
    """A summary-like frame (no swept columns, no diagnosis) from the ``result.json`` of each
    run folder, for an experiment written before ``summary.csv`` existed."""
    rows = []
    for run in runs:
        row = record_row(Path(run).name, read_record(run))
        del row[DIAGNOSIS]
        rows.append(row)
    df = pd.DataFrame(rows, columns=None if rows else [RUN_ID, STATUS])
    for col in df.columns:
        if col not in TEXT_COLUMNS:
            df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    return df


def experiment_summary(
    experiment_dir: str | Path, runs: Sequence[Path] | None = None
) -> pd.DataFrame:
    """``summary.csv`` of an experiment, or, when it has none, :func:`summary_from_results` of
    ``runs`` (default: every run folder)."""
    experiment_dir = Path(experiment_dir)
    path = experiment_dir / store.SUMMARY_FILE
    if path.is_file():
        return read_summary(path)
    return summary_from_results(store.run_dirs(experiment_dir) if runs is None else runs)


def run_files(
    experiment_dir: str | Path, summary: pd.DataFrame, file: str, reader: Any
) -> dict[str, Any]:
    """``reader(<run>/<file>)`` for every counted run of ``summary`` (see :func:`counted`)
    whose file exists and reads; a file with nothing complete yet, or that cannot be read, is
    left out (nothing to draw)."""
    experiment_dir = Path(experiment_dir)
    if RUN_ID not in summary.columns:
        return {}
    keep = counted(summary)
    out: dict[str, Any] = {}
    for i, rid in enumerate(text(r) for r in summary[RUN_ID]):
        path = experiment_dir / rid / file
        if not keep[i] or not rid or not path.is_file():
            continue
        try:
            out[rid] = reader(path)
        except NnlabError:
            continue
    return out


def read_histories(experiment_dir: str | Path, summary: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The history of every run of ``summary`` that has a readable one with a complete row
    (failed runs are not read)."""
    return run_files(experiment_dir, summary, store.HISTORY_FILE, read_history)


# --------------------------------------------------------------------------------------------
# cells, axes and labels
# --------------------------------------------------------------------------------------------


def text(value: Any) -> str:
    """A cell as the user wrote it ("" when empty), whatever dtype pandas gave the column."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def as_number(value: str) -> float | None:
    """The finite number a cell holds, or None."""
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def display_value(value: str) -> str:
    """A swept value for a legend, a tick or a table: as written, but a long number (a random
    sweep's 0.0034567891234) cut to 4 significant digits."""
    number = as_number(value)
    return f"{number:.4g}" if number is not None and len(value) > MAX_NUMBER_CHARS else value


def sweep_axes(summary: pd.DataFrame) -> list[str]:
    """The swept columns of a summary, in column order: dotted config paths and ``variant``."""
    return [str(c) for c in summary.columns if "." in str(c) or c == VARIANT_AXIS]


def short_names(axes: Sequence[str]) -> dict[str, str]:
    """``train.batch_size`` -> ``batch_size``; the full path where two axes end alike."""
    last = [a.rsplit(".", 1)[-1] for a in axes]
    return {a: (s if last.count(s) == 1 else a) for a, s in zip(axes, last, strict=True)}


def group_label(values: dict[str, str], short: dict[str, str]) -> str:
    """``batch_size=100, learning_rate=0.01``; a variant by its name; ``all runs`` unswept."""
    if not values:
        return NO_AXES_LABEL
    return ", ".join(
        display_value(v) if a == VARIANT_AXIS else f"{short[a]}={display_value(v)}"
        for a, v in values.items()
    )


def target_column(summary: pd.DataFrame) -> str | None:
    """The summary column the runs are ranked by (see :func:`nnlab.names.shared_target`:
    the completed runs decide whether a column has gaps)."""
    done = summary[[s == store.COMPLETED for s in statuses(summary)]] if len(summary) else summary
    return names.shared_target([str(c) for c in summary.columns],
                               lambda c: bool(np.isnan(numbers(done, c)).any()))  # fmt: skip


def target_column_of(rows: list[dict[str, str]]) -> str | None:
    """:func:`target_column` of rows read by :func:`read_summary_text`."""
    done = [r for r in rows if r.get(STATUS, store.COMPLETED) == store.COMPLETED]
    return names.shared_target(list(rows[0]) if rows else [],
                               lambda c: any(not r.get(c) for r in done))  # fmt: skip


def numbers(summary: pd.DataFrame, column: str) -> np.ndarray:
    """A column as floats; all NaN when the summary has no such column."""
    if column not in summary.columns:
        return np.full(len(summary), np.nan)
    return pd.to_numeric(summary[column], errors="coerce").to_numpy(dtype=float)


def statuses(summary: pd.DataFrame) -> list[str]:
    """Each row's status; ``running`` where the cell is empty, ``completed`` for a summary
    without a status column."""
    if STATUS not in summary.columns:
        return [store.COMPLETED] * len(summary)
    return [text(s) or store.RUNNING for s in summary[STATUS]]


def counted(summary: pd.DataFrame) -> np.ndarray:
    """Rows whose numbers count: every run but the failed ones (their cells may be empty)."""
    if STATUS not in summary.columns:
        return np.ones(len(summary), dtype=bool)
    return np.array([text(s) != store.FAILED for s in summary[STATUS]], dtype=bool)


def sample_std(values: np.ndarray) -> float:
    """The spread over repeats (``STD_DDOF``); 0 for a single value."""
    return float(np.std(values, ddof=STD_DDOF)) if values.size > 1 else 0.0


def by_epoch(series: Sequence[pd.Series]) -> tuple[pd.DataFrame, np.ndarray]:
    """The runs' series (indexed by epoch) side by side, a column per run, keeping only the
    epochs where at least one run has a value; and how many runs have one at each epoch
    (fewer at the end when early stopping cut some runs short)."""
    table = pd.concat(series, axis=1, ignore_index=True).sort_index()
    n = table.notna().sum(axis=1).to_numpy()
    return table[n > 0], n[n > 0]


@dataclass(frozen=True)
class RunGroup:
    """The runs of one sweep point: the same swept values, different seeds."""

    index: int  # position among the experiment's groups: its colour in every plot
    label: str  # see group_label
    values: dict[str, str]  # axis -> value as written in summary.csv
    rows: list[int]  # the summary rows of its runs, in summary order


def groups(summary: pd.DataFrame) -> list[RunGroup]:
    """The runs of ``summary`` grouped by their swept values, groups in order of first
    appearance. The one grouping that plots, dynamics plots, comparisons and the report use."""
    axes = sweep_axes(summary)
    short = short_names(axes)
    by_key: dict[tuple[str, ...], list[int]] = {}
    columns = [[text(v) for v in summary[a].tolist()] for a in axes]  # not a lookup per cell
    for i, key in enumerate(zip(*columns, strict=True) if axes else [()] * len(summary)):
        by_key.setdefault(tuple(key), []).append(i)
    out = []
    for index, (key, rows) in enumerate(by_key.items()):
        values = dict(zip(axes, key, strict=True))
        out.append(RunGroup(index, group_label(values, short), values, rows))
    return out


def counted_run_ids(summary: pd.DataFrame, group: RunGroup, having: Any) -> list[str]:
    """The run ids of ``group`` that count (not failed) and are in ``having`` (a mapping of
    run ids to their files), in summary order."""
    keep = counted(summary)
    ids = [text(summary[RUN_ID].iat[i]) for i in group.rows if keep[i]]
    return [rid for rid in ids if rid in having]
