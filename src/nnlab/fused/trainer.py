"""Train a fused group: the runs of one unit as one compiled JAX program, each writing its own
run folder exactly as ``train.run`` does.

For each member, in order: its seed is set as a separate run sets it, its data is loaded and
its Keras model is built (so its initial weights, dropout and noise seeds are that run's), and
the state of NumPy's generator is kept, from which Keras' ``fit`` draws each epoch's batch
order (``np.random.permutation``); the group replays it member by member. Then one template
model is compiled and its ``train_step``/``test_step`` run for all members at once
(``fused.program``). Per epoch, the host drives each member's own Keras callbacks
(``fused.members``): history rows, divergence, early stopping, schedules.

Imported by ``launchers`` after ``backend.activate("jax", ...)``.
"""

from __future__ import annotations

import functools
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax.numpy as jnp
import keras
import numpy as np

from nnlab import backend, callbacks, capture, envinfo, keras_objects, store, train
from nnlab.data import Dataset, load_dataset
from nnlab.events import OnEvent, RunFinished, RunStarted
from nnlab.expansion import RunSpec
from nnlab.fused.members import Member, MemberModel
from nnlab.fused.numbers import Numbers
from nnlab.fused.program import Program, Stacked
from nnlab.models import build_model, is_regularized

RunEnd = Callable[[Path, dict[str, Any]], None]
Reporter = Callable[[int, dict[str, Any]], None]


def train_group(
    specs: tuple[RunSpec, ...],
    exp_dir: Path,
    emit: OnEvent,
    run_end: RunEnd | None,
    report_for: Callable[[str], Reporter],
) -> str | None:
    """Train ``specs`` (one program shape, JAX backend) into ``exp_dir / run_id`` each, emitting
    the events a launcher expects (``report_for(run_id)`` is what a member calls after each
    epoch, as ``train.run`` calls its reporter); returns None. When the program cannot be
    built (a custom builder's layer that the stateless path cannot run, say), nothing is
    recorded and the reason is returned: the caller trains the runs one by one.

    Once training starts it never raises for a failing group: every member records the
    error. KeyboardInterrupt marks every unfinished member interrupted and is re-raised; an
    OSError of a full disk is raised as ``train.run`` raises it."""
    group = _Group(specs, exp_dir, emit, report_for)
    try:
        group.prepare()
    except Exception as e:
        keras.backend.clear_session()
        return f"the fused program could not be built: {train.describe_error(e)}"
    try:
        group.begin()
        group.train()
    except KeyboardInterrupt:
        group.fail(store.INTERRUPTED, "interrupted by the user (Ctrl-C)")
        raise
    except OSError as e:
        if e.errno not in train.DISK_FULL:
            group.fail(store.FAILED, train.describe_error(e), traceback.format_exc())
        else:
            group.fail(store.INTERRUPTED, f"stopped: {train.describe_error(e)}")
            raise
    except Exception as e:
        group.fail(store.FAILED, train.describe_error(e), traceback.format_exc())
    finally:
        group.finish(run_end)
    return None


@functools.cache
def _environment(config_device: str) -> dict[str, Any]:
    """env.json's common part: collected once per process (it runs ``git``)."""
    from types import SimpleNamespace

    return envinfo.collect(SimpleNamespace(device=config_device))


