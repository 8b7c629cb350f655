"""One run: load the data, build and compile the model, fit with nnlab's callbacks, and write
the run directory (config.yaml first, history.csv as epochs end, result.json last).

Called by ``execute`` after ``backend.activate``; imports Keras at module level.
"""

from __future__ import annotations

import errno
import math
import re
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import keras
import numpy as np

from nnlab import (
    backend,
    callbacks,
    capture,
    checkpoint,
    diagnose,
    envinfo,
    keras_objects,
    names,
    store,
)
from nnlab.config import watched
from nnlab.data import Dataset, load_dataset
from nnlab.expansion import RunSpec
from nnlab.models import build_model, is_regularized

DISK_FULL = (errno.ENOSPC, errno.EDQUOT)  # a write failed for want of space, not the run
EVAL_BATCH = 1024  # evaluation batch size: larger is faster and gives the same means
BOUNDARY_GRID = 100  # decision-boundary lattice points per axis

Reporter = Callable[[int, dict[str, Any]], None]


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def run(
    spec: RunSpec,
    run_dir: Path,
    report: Reporter | None = None,
    on_trained: Callable[[keras.Model, Dataset], None] | None = None,
) -> dict[str, Any]:
    """Train ``spec`` into ``run_dir`` and return its result (also written to result.json).

    Never raises for a failing run: the exception is recorded with status ``failed``.
    KeyboardInterrupt records ``interrupted`` and is re-raised; an OSError is raised when the
    disk is full (also recorded ``interrupted``, if the record can still be written) or when
    the run directory itself cannot be written. ``on_trained`` sees the fitted model and its
    data before the session is cleared (tests inspect weights with it).
    """
    config = spec.config
    t_start = time.perf_counter()
    result: dict[str, Any] = {"run_id": spec.run_id, "status": store.RUNNING, "started": now()}
    saved = None
    if config.train.checkpoint_every:  # an interrupted attempt's: go on from there
        saved = checkpoint.load(run_dir / store.CHECKPOINT_FILE)
        if saved is not None:
            result["resumed_from_epoch"] = saved["epochs_done"]
    store.begin_run(run_dir, config.run_dict(), result)
    writer = callbacks.HistoryWriter(run_dir / store.HISTORY_FILE)
    captured: list[capture.Capture] = []
    gradients_before = backend.custom_gradients()
    try:
        backend.set_seed(spec.seed, config.backend)
        store.write_json(run_dir / store.ENV_FILE, envinfo.collect(config))
        data = load_dataset(config.data, spec.seed)
        model, info, last_weights = _fit(spec, data, writer, report, run_dir, captured, saved)
        result.update(info)
        if (
            data.raw_train is not None
            and data.task != "regression"
            and (result["status"] == store.COMPLETED)
        ):
            write_boundary(model, data, run_dir / store.BOUNDARY_FILE)
        if on_trained is not None:
            on_trained(model, data)
        if config.train.save_model != "none" and result["status"] == store.COMPLETED:
            result["model"] = save_model(model, run_dir, result["weights_epoch"],
                                         len(writer.rows) - 1, last_weights)  # fmt: skip
    except KeyboardInterrupt:
        result.update(status=store.INTERRUPTED, error="interrupted by the user (Ctrl-C)")
        raise
    except OSError as e:
        if e.errno not in DISK_FULL:
            result.update(
                status=store.FAILED, error=describe_error(e), traceback=traceback.format_exc()
            )
        else:  # not the run's fault: stop the command, as when its record cannot be written
            result.update(status=store.INTERRUPTED, error=f"stopped: {describe_error(e)}")
            raise
    except Exception as e:
        result.update(
            status=store.FAILED, error=describe_error(e), traceback=traceback.format_exc()
        )
    finally:
        writer.close()
        for cap in captured:
            cap.close()
        conclude(result, writer, config)
        if result["status"] != store.INTERRUPTED:  # it ended: a new attempt starts over
            (run_dir / store.CHECKPOINT_FILE).unlink(missing_ok=True)
        result["wall_s"] = round(time.perf_counter() - t_start, 3)
        result["finished"] = now()
        store.write_json(run_dir / store.RESULT_FILE, result)
        keras.backend.clear_session()
        backend.forget_custom_gradients(gradients_before)  # or a worker grows run by run
    return result


