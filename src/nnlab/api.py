"""The Python API: ``nnlab.run``, ``nnlab.sweep`` and ``nnlab.load_model`` (``docs/api.md``).

The same checks, run ids, resume and launchers as the ``nnlab`` command (both go through
``commands``), but problems are exceptions, never ``sys.exit``: ``ConfigError`` (and the
other ``NnlabError`` kinds) before anything trains, each line naming its key. Runs that fail
or diverge do not raise: the returned :class:`Experiment` says so in its statuses. Ctrl-C
finishes the bookkeeping (the runs in progress are recorded as interrupted, the summary is
written), then ``KeyboardInterrupt`` is raised again.
"""

from __future__ import annotations

import contextlib
import json
import sys
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from nnlab.errors import ConfigError

Sets = Mapping[str, Any] | Sequence[str] | None


def run(
    config: Any,
    *,
    out: str | Path = "runs",
    set: Sets = None,
    workers: int | None = None,
    launcher: str | None = None,
    ray_address: str | None = None,
    gpus_per_run: float = 0.0,
    backend: str | None = None,
    device: str | None = None,
    repeats: int | None = None,
    fused: bool | None = None,
    force: bool = False,
    dry_run: bool = False,
    max_runs: int | None = None,
    quiet: bool = False,
    callbacks: Sequence[Any] | None = None,
    tensorboard: bool = False,
) -> Any:
    """Train every run ``config`` describes (as ``nnlab run``) and return the
    :class:`~nnlab.experiment.Experiment` (with ``dry_run``: a DataFrame of the runs and
    whether each would train).

    ``config`` is a YAML path, a mapping with a config file's content, or an
    ``ExperimentConfig``. ``set`` overrides keys: ``{"train.epochs": 5}`` (or the CLI's
    ``["train.epochs=5"]``). ``callbacks`` are Keras callback objects added to every run's
    ``fit``, in this process (so one worker, the local launcher, no fused groups); unlike
    ``train.callbacks`` they are not part of the run ids: the caller answers for them.
    ``tensorboard=True`` is ``train.tensorboard: true`` for every run (event files and HParams
    sessions under each run's ``tensorboard/``).
    """
    return _experiment(config, locals(), axes=[], mode=None)


def sweep(
    config: Any,
    params: Mapping[str, Any] | None = None,
    *,
    mode: str | None = None,
    out: str | Path = "runs",
    set: Sets = None,
    workers: int | None = None,
    launcher: str | None = None,
    ray_address: str | None = None,
    gpus_per_run: float = 0.0,
    backend: str | None = None,
    device: str | None = None,
    repeats: int | None = None,
    fused: bool | None = None,
    force: bool = False,
    dry_run: bool = False,
    max_runs: int | None = None,
    quiet: bool = False,
    callbacks: Sequence[Any] | None = None,
    tensorboard: bool = False,
) -> Any:
    """:func:`run` with sweep axes added to the config's own (as ``nnlab sweep -p``):
    ``params={"train.batch_size": [16, 64, "full"]}``; in random mode an axis may be a
    distribution, ``{"train.learning_rate": {"log_uniform": [1e-4, 1e-1]}}``. ``mode`` is
    grid, zip or random."""
    axes = [_axis(key, values) for key, values in (params or {}).items()]
    return _experiment(config, locals(), axes=axes, mode=mode)


def load_model(run_dir: str | Path) -> Any:
    """The Keras model a run saved (``train.save_model``), from ``RUN_DIR/model.keras``."""
    from nnlab import store

    path = Path(run_dir) / store.MODEL_FILE
    if not path.is_file():
        raise ConfigError(f"{run_dir}: no {store.MODEL_FILE}; set train.save_model to best "
                          "or final and run it again (force=True if it has finished)")
    import keras

    from nnlab.backend import native_stderr_muted

    with native_stderr_muted():  # Keras' loading imports TensorFlow on any backend
        return keras.saving.load_model(path, compile=True)


def _axis(key: str, values: Any) -> str:
    """A ``params`` entry as the CLI's ``-p KEY=V1,V2`` text (JSON is YAML)."""
    if isinstance(values, Mapping):  # a distribution, for random mode
        return f"{key}={json.dumps(values)}"
    if isinstance(values, str) or not isinstance(values, Sequence):
        values = [values]
    if not values:
        raise ConfigError(f"params.{key}: needs at least one value")
    return f"{key}=" + ",".join(json.dumps(v) for v in values)


def _sets(sets: Sets) -> list[str]:
    if sets is None:
        return []
    if isinstance(sets, Mapping):
        return [f"{key}={json.dumps(value)}" for key, value in sets.items()]
    if isinstance(sets, str):
        return [sets]
    return list(sets)


def _experiment(config: Any, options: dict[str, Any], axes: list[str], mode: str | None) -> Any:
    from nnlab import commands, store

    if isinstance(config, (str, Path)) and not Path(config).is_file():
        raise ConfigError(f"config: {config}: no such file")
    given = list(options["callbacks"] or [])
    where = commands.Where(options["workers"], options["launcher"], options["ray_address"],
                           options["gpus_per_run"])  # fmt: skip
    request = commands.Request(
        config, sets=_sets(options["set"]), axes=axes, mode=mode, out=Path(options["out"]),
        where=where, **{k: options[k] for k in ("backend", "device", "repeats", "fused", "force",
                                                 "dry_run", "max_runs", "tensorboard")},
        in_process=bool(given),
    )  # fmt: skip
    with _objects(given):
        prepared = commands.check(request)
        exp_dir = store.experiment_dir(request.out, prepared.cfg.name)
        if request.dry_run:
            return _plan(prepared.specs, exp_dir, request.force)
        outcome = commands.train(request, prepared, _display(options["quiet"]))
    for problem in (outcome.plot_error, outcome.report_error, outcome.tensorboard_error):
        if problem:
            warnings.warn(problem, RuntimeWarning, stacklevel=3)
    if outcome.interrupted:
        raise KeyboardInterrupt(f"interrupted: finished runs are kept in {exp_dir}; run the "
                                "same call again to finish the rest")  # fmt: skip
    from nnlab.experiment import Experiment

    return Experiment(exp_dir)


@contextlib.contextmanager
def _objects(given: list[Any]) -> Iterator[None]:
    from nnlab import user_code

    user_code.OBJECTS[:] = given
    try:
        yield
    finally:
        user_code.OBJECTS.clear()


def _plan(specs: list[Any], exp_dir: Path, force: bool) -> Any:
    import pandas as pd

    from nnlab import store

    rows = []
    for spec in specs:
        status = store.run_status(exp_dir / spec.run_id)
        rows.append({"run_id": spec.run_id, **spec.values, "seed": spec.seed,
                     "status": status or "", "will_train": store.will_train(status, force)})
    return pd.DataFrame(rows)


def _display(quiet: bool) -> Any:
    from nnlab import events

    if quiet:
        return events.ignore
    from nnlab import notebook

    if notebook.in_notebook():
        return notebook.NotebookProgress()
    from rich.console import Console

    from nnlab import display

    return display.make_display(Console(file=sys.stderr, highlight=False, soft_wrap=True), False)
