"""``summary.csv``: one row per run of the current config, rewritten as runs finish.

Columns: run_id, one per sweep axis (dotted path, or ``variant``), seed, status, epochs_run,
``final_<metric>`` and ``best_<metric>`` for every metric the runs logged, best_epoch, wall_s,
diagnosis (the label from ``diagnose``; empty for a failed run).
Plots and ``nnlab ls`` read it; nothing here imports a backend.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from nnlab import store
from nnlab.sweep import RunSpec

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
        diagnosis = res.get("diagnosis") or {}
        row.update(best_epoch=res.get("best_epoch"), wall_s=res.get("wall_s"),
                   diagnosis=diagnosis.get("label"))  # fmt: skip
        rows.append(row)
    return rows


def columns(specs: list[RunSpec], rows: list[dict[str, Any]]) -> list[str]:
    axes = list(dict.fromkeys(a for s in specs for a in s.values))
    metrics = list(dict.fromkeys(k for r in rows for k in r if k.startswith("final_")))
    best = [f"best_{m.removeprefix('final_')}" for m in metrics]
    return ["run_id", *axes, *LEADING, *metrics, *best, *TRAILING]


def write_summary(exp_dir: Path, specs: list[RunSpec], results: dict[str, dict[str, Any]]) -> Path:
    """Rewrite ``<exp_dir>/summary.csv`` atomically from the results known so far."""
    rows = summary_rows(specs, results)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    cols = columns(specs, rows)
    writer.writerow(cols)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in cols])
    path = exp_dir / store.SUMMARY_FILE
    store.atomic_write_text(path, buf.getvalue())
    return path
