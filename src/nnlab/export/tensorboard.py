"""TensorBoard event files from a run folder's own files, so every backend and launcher gets the
same output and a run trained without ``train.tensorboard`` can be exported afterwards.

Per run, ``<run>/tensorboard/`` holds (the layout of Keras' TensorBoard callback, so the train
and validation curves of a metric share one chart)::

    train/       epoch_loss, epoch_<metric>, epoch_learning_rate per epoch (history.csv);
                 with train.capture: weights/<layer>/<tensor>/<stat> and gradients/...
                 (weights.csv, gradients.csv), and weight histograms (weight_histograms.csv)
    validation/  epoch_loss, epoch_<metric> per epoch (the val_ columns)
    (itself)     the HParams session: swept values and seed, status, and the final_ and best_
                 numbers of summary.csv as scalars (the dashboard's metric columns)

and ``<experiment>/tensorboard/`` the HParams experiment (its columns), so
``tensorboard --logdir runs/NAME`` compares the runs. Epoch 0 is the untrained model, as in
history.csv. Wall times follow each epoch's own seconds from the run's start.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nnlab import names, results, store, tbevents
from nnlab.errors import NnlabError

TB_DIR = "tensorboard"
TRAIN, VALIDATION = "train", "validation"
SEED = "seed"
EPOCH_SECONDS = "epoch_seconds"
CAPTURED = (store.WEIGHTS_FILE, store.GRADIENTS_FILE)
HISTOGRAMS_FILE = store.WEIGHT_HISTOGRAMS_FILE
HISTOGRAM_STATS = ("min", "max", "sum", "sum_squares")  # its cells beside edges and counts
METRIC_PREFIXES = ("final_", "best_")


def write_run(run_dir: Path, record: dict[str, Any] | None = None) -> bool:
    """Write the run's per-epoch scalars (and what capture recorded) under
    ``<run>/tensorboard/``, replacing what nnlab wrote there before; False when the run has no
    history row yet (nothing to show)."""
    run_dir = Path(run_dir)
    try:
        history = results.read_history(run_dir / store.HISTORY_FILE)
    except NnlabError:
        return False
    record = record if record is not None else results.read_record(run_dir) or {}
    walls = _wall_times(history, _seconds(record.get("started")))
    steps = history[results.EPOCH_COLUMN].to_numpy() if results.EPOCH_COLUMN in history else \
        np.arange(len(history))  # fmt: skip
    train = tbevents.EventFile(run_dir / TB_DIR / TRAIN, "scalars")
    validation = tbevents.EventFile(run_dir / TB_DIR / VALIDATION, "scalars")
    for column in history.columns:
        if column in (results.EPOCH_COLUMN, EPOCH_SECONDS):
            continue
        file, name = (validation, column[4:]) if column.startswith("val_") else (train, column)
        for step, value, wall in zip(steps, history[column], walls, strict=True):
            file.scalar(f"epoch_{name}", value, int(step), wall)
    for name in CAPTURED:
        _captured(train, run_dir / name, name.removesuffix(".csv"))
    _histograms(train, run_dir / HISTOGRAMS_FILE)
    train.write()
    if validation.has_events:  # data.validation: none has no val_ columns
        validation.write()
    return True


def write_experiment(exp_dir: Path, run_ids: Sequence[str] | None = None) -> list[str]:
    """The HParams experiment and a session per run (``run_ids``, default every run of the
    summary), and the scalars of runs whose event files are missing or older than their
    history. Returns the runs written."""
    exp_dir = Path(exp_dir)
    summary = results.experiment_summary(exp_dir)
    if results.RUN_ID not in summary.columns:
        return []
    axes = results.sweep_axes(summary)
    metrics = [str(c) for c in summary.columns
               if str(c).startswith(METRIC_PREFIXES) or names.is_evaluated(str(c))]  # fmt: skip
    wanted = None if run_ids is None else set(run_ids)
    chosen = []
    for _, row in summary.iterrows():
        run_id = results.text(row[results.RUN_ID])
        if run_id and (wanted is None or run_id in wanted) and (exp_dir / run_id).is_dir():
            chosen.append((run_id, row))
    columns = [a for a in [*axes, SEED] if a in summary.columns]
    # one type per column, over every run: an axis of 16 and "full" is text in all of them
    values = {a: _typed([row.get(a) for _, row in chosen]) for a in columns}
    for k, (run_id, row) in enumerate(chosen):
        run_dir = exp_dir / run_id
        record = results.read_record(run_dir) or {}
        if _stale(run_dir):
            write_run(run_dir, record)
        _write_session(run_dir, {a: values[a][k] for a in columns}, row, metrics, record)
    if chosen:
        experiment = tbevents.EventFile(exp_dir / TB_DIR, "hparams")
        experiment.hparams_experiment(values, [("", m) for m in metrics])
        experiment.write()
    return [run_id for run_id, _ in chosen]


def _write_session(run_dir: Path, hparams: dict[str, Any], row: pd.Series,
                   metrics: list[str], record: dict[str, Any]) -> None:  # fmt: skip
    start = _seconds(record.get("started")) or run_dir.stat().st_mtime
    end = _seconds(record.get("finished")) or start
    status = results.text(row.get(results.STATUS)) or store.RUNNING
    session = tbevents.EventFile(run_dir / TB_DIR, "hparams")
    session.hparams_session(hparams, status, start, end)
    last = int(row.get("epochs_run")) if _finite(row.get("epochs_run")) else 0
    best = int(row.get("best_epoch")) if _finite(row.get("best_epoch")) else last
    for metric in metrics:
        if _finite(row.get(metric)):
            step = best if metric.startswith("best_") else last
            session.scalar(metric, float(row[metric]), step, end)
    session.write()


def _stale(run_dir: Path) -> bool:
    """True when the run's scalars are missing or older than its history."""
    files = list((run_dir / TB_DIR / TRAIN).glob(f"events.out.tfevents.*{tbevents.SUFFIX}"))
    history = run_dir / store.HISTORY_FILE
    if not files:
        return True
    return history.exists() and history.stat().st_mtime > min(f.stat().st_mtime for f in files)