def conclude(result: dict[str, Any], writer: callbacks.HistoryWriter, config: Any) -> None:
    """Add what the history says to ``result``: final and best metrics, epochs, diagnosis."""
    result.update(summarise(writer.rows, writer.columns, config))
    try:  # the result is written whatever the diagnosis makes of odd curves
        result["diagnosis"] = diagnose.diagnose_result(writer.rows, result)
    except Exception as e:
        result["diagnosis"] = {"label": "unknown", "reason": f"no diagnosis: {describe_error(e)}"}


def describe_error(e: BaseException) -> str:
    """One line for an error: its first line, and when that is only Keras' "Exception
    encountered when calling ..." wrapper, the cause's first line after it."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", f"{type(e).__name__}: {e}").strip()
    oom = isinstance(e, MemoryError) or "ResourceExhausted" in type(e).__name__
    if oom or "out of memory" in text.lower():
        text = f"out of memory: {text}"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return type(e).__name__
    line = lines[0]
    if "Exception encountered when calling" in line and len(lines) > 1:
        line = f"{line} {lines[1]}"
    return line[:500]


def _fit(
    spec: RunSpec,
    data: Dataset,
    writer: callbacks.HistoryWriter,
    report: Reporter | None,
    run_dir: Path,
    captured: list[capture.Capture],
    saved: dict[str, Any] | None = None,
) -> tuple[keras.Model, dict[str, Any], list[Any] | None]:
    """Compile, evaluate the untrained model (epoch 0), fit; returns the model, what the
    result records about the fit (status, timings, sizes, test metrics), and the last epoch's
    weights when early stopping restored others and ``save_model: final`` wants them. The
    capture, when ``train.capture`` asks for one, is appended to ``captured`` for the caller
    to close. ``saved`` is the checkpoint to resume from (``train.checkpoint_every``)."""
    config, train = spec.config, spec.config.train
    model = build_model(config, data)
    model.compile(
        optimizer=keras_objects.make_optimizer(train),
        loss=keras_objects.loss_name(train, data),
        metrics=keras_objects.make_metrics(train, data),
    )
    y_train = keras_objects.prepare_labels(data.y_train, train, data)
    y_val = keras_objects.prepare_labels(data.y_val, train, data)
    batch = len(data.x_train) if train.batch_size == "full" else train.batch_size
    eval_batch = max(batch, EVAL_BATCH)

    info: dict[str, Any] = {"regularized": is_regularized(model)}
    t0 = time.perf_counter()
    if saved is None:
        logs = _evaluate(model, data.x_train, y_train, eval_batch)
        if data.held_out:
            val_logs = _evaluate(model, data.x_val, y_val, eval_batch)
            logs.update({f"val_{k}": v for k, v in val_logs.items()})
        writer.write_row(0, logs, callbacks.current_lr(model), time.perf_counter() - t0)
    else:
        writer.resume(saved["columns"], saved["rows"])
    cbs: list[keras.callbacks.Callback] = []
    if train.capture:
        loss = keras_objects.loss_name(train, data)
        cap = capture.Capture(model, run_dir, train.capture, data.x_train, y_train, batch, loss,
                              spec.seed)  # fmt: skip
        captured.append(cap)
        cap.record(0)
        cbs += cap.callbacks

    guard = callbacks.DivergenceStop()
    stopper = callbacks.early_stopping(train, data.held_out)
    last = callbacks.LastWeights(train.save_model == "final" and bool(stopper))
    schedule = callbacks.lr_schedule(train, data.held_out)
    cbs = [
        *schedule,  # first: it sets the rate the writer records
        *cbs,
        writer,
        guard,
        last,  # before the stopper, which restores the best weights when training ends
        *stopper,
    ]
    fit_data: dict[str, Any] = {"x": data.x_train, "y": y_train, "batch_size": batch,
                                "shuffle": train.shuffle}  # fmt: skip
    if train.checkpoint_every:  # before the reporter: its event carries the checkpoint
        order = checkpoint.EpochOrder(data.x_train, y_train, batch, spec.seed, train.shuffle)
        fit_data = {"x": order, "shuffle": False}
        cbs.append(checkpoint.Checkpointer(train.checkpoint_every,
                                           run_dir / store.CHECKPOINT_FILE, order,
                                           [*schedule, *stopper], writer, saved))  # fmt: skip
        if saved is not None:
            checkpoint.restore(model, saved)
    if report is not None:
        cbs.append(callbacks.EpochReporter(report))
    cbs += callbacks.user_callbacks(train)  # they see the logs as the history has them
    t_fit = time.perf_counter()
    model.fit(
        **fit_data,
        epochs=train.epochs,
        initial_epoch=saved["epochs_done"] if saved else 0,
        validation_data=(data.x_val, y_val) if data.held_out else None,
        validation_batch_size=eval_batch,
        callbacks=cbs,
        verbose=0,
    )
    out: dict[str, Any] = {**info, "fit_s": round(time.perf_counter() - t_fit, 3)}
    out.update(fit_facts(data, train, batch))
    out.update(fit_ending(guard, stopper, len(writer.rows)))
    if out["status"] == store.DIVERGED:
        return model, out, None
    if data.x_test is not None and data.y_test is not None:
        y_test = keras_objects.prepare_labels(data.y_test, train, data)
        out["test"] = _evaluate(model, data.x_test, y_test, eval_batch)
    if train.evaluate_on:
        out["evaluated"] = evaluated(train.evaluate_on, data, lambda x, y: _evaluate(
            model, x, keras_objects.prepare_labels(y, train, data), eval_batch))
    return model, out, last.weights


def evaluated(
    sets: list[str], data: Dataset, evaluate: Callable[[np.ndarray, np.ndarray], dict[str, float]]
) -> dict[str, float]:
    """``train.evaluate_on``: the final model's ``evaluate`` on each set, as
    ``<set>_<metric>`` (``all_accuracy``, ``train_loss``); ``evaluate(x, y)`` gives the logs."""
    out: dict[str, float] = {}
    for name in sets:
        logs = evaluate(*data.evaluation_set(name))
        out.update({f"{name}_{k}": v for k, v in logs.items()})
    return out


def save_model(
    model: keras.Model, run_dir: Path, weights_epoch: int, last_epoch: int,
    last_weights: list[Any] | None,
) -> dict[str, Any]:  # fmt: skip
    """Write ``model.keras`` (whole: a half-written file never has the name) and return what
    the result records of it: which weights (``best``: those early stopping restored, or
    ``final``: the last epoch's), of which epoch, and its size in bytes. The model holds the
    weights of ``weights_epoch``; ``last_weights`` replace them (``save_model: final`` after
    early stopping restored the best)."""
    if last_weights is not None:
        model.set_weights(last_weights)
        weights_epoch = last_epoch
    path = run_dir / store.MODEL_FILE
    # Keras' saving imports TensorFlow on any backend; the temporary file keeps the .keras
    # suffix Keras wants
    with backend.native_stderr_muted(), store.atomic_path(path) as tmp:
        model.save(tmp)
    return {"file": store.MODEL_FILE, "weights": "final" if weights_epoch == last_epoch else "best",
            "epoch": weights_epoch, "bytes": path.stat().st_size}  # fmt: skip


def fit_facts(data: Dataset, train: Any, batch: int) -> dict[str, Any]:
    """What a run's result records about its data and compiled model, fused or not."""
    loss = keras_objects.loss_name(train, data)
    return {
        "steps_per_epoch": math.ceil(len(data.x_train) / batch),
        "n_train": len(data.x_train),
        "n_val": len(data.x_val),
        "baseline_accuracy": data.majority_baseline(),
        "baseline_loss": data.no_skill_loss(loss),
        "task": data.task,
        "loss": loss,
        "metrics": keras_objects.metric_names(train, data),
    }


def fit_ending(guard: callbacks.DivergenceStop, stopper: list[Any], n_rows: int) -> dict[str, Any]:
    """How a fit ended: diverged (and when), or completed with the epoch whose weights the
    model keeps (the best one, when early stopping restores it)."""
    if guard.diverged_epoch is not None:
        return {
            "status": store.DIVERGED,
            "diverged_epoch": guard.diverged_epoch,
            "error": f"loss became non-finite in epoch {guard.diverged_epoch}",
        }
    # the model from here on (test metrics, decision boundary) has the weights of this epoch
    epoch = n_rows - 1
    if stopper and stopper[0].restore_best_weights and stopper[0].best_weights is not None:
        epoch = stopper[0].best_epoch + 1
    return {"status": store.COMPLETED, "weights_epoch": epoch}


def _evaluate(model: keras.Model, x: np.ndarray, y: np.ndarray, batch: int) -> dict[str, float]:
    logs = model.evaluate(x, y, batch_size=batch, verbose=0, return_dict=True)
    return {k: float(v) for k, v in logs.items()}


def summarise(rows: list[dict[str, float]], columns: list[str], config: Any) -> dict[str, Any]:
    """final (last row), best (over trained epochs), best_epoch of the monitor, epochs run;
    metrics in the history's column order (loss first)."""
    if not rows:
        return {"epochs_run": 0}
    trained = rows[1:]
    skip = {"epoch", "learning_rate", "epoch_seconds"}
    final = {k: rows[-1][k] for k in columns if k not in skip and k in rows[-1]}
    best: dict[str, float] = {}
    for key in final:
        values = [r[key] for r in trained if key in r and math.isfinite(r[key])]
        if values:
            best[key] = max(values) if names.is_maximized(key) else min(values)
    es = config.train.early_stopping
    held_out = config.data.held_out
    if es is not None:
        monitor = watched(es.monitor, held_out)
    else:
        monitor = "val_loss" if "val_loss" in final else "loss"
    best_epoch = None
    candidates = [r for r in trained if math.isfinite(r.get(monitor, math.nan))]
    if candidates:
        pick = max if names.is_maximized(monitor) else min
        best_epoch = int(pick(candidates, key=lambda r: r[monitor])["epoch"])
    epochs_run = int(rows[-1]["epoch"])
    return {
        "epochs_run": epochs_run,
        "stopped_epoch": epochs_run if epochs_run < config.train.epochs else None,
        "monitor": monitor,
        "best_epoch": best_epoch,
        "final": final,
        "best": best,
    }


def write_boundary(model: keras.Model, data: Dataset, path: Path) -> None:
    """Predictions on a lattice over the raw 2-D feature space, plus the data points, as CSV
    (kind, x1, x2, value) so that ``nnlab plot`` can draw the boundary without a backend."""
    grid = boundary_grid(data)
    pred = model.predict(data.transform(grid), batch_size=4096, verbose=0)
    write_boundary_values(grid, pred, data, path)


def boundary_grid(data: Dataset) -> np.ndarray:
    """The lattice (``BOUNDARY_GRID`` points per axis) over the raw 2-D data, padded 8 %."""
    assert data.raw_train is not None and data.raw_val is not None
    points = np.concatenate([data.raw_train, data.raw_val])
    lo, hi = points.min(axis=0), points.max(axis=0)
    pad = (hi - lo) * 0.08
    g1 = np.linspace(lo[0] - pad[0], hi[0] + pad[0], BOUNDARY_GRID)
    g2 = np.linspace(lo[1] - pad[1], hi[1] + pad[1], BOUNDARY_GRID)
    xx, yy = np.meshgrid(g1, g2)
    return np.column_stack([xx.ravel(), yy.ravel()]).astype("float32")


def write_boundary_values(grid: np.ndarray, pred: np.ndarray, data: Dataset, path: Path) -> None:
    """``boundary.csv`` from the model's predictions ``pred`` on ``grid``."""
    assert data.raw_train is not None and data.raw_val is not None
    value = pred[:, 0] if pred.shape[1] == 1 else pred.argmax(axis=1)
    blocks = [("grid", grid, value), ("train", data.raw_train, data.y_train),
              ("val", data.raw_val, data.y_val)]  # fmt: skip
    lines = ["kind,x1,x2,value"]
    for kind, xy, v in blocks:
        lines.extend(f"{kind},{a:.5g},{b:.5g},{c:.4g}" for (a, b), c in zip(xy, v, strict=True))
    store.atomic_write_text(path, "\n".join(lines) + "\n")
