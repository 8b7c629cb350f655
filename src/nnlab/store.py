"""Experiment and run directories: their paths, atomic writes, and the records that resume reads.

Layout (see the SPEC)::

    <out>/<name>/experiment.yaml, summary.csv, plots/
    <out>/<name>/<run_id>/config.yaml, history.csv, result.json, env.json, boundary.csv, plots/

Every file that a later command trusts is written to a temporary file in the same folder and
renamed over the target, so a reader never sees a torn file. Nothing here imports a backend.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

CONFIG_FILE = "config.yaml"
HISTORY_FILE = "history.csv"
RESULT_FILE = "result.json"
ENV_FILE = "env.json"
BOUNDARY_FILE = "boundary.csv"
MODEL_FILE = "model.keras"  # train.save_model
CHECKPOINT_FILE = "checkpoint.pkl"  # train.checkpoint_every: removed when the run ends
EXPERIMENT_FILE = "experiment.yaml"
SUMMARY_FILE = "summary.csv"
# what train.capture writes
WEIGHTS_FILE = "weights.csv"
GRADIENTS_FILE = "gradients.csv"
BATCHES_FILE = "batches.csv"
LONG_COLUMNS = ("epoch", "layer", "tensor", "stat", "value")
# capture: weights also writes a histogram of every kernel and bias per epoch (TensorBoard's
# histograms); edges and counts are space-separated numbers in one cell each
WEIGHT_HISTOGRAMS_FILE = "weight_histograms.csv"
HISTOGRAM_COLUMNS = ("epoch", "layer", "tensor", "min", "max", "sum", "sum_squares", "edges",
                     "counts")  # fmt: skip
PLOTS_DIR = "plots"

# statuses a run can end with; "running" is written when it starts
COMPLETED, DIVERGED, FAILED, INTERRUPTED, RUNNING = (
    "completed", "diverged", "failed", "interrupted", "running",
)  # fmt: skip
FINISHED = (COMPLETED, DIVERGED)
STOPPED = (RUNNING, INTERRUPTED)  # a record whose run did not end on its own


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# mkstemp creates files readable by the owner only; give written files the usual mode
FILE_MODE = 0o666 & ~_umask()


def _naming(e: OSError, target: Path, unnamed: tuple[str | None, ...] = (None,)) -> OSError:
    """``e`` naming ``target`` when it names no file (a failed ``write``, ``flush`` or
    ``fsync``, as on a full disk) or one of ``unnamed`` (a temporary file)."""
    if e.filename in unnamed:
        return OSError(e.errno, e.strerror or str(e), str(target))
    return e


class RowFile:
    """A CSV file written and flushed a row (or a batch of rows) at a time, for the files a
    run streams (``history.csv``, the captures): a crash cuts at most the last line, which
    every reader drops. A write that fails names the file."""

    def __init__(self, path: str | Path, header: list[str] | tuple[str, ...]) -> None:
        self.path = Path(path)
        self._failed = False
        try:
            self._file = open(self.path, "w", newline="", encoding="utf-8")  # noqa: SIM115
        except OSError as e:
            raise _naming(e, self.path) from e
        self._writer = csv.writer(self._file)
        try:
            self.write([list(header)])
        except OSError:
            self.close()
            raise

    def write(self, rows: list[list[Any]]) -> None:
        try:
            self._writer.writerows(rows)
            self._file.flush()
        except OSError as e:
            self._failed = True
            raise _naming(e, self.path) from e

    def close(self) -> None:
        """Close the file. After a failed write, the buffer still holds the rows that could
        not be written, and closing tries them again: on a full disk that fails again, after
        the file is closed. That error was raised already, so it is not raised twice."""
        try:
            self._file.close()
        except OSError as e:
            if not self._failed:
                raise _naming(e, self.path) from e


@contextlib.contextmanager
def atomic_path(target: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success fsync it and rename it over
    ``target``.

    Use it for writers that want a file name (``fig.savefig(tmp)``); on an exception the
    temporary file is removed and ``target`` is left as it was.
    """
    target = Path(target)
    tmp: str | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=suffix or target.suffix, dir=target.parent
        )
        os.close(fd)
        os.chmod(tmp, FILE_MODE)
        yield Path(tmp)
        fd = os.open(tmp, os.O_RDONLY)  # on disk before it takes the target's name
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException as e:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if isinstance(e, OSError) and e.filename in (None, tmp):  # a write or fsync: no name
            raise _naming(e, target, (None, tmp)) from e
        raise


