"""``data.name: csv``: the user's own CSV file, and the strict CSV reading Pima shares.

``load`` is called by ``load_dataset``; ``read_rows`` and ``parse_numbers`` are also used by
the Pima loader. Every problem is a ``DataError`` that names the file, the line and the column.
"""

from __future__ import annotations

import csv
import difflib
import math
from pathlib import Path

import numpy as np

from nnlab.config import DataConfig
from nnlab.data._base import Task
from nnlab.data._prepare import Raw
from nnlab.errors import DataError

# cells that mean "no value" rather than "not a number"
MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})
MAX_AUTO_CLASSES = 20  # more distinct integer labels than this: ask for data.task

Rows = list[tuple[int, list[str]]]  # (line number in the file, cells)


def read_rows(path: Path, where: str, columns: int | None = None) -> Rows:
    """The non-blank rows of a comma-separated file with their line numbers.

    Every row must have ``columns`` cells (default: as many as the first row). ``where``
    prefixes every message, e.g. ``"data.path: /x/y.csv"``.
    """
    rows: Rows = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            start = 1
            for row in reader:
                if any(cell.strip() for cell in row):
                    rows.append((start, row))
                start = reader.line_num + 1
    except FileNotFoundError:
        raise DataError(f"{where}: file not found") from None
    except IsADirectoryError:
        raise DataError(f"{where}: is a folder, not a CSV file") from None
    except UnicodeDecodeError:
        raise DataError(f"{where}: is not a text CSV file (it is not UTF-8)") from None
    except csv.Error as e:
        raise DataError(f"{where}: line {reader.line_num}: {e}") from None
    except OSError as e:
        raise DataError(f"{where}: cannot read the file ({e.strerror or e})") from None
    if not rows:
        raise DataError(f"{where}: the file is empty")
    expected = columns if columns is not None else len(rows[0][1])
    for line, row in rows:
        if len(row) != expected:
            raise DataError(f"{where}: line {line} has {len(row)} columns, expected {expected}")
    return rows


def is_number(cell: str) -> bool:
    """True when ``cell`` parses as a finite number (a first row of them is data, not a header)."""
    try:
        return math.isfinite(float(cell))
    except ValueError:
        return False


def parse_numbers(rows: Rows, index: int, name: str, where: str, hint: str = "") -> np.ndarray:
    """Column ``index`` of ``rows`` as float64; a missing or non-numeric cell is a DataError
    (``hint`` is appended to the non-numeric one)."""
    cells = [row[index] for _, row in rows]
    try:
        values = np.array(cells, dtype=np.float64)
    except ValueError:
        values = None
    if values is not None and np.isfinite(values).all():
        return values
    for (line, _), cell in zip(rows, cells, strict=True):
        if cell.strip().lower() in MISSING:
            raise DataError(f"{where}: line {line}: column {name!r} has a missing value")
        if not is_number(cell):
            raise DataError(
                f"{where}: line {line}: column {name!r} is not a number: {cell!r}{hint}"
            )
    raise AssertionError("unreachable: a column failed to parse but every cell is a number")


def load(cfg: DataConfig, seed: int) -> Raw:
    """Called by ``load_dataset`` for ``data.name: csv``; returns all rows, unsplit.

    The header is detected (a first row of numbers is data; columns are then col0, col1...),
    every column except ``data.target`` is a numeric feature, and the task is ``data.task``
    or inferred from the target column (see ``encode_target``).
    """
    del seed  # a file is the same for every seed
    if cfg.path is None or cfg.target is None:
        raise DataError("data.path and data.target: both are required for data.name csv")
    path = Path(cfg.path).expanduser()
    where = f"data.path: {path}"
    rows = read_rows(path, where)
    first = rows[0][1]
    has_header = not all(is_number(cell) for cell in first)
    if has_header:
        names = [cell.strip() or f"col{i}" for i, cell in enumerate(first)]
        rows = rows[1:]
        if not rows:
            raise DataError(f"{where}: has a header but no data rows")
    else:
        names = [f"col{i}" for i in range(len(first))]
    if len(names) < 2:
        raise DataError(f"{where}: needs at least two columns (features and the target), has 1")
    target = target_index(cfg.target, names, path)
    hint = "; nnlab reads feature columns as numbers, convert or drop it"
    features = [i for i in range(len(names)) if i != target]
    x = np.column_stack([parse_numbers(rows, i, names[i], where, hint) for i in features])
    cells = [row[target].strip() for _, row in rows]
    for (line, _), cell in zip(rows, cells, strict=True):
        if cell.lower() in MISSING:
            raise DataError(f"{where}: line {line}: target column {names[target]!r} has no value")
    task, y, n_classes = encode_target(cells, cfg.task, names[target])
    return Raw(
        name="csv",
        task=task,
        x=x.astype(np.float32),
        y=y,
        n_classes=n_classes,
        source=str(path),
        feature_names=[names[i] for i in features],
    )


def target_index(target: str | int, names: list[str], path: Path) -> int:
    """The column ``data.target`` names: a header name, or an index (negative from the end)."""
    columns = ", ".join(names)
    if isinstance(target, int):
        if -len(names) <= target < len(names):
            return target % len(names)
        raise DataError(
            f"data.target: column {target} is out of range, {path} has {len(names)} columns: "
            f"{columns}"
        )
    if target in names:
        return names.index(target)
    close = difflib.get_close_matches(target, names, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise DataError(f"data.target: no column {target!r} in {path}{hint}; columns: {columns}")


def encode_target(cells: list[str], task: str, column: str) -> tuple[Task, np.ndarray, int]:
    """The task, y and number of classes for a target column of text cells.

    ``task`` other than auto is obeyed. auto infers it: text (or true/false) with 2 values is
    binary, with more multiclass; integers with 2 distinct values binary, with 3..20
    multiclass; non-integer numbers regression; anything else asks for ``data.task``.
    Class labels become 0..k-1 in sorted order.
    """
    numeric = all(is_number(cell) for cell in cells)
    numbers = np.array(cells, dtype=np.float64) if numeric else None
    values: np.ndarray = numbers if numbers is not None else np.array(cells, dtype=object)
    labels, y = np.unique(values, return_inverse=True)
    k = len(labels)
    y = y.astype(np.int64).reshape(-1)
    what = f"target column {column!r}"
    if task == "regression":
        if numbers is None:
            bad = next(cell for cell in cells if not is_number(cell))
            raise DataError(f"data.task: regression needs numbers, but {what} has {bad!r}")
        return "regression", numbers.astype(np.float32), 0
    if task in ("binary", "multiclass"):
        if task == "binary" and k != 2:
            raise DataError(f"data.task: binary needs 2 distinct values, {what} has {k}")
        if k < 2:
            raise DataError(f"data.task: {task} needs 2 or more distinct values, {what} has 1")
        return task, y, k  # type: ignore[return-value]
    if numbers is None:
        if k >= 2:
            return ("binary" if k == 2 else "multiclass"), y, k
        detail = f"a single value {labels[0]!r}"
    else:
        integer = bool(np.all(numbers == np.round(numbers)))
        if not integer:
            return "regression", numbers.astype(np.float32), 0
        if k == 2:
            return "binary", y, 2
        if 3 <= k <= MAX_AUTO_CLASSES:
            return "multiclass", y, k
        detail = f"a single value {labels[0]:g}" if k == 1 else f"integers with {k} distinct values"
    raise DataError(
        f"data.task: cannot tell the task from {what} ({detail}); "
        "set data.task to binary, multiclass or regression"
    )