class _Group:
    def __init__(
        self,
        specs: tuple[RunSpec, ...],
        exp_dir: Path,
        emit: OnEvent,
        report_for: Callable[[str], Reporter],
    ) -> None:
        self.specs, self.exp_dir, self.emit, self.report_for = specs, exp_dir, emit, report_for
        self.k = len(specs)
        self.results: list[dict[str, Any]] = []
        self.members: list[Member] = []
        self.writers: list[callbacks.HistoryWriter] = []
        self.captures: list[capture.Capture | None] = [None] * self.k
        self.timing: dict[str, float] = {}
        self.models: list[keras.Model] = []
        self.datas: list[Dataset] = []
        self.rngs: list[Any] = []
        self.t0 = time.perf_counter()

    # -- records -------------------------------------------------------------------------------

    def run_dir(self, k: int) -> Path:
        return self.exp_dir / self.specs[k].run_id

    def begin(self) -> None:
        env = {**_environment(self.specs[0].config.device),
               "fused": {"members": self.k, "backend": "jax",
                         "devices": self.program.devices}}  # fmt: skip
        for k, spec in enumerate(self.specs):
            self.emit(RunStarted(spec.run_id, spec.config.train.epochs))
            result = {"run_id": spec.run_id, "status": store.RUNNING, "started": train.now()}
            store.begin_run(self.run_dir(k), spec.config.run_dict(), result)
            self.results.append(result)
            self.writers.append(callbacks.HistoryWriter(self.run_dir(k) / store.HISTORY_FILE))
            store.write_json(self.run_dir(k) / store.ENV_FILE, env)

    def fail(self, status: str, error: str, trace: str | None = None) -> None:
        for result in self.results:
            if result["status"] == store.RUNNING or "weights_epoch" not in result:
                result.update(status=status, error=error)
                if trace:
                    result["traceback"] = trace

    def finish(self, run_end: RunEnd | None) -> None:
        wall = time.perf_counter() - self.t0
        group = {"members": self.k, "wall_s": round(wall, 3),
                 **{f"{k}_s": round(v, 3) for k, v in self.timing.items()}}  # fmt: skip
        finished = []
        for k, result in enumerate(self.results):
            writer = self.writers[k]
            writer.close()
            if self.captures[k] is not None:
                self.captures[k].close()  # type: ignore[union-attr]
            config = self.specs[k].config
            train.conclude(result, writer, config)
            result["wall_s"] = round(wall / self.k, 3)
            result["fused"] = group
            result["finished"] = train.now()
            store.write_json(self.run_dir(k) / store.RESULT_FILE, result)
            finished.append(result)
        keras.backend.clear_session()
        for k, result in enumerate(finished):
            if run_end is not None:
                run_end(self.run_dir(k), result)
            self.emit(RunFinished(self.specs[k].run_id, result))

    # -- training ------------------------------------------------------------------------------

    def build(self) -> tuple[list[keras.Model], list[Dataset], list[Any]]:
        """Each member's model and data, as its separate run makes them, and the state of
        NumPy's generator after that (where ``fit`` draws the batch orders from)."""
        models, datas, rngs = [], [], []
        for spec in self.specs:
            backend.set_seed(spec.seed, "jax")
            data = load_dataset(spec.config.data, spec.seed)
            models.append(build_model(spec.config, data))
            datas.append(data)
            rngs.append(np.random.get_state())
        return models, datas, rngs

    def prepare(self) -> None:
        """Build every member and the program, and compile it (timed apart)."""
        t = time.perf_counter()
        self.models, self.datas, self.rngs = self.build()
        config = self.specs[0].config
        cfg, data = config.train, self.datas[0]
        batch = len(data.x_train) if cfg.batch_size == "full" else cfg.batch_size
        template = build_model(config, data)
        template.compile(
            optimizer=keras_objects.make_optimizer(cfg),
            loss=keras_objects.loss_name(cfg, data),
            metrics=keras_objects.make_metrics(cfg, data),
        )
        labels = functools.partial(keras_objects.prepare_labels, cfg=cfg, data=data)
        template._symbolic_build(data_batch=(data.x_train[:batch], labels(data.y_train[:batch])))
        numbers = Numbers(template, [s.config for s in self.specs])
        self.program = Program(template, batch, max(batch, train.EVAL_BATCH), numbers, self.k)
        stacked, self.index = _stack(self.datas, labels)
        self.stacked = self.program.share(stacked)
        self.rates = np.array([s.config.train.learning_rate for s in self.specs], np.float32)
        self.state = self.program.initial_state(self.models, self.rates)
        self.timing["build"] = time.perf_counter() - t
        t = time.perf_counter()
        self.program.compile(self.state, self.stacked, self.index)
        self.timing["compile"] = time.perf_counter() - t

    def train(self) -> None:
        program, stacked, index, rates = self.program, self.stacked, self.index, self.rates
        models, datas, rngs, state = self.models, self.datas, self.rngs, self.state
        cfg, data = self.specs[0].config.train, self.datas[0]
        holder = [state]
        for k, spec in enumerate(self.specs):
            extra: list[Any] = []
            if spec.config.train.capture:
                cap = _capture(models[k], spec, datas[k], program.batch, self.run_dir(k))
                self.captures[k] = cap
                cap.record(0)
                extra = cap.callbacks
            proxy = MemberModel(rates, k, holder, models[k])
            report = self.report_for(spec.run_id)
            member = Member(spec, self.writers[k], proxy, extra, report)
            self.members.append(member)

        t = time.perf_counter()
        held_out = data.held_out  # the members share one data section
        logs = program.evaluate(state, stacked.x_train, stacked.y_train, index)
        val = program.evaluate(state, stacked.x_val, stacked.y_val, index) if held_out else {}
        seconds = (time.perf_counter() - t) / self.k
        for k, member in enumerate(self.members):
            member.writer.write_row(0, _epoch_logs(logs, val, k), float(rates[k]), seconds)
            member.begin()
        n = len(data.x_train)
        for epoch in range(cfg.epochs):
            active = np.array([m.active for m in self.members])
            if not active.any():
                break
            t_epoch = time.perf_counter()
            order = np.empty((self.k, n), dtype=np.int32)
            for k, member in enumerate(self.members):
                np.random.set_state(rngs[k])
                order[k] = np.random.permutation(n) if cfg.shuffle else np.arange(n)
                rngs[k] = np.random.get_state()
                if member.active:
                    member.epoch_begin(epoch)
            state = program.with_learning_rates(state, rates)
            state, logs, steps = program.train_epoch(state, active, stacked, index, order)
            if held_out:
                val = program.evaluate(state, stacked.x_val, stacked.y_val, index)
            holder[0] = state
            seconds = (time.perf_counter() - t_epoch) / max(1, int(active.sum()))
            for k, member in enumerate(self.members):
                if not member.active:
                    continue
                epoch_logs = _epoch_logs(logs, val, k)
                member.writer.epoch_started = (
                    time.perf_counter() - seconds
                )  # its share of the epoch
                if self.captures[k] is not None:
                    _sync(models[k], state, k)
                    _replay_batches(member, steps, k)
                member.epoch_end(epoch, epoch_logs)
        self.timing["train"] = time.perf_counter() - t
        for member in self.members:
            member.end()
        self._results(program, state, datas, stacked, index, models)

    def _results(
        self, program: Program, state: Any, datas: list[Dataset], stacked: Stacked,
        index: np.ndarray, models: list[keras.Model],
    ) -> None:  # fmt: skip
        cfg = self.specs[0].config.train
        batch = program.batch
        final = _final_state(state, self.members)
        test = None
        if stacked.x_test is not None:
            test = program.evaluate(final, stacked.x_test, stacked.y_test, index)
        evaluated = self._evaluated(program, final, stacked, index)
        grids = None
        if datas[0].raw_train is not None and datas[0].task != "regression":
            grids = [train.boundary_grid(d) for d in datas]
            pred = program.predict(
                final, np.stack([d.transform(g) for d, g in zip(datas, grids, strict=True)])
            )
        for k, member in enumerate(self.members):
            out: dict[str, Any] = {
                "regularized": is_regularized(models[k]),
                "fit_s": round(self.timing["train"] / self.k, 3),  # its share of the group's
            }
            out.update(train.fit_facts(datas[k], cfg, batch))
            out.update(train.fit_ending(member.guard, member.stopper, len(member.writer.rows)))
            if out["status"] == store.COMPLETED:
                if test is not None:
                    out["test"] = _row(test, k)
                if evaluated:
                    out["evaluated"] = _row(evaluated, k)
                if grids is not None:
                    train.write_boundary_values(grids[k], pred[k], datas[k],
                                                self.run_dir(k) / store.BOUNDARY_FILE)  # fmt: skip
                if self.specs[k].config.train.save_model != "none":
                    out["model"] = self._save(k, models[k], state, final, out["weights_epoch"])
            self.results[k].update(out)

    def _evaluated(
        self, program: Program, final: Any, stacked: Stacked, index: np.ndarray
    ) -> dict[str, np.ndarray]:
        """``train.evaluate_on`` (the same for every member): ``<set>_<metric>`` -> ``[K]``,
        the final weights evaluated on each member's own sets, as ``train.evaluated``."""
        sets = self.specs[0].config.train.evaluate_on
        if not sets:
            return {}
        parts = {"train": (stacked.x_train, stacked.y_train),
                 "validation": (stacked.x_val, stacked.y_val)}  # fmt: skip
        if "all" in sets:
            parts["all"] = tuple(jnp.concatenate([a, b], axis=1) for a, b in zip(
                parts["train"], parts["validation"], strict=True))  # fmt: skip
        out: dict[str, np.ndarray] = {}
        for name in sets:
            logs = program.evaluate(final, *parts[name], index)
            out.update({f"{name}_{k}": v for k, v in logs.items()})
        return out

    def _save(
        self, k: int, model: keras.Model, last: Any, best: Any, weights_epoch: int
    ) -> dict[str, Any]:
        """Member k's weights (``best``: early stopping's restored ones, else the last) and its
        optimizer's state in its own Keras model, compiled as a separate run compiles it,
        saved as that run saves."""
        spec, data = self.specs[k], self.datas[k]
        cfg = spec.config.train
        last_epoch = len(self.members[k].writer.rows) - 1
        if cfg.save_model == "final":
            weights_epoch = last_epoch
        _sync(model, last if weights_epoch == last_epoch else best, k)
        model.compile(optimizer=keras_objects.make_optimizer(cfg),
                      loss=keras_objects.loss_name(cfg, data),
                      metrics=keras_objects.make_metrics(cfg, data))  # fmt: skip
        model.optimizer.build(model.trainable_variables)
        for var, value in zip(model.optimizer.variables, last[2], strict=True):
            var.assign(value[k])  # the template's optimizer: the same variables, in order
        return train.save_model(model, self.run_dir(k), weights_epoch, last_epoch, None)


