"""``summary.csv``: one row per run of the current config.

A command rewrites it whole (atomically, in config order) when it starts and when it stops,
and appends one row per finished run in between (:class:`SummaryFile`): O(1) per run, so a
burst of runs finishing at once costs one short write each, and a reader (``nnlab ls``, the
plots) sees every finished run while the sweep goes on. A crash can cut the last appended
line; readers drop it (``results``), and the next command rewrites the file from the runs'
records.

Columns: run_id, one per sweep axis (dotted path, or ``variant``), seed, status, epochs_run,
``final_<metric>`` and ``best_<metric>`` for every metric the runs logged, ``<set>_<metric>``
for each set of ``train.evaluate_on`` (``all_accuracy``: the final model's ``evaluate``),
best_epoch, wall_s, diagnosis (the label from ``diagnose``; empty for a failed run).
Plots and ``nnlab ls`` read it; nothing here imports a backend.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from nnlab import names, store
from nnlab.expansion import RunSpec

LEADING = ("seed", "status", "epochs_run")
TRAILING = ("best_epoch", "wall_s", "diagnosis")


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def summary_rows(specs: Iterable[RunSpec], results: dict[str, dict[str, Any]]) -> list[dict]:
    """A row per spec that has a result, in the order of the specs."""
    rows = []
    for spec in specs:
        res = results.get(spec.run_id)
        if not res:
            continue
        row: dict[str, Any] = {"run_id": spec.run_id, **spec.values}
        row.update(seed=spec.seed, status=res.get("status"), epochs_run=res.get("epochs_run"))
        for kind in ("final", "best"):
            for metric, value in (res.get(kind) or {}).items():
                row[f"{kind}_{metric}"] = value
        row.update(res.get("evaluated") or {})  # train.evaluate_on: all_accuracy ...
        diagnosis = res.get("diagnosis") or {}
        row.update(best_epoch=res.get("best_epoch"), wall_s=res.get("wall_s"),
                   diagnosis=diagnosis.get("label"))  # fmt: skip
        rows.append(row)
    return rows


def columns(specs: list[RunSpec], rows: list[dict[str, Any]]) -> list[str]:
    axes = list(dict.fromkeys(a for s in specs for a in s.values))
    metrics = list(dict.fromkeys(k for r in rows for k in r if k.startswith("final_")))
    best = [f"best_{m.removeprefix('final_')}" for m in metrics]
    evaluated = list(dict.fromkeys(k for r in rows for k in r if names.is_evaluated(k)))
    return ["run_id", *axes, *LEADING, *metrics, *best, *evaluated, *TRAILING]


def _lines(cols: list[str], rows: list[dict[str, Any]], header: bool = False) -> str:
    """The CSV lines of ``rows`` in the order of ``cols`` (after the header line, if asked)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    if header:
        writer.writerow(cols)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in cols])
    return buf.getvalue()


def write_summary(exp_dir: Path, specs: list[RunSpec], results: dict[str, dict[str, Any]]) -> Path:
    """Rewrite ``<exp_dir>/summary.csv`` atomically from the results known so far."""
    rows = summary_rows(specs, results)
    cols = columns(specs, rows)
    path = exp_dir / store.SUMMARY_FILE
    store.atomic_write_text(path, _lines(cols, rows, header=True))
    return path


class SummaryFile:
    """``summary.csv`` during one command: :meth:`rewrite` it whole, :meth:`append` a row per
    finished run (flushed, not fsynced: a kill leaves it on disk, and after a machine crash
    the next command rewrites it from the records)."""

    def __init__(self, exp_dir: Path, specs: list[RunSpec]) -> None:
        self.path = exp_dir / store.SUMMARY_FILE
        self.exp_dir, self.specs = exp_dir, specs
        self.by_id = {s.run_id: s for s in specs}
        self.results: dict[str, dict[str, Any]] = {}
        self.columns: list[str] = []
        self.failed = False  # an append failed: the rest wait for the rewrite at the end

    def rewrite(self, results: dict[str, dict[str, Any]]) -> None:
        """Write every row of ``results`` in config order, atomically."""
        self.results, self.failed = dict(results), False
        write_summary(self.exp_dir, self.specs, self.results)
        self.columns = columns(self.specs, summary_rows(self.specs, self.results))

    def append(self, run_id: str, result: dict[str, Any]) -> None:
        """Add the row of a run that finished; the whole file is rewritten instead when the
        row has a column the header lacks (the first run to log a metric) or the run is
        listed already (it trained again)."""
        listed = run_id in self.results
        self.results[run_id] = result
        if self.failed:  # after a cut line (a full disk), another row would join it
            return
        (row,) = summary_rows([self.by_id[run_id]], {run_id: result})
        new = {k for k, v in row.items() if v is not None} - set(self.columns)
        if listed or new or not self.columns:
            self.rewrite(self.results)
            return
        try:
            with open(self.path, "a", newline="", encoding="utf-8") as f:
                f.write(_lines(self.columns, [row]))
        except OSError as e:
            self.failed = True
            raise OSError(e.errno, e.strerror or str(e), str(self.path)) from e