def _rows(path: Path, what: str) -> pd.DataFrame | None:
    """A capture file's complete rows; None when it is missing or unreadable."""
    if not path.is_file():
        return None
    try:
        return results.read_streamed_csv(path, what)
    except NnlabError:
        return None


def _captured(file: tbevents.EventFile, path: Path, kind: str) -> None:
    """weights.csv / gradients.csv (epoch,layer,tensor,stat,value) as scalars."""
    table = _rows(path, kind)
    for row in [] if table is None else table.itertuples(index=False):
        tag = f"{kind}/{row.layer}/{row.tensor}/{row.stat}"
        file.scalar(tag, pd.to_numeric(row.value, errors="coerce"), int(row.epoch))


def _histograms(file: tbevents.EventFile, path: Path) -> None:
    """weight_histograms.csv (epoch,layer,tensor,min,max,sum,sum_squares,edges,counts; the
    edges and counts space-separated) as TensorBoard histograms."""
    table = _rows(path, "weight histograms")
    for row in [] if table is None else table.itertuples(index=False):
        stats = {c: results.as_number(results.text(getattr(row, c))) for c in HISTOGRAM_STATS}
        if None in stats.values() or not results.text(row.counts):
            continue  # no finite value in the tensor that epoch (a diverged run)
        counts = [float(c) for c in str(row.counts).split()]
        edges = [float(e) for e in str(row.edges).split()]
        file.histogram(f"weights/{row.layer}/{row.tensor}", edges, counts, int(row.epoch),
                       {**stats, "num": float(sum(counts))})  # fmt: skip


def _wall_times(history: pd.DataFrame, start: float | None) -> list[float | None]:
    if start is None or EPOCH_SECONDS not in history.columns:
        return [None] * len(history)
    seconds = pd.to_numeric(history[EPOCH_SECONDS], errors="coerce").fillna(0.0).to_numpy()
    return [start + float(s) for s in np.cumsum(seconds)]


def _seconds(stamp: Any) -> float | None:
    """A time of result.json as seconds since the epoch."""
    moment = results.timestamp(stamp)
    return None if moment is None else moment.timestamp()


def _typed(cells: list[Any]) -> list[bool | float | str]:
    """A column's cells as hparam values of one type: numbers where every cell is one,
    true/false where every cell is one of those, else every cell as written."""
    texts = [results.text(c) for c in cells]
    numbers = [results.as_number(t) for t in texts]
    if None not in numbers:
        return [float(n) for n in numbers if n is not None]
    if all(t.lower() in ("true", "false") for t in texts):
        return [t.lower() == "true" for t in texts]
    return texts


def _finite(value: Any) -> bool:
    return results.as_number(results.text(value)) is not None