def atomic_write_text(target: str | Path, text: str) -> None:
    """Write ``text`` to ``target`` all at once (temporary file, fsync, rename)."""
    with atomic_path(target) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(text)


def atomic_write_bytes(target: str | Path, data: bytes) -> None:
    """Write ``data`` to ``target`` all at once (temporary file, fsync, rename)."""
    with atomic_path(target) as tmp, open(tmp, "wb") as f:
        f.write(data)


def _json_safe(value: Any) -> Any:
    """NaN and infinity are not JSON; write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def write_json(target: str | Path, data: dict[str, Any]) -> None:
    atomic_write_text(target, json.dumps(_json_safe(data), indent=2, sort_keys=False) + "\n")


class _Dumper(yaml.SafeDumper):
    """Mappings in block style, lists of scalars inline (``hidden: [16, 16]``), no wrapping."""


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flat = all(not isinstance(v, dict | list) for v in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flat)


_Dumper.add_representer(list, _represent_list)


def dump_yaml(data: dict[str, Any]) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, width=10_000, allow_unicode=True)


def write_yaml(target: str | Path, data: dict[str, Any]) -> None:
    atomic_write_text(target, dump_yaml(data))


def read_json(path: str | Path) -> dict[str, Any] | None:
    """The parsed file, or None when it is missing or unreadable (a run that never finished)."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def begin_run(run_dir: Path, run_config: dict[str, Any], result: dict[str, Any]) -> None:
    """Before a run trains: its folder, its resolved ``config.yaml``, a ``running`` result
    (so a crash leaves a record that resume re-runs), and no files of an earlier attempt:
    its curves, environment, boundary, captures, saved model and plots."""
    run_dir.mkdir(parents=True, exist_ok=True)
    write_yaml(run_dir / CONFIG_FILE, run_config)
    write_json(run_dir / RESULT_FILE, result)
    for stale in (HISTORY_FILE, ENV_FILE, BOUNDARY_FILE, WEIGHTS_FILE, GRADIENTS_FILE,
                  BATCHES_FILE, MODEL_FILE):  # fmt: skip
        (run_dir / stale).unlink(missing_ok=True)
    for png in (run_dir / PLOTS_DIR).glob("*.png"):
        png.unlink(missing_ok=True)


def record_end(run_dir: Path, run_id: str, status: str, error: str) -> dict[str, Any]:
    """End the record of a run whose own process could not: its last record (or a bare one)
    with ``status`` and ``error``. Returns the record written."""
    result = read_json(run_dir / RESULT_FILE) or {"run_id": run_id}
    result.update(status=status, error=error)
    write_json(run_dir / RESULT_FILE, result)
    return result


STALE_ERROR = (
    "the command training it stopped before it could record an end (killed, a crash, the "
    "machine going down, or a full disk); marked interrupted by the next command"
)


def mark_stale_runs(exp_dir: str | Path) -> list[str]:
    """Mark interrupted every run of ``exp_dir`` whose record still says ``running``, and
    return their ids. Call it only while holding the experiment's lock: then no command is
    training those runs, and each such record is what a command that died left behind (the
    workers of a command killed alone stop within about an epoch of it, and may still be
    writing their last record at that moment: see ``launchers._pool.watch_parent``)."""
    stale = [d for d in run_dirs(exp_dir) if run_status(d) == RUNNING]
    for d in stale:
        record_end(d, d.name, INTERRUPTED, STALE_ERROR)
    return [d.name for d in stale]


def experiment_dir(out: str | Path, name: str) -> Path:
    return Path(out) / name


def is_run_dir(path: str | Path) -> bool:
    p = Path(path)
    return (p / HISTORY_FILE).is_file() or (p / RESULT_FILE).is_file()


def run_dirs(experiment: str | Path) -> list[Path]:
    """The run directories of an experiment, sorted by name."""
    p = Path(experiment)
    if not p.is_dir():
        return []
    return sorted(d for d in p.iterdir() if d.is_dir() and is_run_dir(d))


def will_train(status: str | None, force: bool) -> bool:
    """Whether a run whose record says ``status`` (None: no record) trains now: unless it
    completed or diverged (``force`` re-runs those too). Failed, interrupted and
    never-finished (``running`` after a crash) runs are always trained again."""
    return force or status not in FINISHED


def run_status(run_dir: str | Path) -> str | None:
    """The status recorded in ``result.json``, or None when the run never started."""
    result = read_json(Path(run_dir) / RESULT_FILE)
    return None if result is None else result.get("status")