def _row(logs: dict[str, np.ndarray], k: int) -> dict[str, float]:
    return {name: float(values[k]) for name, values in logs.items()}


def _epoch_logs(
    logs: dict[str, np.ndarray], val: dict[str, np.ndarray], k: int
) -> dict[str, float]:
    """Member k's epoch logs as ``fit`` gives them: the training metrics, then ``val_``."""
    return {**_row(logs, k), **{f"val_{name}": v for name, v in _row(val, k).items()}}


def _stack(datas: list[Dataset], labels: Callable[..., Any]) -> tuple[Stacked, np.ndarray]:
    """Each distinct split once (members with the same split share it), and each member's."""
    distinct: dict[int, int] = {}
    index = np.array([distinct.setdefault(id(d), len(distinct)) for d in datas], dtype=np.int32)
    unique = list({id(d): d for d in datas}.values())

    def stack(get: Callable[[Dataset], Any]) -> Any:
        return jnp.stack([jnp.asarray(get(d)) for d in unique])

    has_test = unique[0].x_test is not None and unique[0].y_test is not None
    return Stacked(
        x_train=stack(lambda d: d.x_train),
        y_train=stack(lambda d: labels(d.y_train, data=d)),
        x_val=stack(lambda d: d.x_val),
        y_val=stack(lambda d: labels(d.y_val, data=d)),
        x_test=stack(lambda d: d.x_test) if has_test else None,
        y_test=stack(lambda d: labels(d.y_test, data=d)) if has_test else None,
    ), index


