"""What ``nnlab ls`` shows, read from summary.csv, the records (result.json) of runs it does
not list, and the experiment's lock file; it writes nothing. Part of the reading wing: runs are
read through ``results``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nnlab import lock, results, store
from nnlab.errors import NnlabError
from nnlab.names import is_maximized

STALE = "stale"  # what `ls` shows for a run left `running` by a command that is gone


def run_rows(exp_dir: Path) -> list[dict[str, str]]:
    """summary.csv's rows (for an experiment without one, a row per run folder), then the
    runs it does not list whose record says ``running``: in progress now, or, when no live
    command holds the experiment, left by one that stopped before recording an end (shown
    as ``stale``)."""
    path = exp_dir / store.SUMMARY_FILE
    rows = results.read_summary_text(path)
    listed = {r.get("run_id") for r in rows}
    records = {run.name: results.read_record(run) or {}
               for run in store.run_dirs(exp_dir) if run.name not in listed}  # fmt: skip
    if path.is_file():
        records = {r: res for r, res in records.items() if res.get("status") == store.RUNNING}
    in_progress = store.RUNNING
    if any(res.get("status") == store.RUNNING for res in records.values()):
        in_progress = store.RUNNING if lock.held(exp_dir) else STALE
    for run_id, res in records.items():
        row = results.record_row(run_id, res)
        if "status" not in res:
            row["status"] = "?"  # a record without a status: not ours to guess
        elif row["status"] == store.RUNNING:
            row["status"] = in_progress
        shown = {k: row[k] for k in ("run_id", "status", "epochs_run", "wall_s", "diagnosis")}
        shown.update({k: v for k, v in row.items() if k.startswith("best_") and k != "best_epoch"})
        rows.append({k: "" if v is None else str(v) for k, v in shown.items()})
    return rows


def _fmt(value: Any) -> str:
    try:
        return f"{float(value):.4g}"
    except (TypeError, ValueError):
        return str(value or "")


def table(directory: Path) -> tuple[str, list[str], list[list[str]]]:
    """(title, columns, rows) for an experiment folder or a folder of experiments."""
    if not directory.is_dir():
        raise NnlabError(f"{directory}: no such folder")
    if store.run_dirs(directory) or (directory / store.SUMMARY_FILE).is_file():
        return _runs(directory)
    experiments = [d for d in sorted(directory.iterdir()) if d.is_dir() and store.run_dirs(d)]
    if not experiments:
        raise NnlabError(f"{directory}: no experiments here (run `nnlab run CONFIG` first)")
    rows = []
    for exp in experiments:
        runs = run_rows(exp)
        target = results.target_column_of(runs)
        done = sum(r.get("status") in store.FINISHED for r in runs)
        failed = sum(r.get("status") == store.FAILED for r in runs)
        values = [float(r[target]) for r in runs if target and r.get(target)]
        shown = (target or "").removeprefix("best_")  # all_accuracy stays as it is
        best = (max if is_maximized(shown) else min)(values) if values else None
        wall = sum(float(r["wall_s"]) for r in runs if r.get("wall_s"))
        rows.append([exp.name, f"{done}/{len(runs)}", str(failed),
                     f"{shown} {_fmt(best)}" if best is not None else "",
                     f"{wall:.0f}"])  # fmt: skip
    return str(directory), ["experiment", "finished", "failed", "best", "wall s"], rows


def _runs(exp_dir: Path) -> tuple[str, list[str], list[list[str]]]:
    runs = run_rows(exp_dir)
    target = results.target_column_of(runs)
    cols = ["run", "status", "epochs", target.removeprefix("best_") if target else "best",
            "wall s", "diagnosis"]  # fmt: skip
    rows = [[r.get("run_id", ""), r.get("status", ""), r.get("epochs_run", ""),
             _fmt(r.get(target)) if target else "", _fmt(r.get("wall_s")),
             r.get("diagnosis") or ""]
            for r in runs]  # fmt: skip
    title = f"{exp_dir} (best of each run)"
    if any(r.get("status") == STALE for r in runs):
        title += (f"\n{STALE}: left `running` by a command that stopped before recording an "
                  "end (killed, a crash, a full disk); the next `nnlab run` or `sweep` marks it "
                  "interrupted and trains it again")  # fmt: skip
    return title, cols, rows
