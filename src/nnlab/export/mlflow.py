"""Finished runs into MLflow (``nnlab export mlflow``): one MLflow run per nnlab run, with

* params: the run's resolved config (``config.yaml``) flattened to dotted keys;
* metrics: every history.csv column per epoch (``step`` = epoch, 0 is the untrained model),
  and the summary's ``final_`` and ``best_`` numbers;
* tags: ``nnlab.run_id``, ``nnlab.status``, ``nnlab.diagnosis``, ``nnlab.experiment`` and the
  run's name (its nnlab id);
* artifacts: history.csv, config.yaml, result.json, the run's plots, and model.keras if saved.

Exporting again does not duplicate: an MLflow run is found by its ``nnlab.experiment`` (the
folder) and ``nnlab.run_id`` tags and left alone when the nnlab run has not changed since
(``nnlab.fingerprint``: a hash of its record and history, tagged last, so a run whose export
was cut short is logged again), else logged anew, then the old one deleted. Needs the
``mlflow`` extra.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnlab import names, results, store
from nnlab.errors import ConfigError, NnlabError

INSTALL = "pip install 'nnlab[mlflow]'"
TAG = "nnlab."
RUN_ID_TAG, FINGERPRINT_TAG = f"{TAG}run_id", f"{TAG}fingerprint"
EXPERIMENT_TAG = f"{TAG}experiment"
ARTIFACTS = (store.HISTORY_FILE, store.CONFIG_FILE, store.RESULT_FILE, store.MODEL_FILE)
MAX_PARAM_CHARS = 6000  # MLflow's limit on a param value
BATCH = 1000  # metrics per log_batch call (MLflow's limit)


@dataclass
class Exported:
    """What an export did, by nnlab run id."""

    tracking_uri: str
    experiment_id: str
    logged: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def client(tracking_uri: str | None) -> tuple[Any, str]:
    """An ``MlflowClient`` and its tracking URI (MLflow's default when None: the
    ``MLFLOW_TRACKING_URI`` variable, else ``mlflow.db`` in the current folder)."""
    try:
        import mlflow
    except ImportError:
        raise ConfigError(f"export mlflow: MLflow is not installed; install it: {INSTALL}") \
            from None  # fmt: skip
    uri = tracking_uri or mlflow.get_tracking_uri()
    return mlflow.MlflowClient(tracking_uri=uri), uri


def export(exp_dir: Path, tracking_uri: str | None = None,
           experiment_name: str | None = None) -> Exported:  # fmt: skip
    """Log every run of the experiment folder ``exp_dir`` (see the module's docstring)."""
    exp_dir = Path(exp_dir)
    runs = store.run_dirs(exp_dir)
    if not runs:
        raise ConfigError(f"DIR: {exp_dir} holds no run folders (give an experiment folder, "
                          "runs/NAME)")  # fmt: skip
    mlflow_client, uri = client(tracking_uri)
    try:
        experiment_id = _experiment(mlflow_client, uri, experiment_name or exp_dir.name)
    except Exception as e:  # a URI MLflow cannot open, a server that does not answer
        raise ConfigError(f"--tracking-uri: cannot use {uri}: {type(e).__name__}: "
                          f"{str(e).splitlines()[0] if str(e) else ''}") from None  # fmt: skip
    done = Exported(uri, experiment_id)
    summary = results.experiment_summary(exp_dir)
    rows = {results.text(r[results.RUN_ID]): r for _, r in summary.iterrows()} \
        if results.RUN_ID in summary.columns else {}  # fmt: skip
    existing = _existing(mlflow_client, experiment_id)
    here = str(exp_dir.resolve())
    for run_dir in runs:
        run_id = run_dir.name
        fingerprint = _fingerprint(run_dir)
        olds = existing.get((here, run_id), [])
        same = [o for o in olds if o.data.tags.get(FINGERPRINT_TAG) == fingerprint]
        if same:
            done.unchanged.append(run_id)
        else:
            _log(mlflow_client, experiment_id, exp_dir, run_dir, rows.get(run_id), fingerprint)
            (done.replaced if olds else done.logged).append(run_id)
        for old in olds:  # the run it replaces, or what an export cut short left
            if not same or old is not same[0]:
                mlflow_client.delete_run(old.info.run_id)
    return done


def _experiment(mlflow_client: Any, uri: str, name: str) -> str:
    found = mlflow_client.get_experiment_by_name(name)
    if found is not None:
        if found.lifecycle_stage == "deleted":
            mlflow_client.restore_experiment(found.experiment_id)
        return found.experiment_id
    location = None
    if uri.startswith("sqlite:///"):  # artifacts beside the database, not in the cwd
        database = Path(uri.removeprefix("sqlite:///")).resolve()  # relative to the cwd
        location = (database.parent / "mlartifacts" / name).as_uri()
    return mlflow_client.create_experiment(name, artifact_location=location)


def _existing(mlflow_client: Any, experiment_id: str) -> dict[tuple[str, str], list[Any]]:
    """The experiment's MLflow runs by (nnlab experiment folder, nnlab run id): two folders
    of the same name exported into one MLflow experiment keep their own runs."""
    found: dict[tuple[str, str], list[Any]] = {}
    token = None
    while True:
        page = mlflow_client.search_runs([experiment_id], max_results=1000, page_token=token)
        for run in page:
            tags = run.data.tags
            if tags.get(RUN_ID_TAG):
                key = (tags.get(EXPERIMENT_TAG, ""), tags[RUN_ID_TAG])
                found.setdefault(key, []).append(run)
        token = page.token
        if not token:
            return found


def _fingerprint(run_dir: Path) -> str:
    digest = hashlib.sha256()
    for name in (store.RESULT_FILE, store.HISTORY_FILE, store.MODEL_FILE):
        path = run_dir / name
        digest.update(name.encode())
        if path.is_file():
            digest.update(path.read_bytes() if name != store.MODEL_FILE
                          else str(path.stat().st_size).encode())  # fmt: skip
    return digest.hexdigest()[:16]


def _log(mlflow_client: Any, experiment_id: str, exp_dir: Path, run_dir: Path,
         row: Any, fingerprint: str) -> None:  # fmt: skip
    from mlflow.entities import Metric, Param

    record = results.read_record(run_dir) or {}
    status = record.get(results.STATUS, store.RUNNING)
    diagnosis = record.get(results.DIAGNOSIS)
    tags = {RUN_ID_TAG: run_dir.name, f"{TAG}status": status,
            f"{TAG}diagnosis": diagnosis.get("label", "") if isinstance(diagnosis, dict) else "",
            EXPERIMENT_TAG: str(exp_dir.resolve()), "mlflow.runName": run_dir.name}  # fmt: skip
    run = mlflow_client.create_run(experiment_id, start_time=_millis(record.get("started")),
                                   tags=tags, run_name=run_dir.name)  # fmt: skip
    mlflow_id = run.info.run_id
    _, config = results.read_config_text(run_dir / store.CONFIG_FILE)
    params = [Param(k, v) for k, v in flatten(config)]
    metrics = list(_metrics(run_dir, row, record, Metric))
    for i in range(0, max(len(params), 1), 100):  # MLflow takes 100 params per batch
        mlflow_client.log_batch(mlflow_id, params=params[i:i + 100])
    for i in range(0, len(metrics), BATCH):
        mlflow_client.log_batch(mlflow_id, metrics=metrics[i:i + BATCH])
    for name in ARTIFACTS:
        if (run_dir / name).is_file():
            mlflow_client.log_artifact(mlflow_id, str(run_dir / name))
    if (run_dir / store.PLOTS_DIR).is_dir():
        mlflow_client.log_artifacts(mlflow_id, str(run_dir / store.PLOTS_DIR), store.PLOTS_DIR)
    end = "FINISHED" if status in store.FINISHED else "FAILED" if status == store.FAILED \
        else "KILLED"  # fmt: skip
    mlflow_client.set_terminated(mlflow_id, end, end_time=_millis(record.get("finished")))
    # last: a run whose export was cut short has no fingerprint, and the next export redoes it
    mlflow_client.set_tag(mlflow_id, FINGERPRINT_TAG, fingerprint)


def _metrics(run_dir: Path, row: Any, record: Mapping[str, Any], metric: Any) -> Iterator[Any]:
    """Metric entities: history.csv per epoch, then the final_ and best_ numbers."""
    stamp = _millis(record.get("finished")) or 0
    try:
        history = results.read_history(run_dir / store.HISTORY_FILE)
    except NnlabError:
        history = None
    if history is not None:
        steps = history[results.EPOCH_COLUMN] if results.EPOCH_COLUMN in history else \
            range(len(history))  # fmt: skip
        for column in history.columns:
            if column == results.EPOCH_COLUMN:
                continue
            for step, value in zip(steps, history[column], strict=True):
                if results.as_number(str(value)) is not None:
                    yield metric(column, float(value), stamp, int(step))
    cells = dict(row) if row is not None else results.record_row(run_dir.name, dict(record))
    last = results.as_number(results.text(cells.get("epochs_run"))) or 0
    for key, value in cells.items():
        number = results.as_number(results.text(value))
        if (str(key).startswith(("final_", "best_")) or names.is_evaluated(str(key))) and (
                number is not None):  # fmt: skip
            yield metric(str(key), number, stamp, int(last))


def flatten(config: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """``{"train": {"epochs": 5}}`` -> ``("train.epochs", "5")``; lists and empty mappings as
    their text, cut to MLflow's limit."""
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            yield from flatten(value, f"{name}.")
        else:
            yield name, str(value)[:MAX_PARAM_CHARS]


def _millis(stamp: Any) -> int | None:
    moment = results.timestamp(stamp)
    return None if moment is None else int(moment.timestamp() * 1000)