def _final_state(state: Any, members: list[Member]) -> Any:
    """The state whose row k holds member k's final weights: its best epoch's, when early
    stopping restored them."""
    trainable, non_trainable = list(state[0]), list(state[1])
    for snapshot_state in {id(m.model.restored.state): m.model.restored.state
                           for m in members if m.model.restored is not None}.values():  # fmt: skip
        mask = np.array([m.model.restored is not None and m.model.restored.state is snapshot_state
                         for m in members])  # fmt: skip
        for part, source in ((trainable, snapshot_state[0]), (non_trainable, snapshot_state[1])):
            for i, (now, then) in enumerate(zip(part, source, strict=True)):
                shape = (len(members),) + (1,) * (now.ndim - 1)
                part[i] = jnp.where(jnp.asarray(mask).reshape(shape), then, now)
    return trainable, non_trainable, state[2], state[3]


def _capture(model: keras.Model, spec: RunSpec, data: Dataset, batch: int, run_dir: Path) -> Any:
    """The member's ``train.capture``, on its own Keras model (kept in step with the group)."""
    cfg = spec.config.train
    model.compile(optimizer=keras_objects.make_optimizer(cfg))  # the rate the capture reads
    loss = keras_objects.loss_name(cfg, data)
    y = keras_objects.prepare_labels(data.y_train, cfg, data)
    return capture.Capture(model, run_dir, cfg.capture, data.x_train, y, batch, loss, spec.seed)


def _sync(model: keras.Model, state: Any, k: int) -> None:
    for var, value in zip(model.trainable_variables, state[0], strict=True):
        var.assign(value[k])
    for var, value in zip(model.non_trainable_variables, state[1], strict=True):
        var.assign(value[k])


def _replay_batches(member: Member, steps: dict[str, np.ndarray], k: int) -> None:
    """Hand the batch log each step's running logs, as ``fit`` does after each batch."""
    for cb in member.callbacks:
        if isinstance(cb, capture.BatchLog):  # its epoch began with the member's
            for b in range(len(next(iter(steps.values())))):
                cb.on_train_batch_end(b, {name: float(v[b, k]) for name, v in steps.items()})
