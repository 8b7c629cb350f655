"""The compiled program of a fused group: Keras' own JAX ``train_step`` and ``test_step`` of one
template model, mapped over the members with ``jax.vmap`` and over the steps of an epoch with
``lax.scan``.

Every member's state (trainable, non-trainable, optimizer and metric variables, in the
template's order) is stacked along a leading axis of size K. Each member reads its own copy of
the data (``data_index`` picks it among the distinct splits) in its own batch order, and a
member that has stopped (early stopping, divergence) keeps its state: its rows of the stack are
left as they were. Nothing here re-implements a layer, a loss, a metric or an optimizer: the
step is the one ``fit`` compiles.

Imported only by ``fused.trainer``, after ``backend.activate("jax", ...)``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import keras
import numpy as np

from nnlab.fused.numbers import Numbers

State = tuple[list[Any], list[Any], list[Any], list[Any]]  # trainable, non-trainable, opt, metrics


@dataclass
class Stacked:
    """The data of a group: each distinct split once, stacked ``[D, n, ...]``."""

    x_train: Any
    y_train: Any
    x_val: Any
    y_val: Any
    x_test: Any | None
    y_test: Any | None


def member_sharding(k: int) -> Any:
    """How to lay ``k`` members over this host's devices (CPU ones, one per core: see
    ``backend.activate``; or accelerators): split along the members' axis over the most
    devices that divide ``k`` and get at least ``members_per_device()`` each; None when
    that is one. Members never talk to each other, so each device runs its share of the
    program on its own."""
    devices = jax.local_devices()
    least = members_per_device()
    count = max((d for d in range(2, len(devices) + 1) if k % d == 0 and k // d >= least),
                default=1)  # fmt: skip
    if count < 2:
        return None
    mesh = jax.sharding.Mesh(np.array(devices[:count]), ("members",))
    return jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("members"))


def members_per_device() -> int:
    """The fewest members a device is given when a group is split (default 32; the variable
    ``NNLAB_FUSED_MEMBERS_PER_DEVICE`` sets it): below it, splitting costs more in compiling
    and hand-offs than it saves (measured here: K=12 trains slower split over 2 CPU devices,
    K=192 faster)."""
    return max(1, int(os.environ.get("NNLAB_FUSED_MEMBERS_PER_DEVICE", "32")))


def _where(active: Any, new: Any, old: Any) -> Any:
    return jax.tree_util.tree_map(lambda n, o: jnp.where(active, n, o), new, old)


class Program:
    """The jitted functions of one group, traced once for all its members.

    ``template`` is a compiled Keras model with the group's architecture, built and with its
    optimizer and metrics built (``fit``'s symbolic build). Its variables' values are never
    used: the members' values come in the stacked state.
    """

    def __init__(
        self, template: keras.Model, batch: int, eval_batch: int, numbers: Numbers, k: int
    ) -> None:
        self.model, self.numbers = template, numbers
        self.sharding = member_sharding(k)
        self.devices = 1 if self.sharding is None else self.sharding.mesh.size
        self.hyper = self.spread({key: jnp.asarray(v) for key, v in numbers.values.items()})
        self.batch, self.eval_batch = batch, eval_batch
        opt = template.optimizer
        self.lr_index = next(i for i, v in enumerate(opt.variables) if v is opt._learning_rate)
        self.metric_names = [m.name for m in template.metrics]
        self.metrics_initial = [v.value for v in template.metrics_variables]
        self._train_epoch = jax.jit(self._epoch_fn)
        self._compiled_epoch: Any = None
        self._compiled_eval: dict[tuple[int, ...], Any] = {}
        self._evaluate = jax.jit(self._evaluate_fn)
        self._predict = jax.jit(self._predict_fn)

    # -- placement -----------------------------------------------------------------------------

    def spread(self, tree: Any) -> Any:
        """``tree`` (leading axis: members) laid over the devices, or as it is on one."""
        return tree if self.sharding is None else jax.device_put(tree, self.sharding)

    def share(self, data: Stacked) -> Stacked:
        """The data (every member reads it) on every device, or as it is on one."""
        if self.sharding is None:
            return data
        every = jax.sharding.NamedSharding(self.sharding.mesh, jax.sharding.PartitionSpec())
        return Stacked(**{name: None if value is None else jax.device_put(value, every)
                          for name, value in vars(data).items()})  # fmt: skip

    # -- state ---------------------------------------------------------------------------------

    def initial_state(self, members: list[keras.Model], learning_rates: np.ndarray) -> State:
        """Each member's variables (from its own Keras model, built with its seed), the
        template's optimizer variables with each member's learning rate, zeroed metrics."""
        k = len(members)
        trainable = [jnp.stack([m.trainable_variables[i].value for m in members])
                     for i in range(len(members[0].trainable_variables))]  # fmt: skip
        non_trainable = [jnp.stack([m.non_trainable_variables[i].value for m in members])
                         for i in range(len(members[0].non_trainable_variables))]  # fmt: skip
        opt_vars = [
            jnp.broadcast_to(v.value, (k, *v.shape)) for v in self.model.optimizer.variables
        ]
        state = self.spread((trainable, non_trainable, opt_vars, self.fresh_metrics(k)))
        return self.with_learning_rates(state, learning_rates)

    def fresh_metrics(self, k: int) -> list[Any]:
        return self.spread([jnp.broadcast_to(v, (k, *v.shape)) for v in self.metrics_initial])

    def with_learning_rates(self, state: State, rates: np.ndarray) -> State:
        """``state`` with member k's learning rate ``rates[k]`` (an optimizer variable)."""
        opt_vars = list(state[2])
        opt_vars[self.lr_index] = self.spread(
            jnp.asarray(rates, dtype=opt_vars[self.lr_index].dtype)
        )
        return state[0], state[1], opt_vars, state[3]

    def compile(self, state: State, data: Stacked, index: np.ndarray) -> None:
        """Compile the epoch and the evaluations for these shapes now (``jit`` would on the
        first call), so that compiling is timed apart from training."""
        k, n = len(index), data.x_train.shape[1]
        head, tail = self._batches(np.zeros((k, n), dtype=np.int32))
        metrics = self.fresh_metrics(k)
        idx = self.spread(jnp.asarray(index))
        active = self.spread(jnp.ones((k,), jnp.bool_))
        args = ((state[0], state[1], state[2], metrics), active, self.hyper, data.x_train,
                data.y_train, idx, head, tail)  # fmt: skip
        self._compiled_epoch = self._train_epoch.lower(*args).compile()
        for x, y in ((data.x_train, data.y_train), (data.x_val, data.y_val)):
            lowered = self._evaluate.lower(state[0], state[1], self.hyper, x, y, idx)
            self._compiled_eval[x.shape] = lowered.compile()

    # -- training ------------------------------------------------------------------------------

    def train_epoch(
        self,
        state: State,
        active: np.ndarray,
        data: Stacked,
        index: np.ndarray,
        order: np.ndarray,
    ) -> tuple[State, dict[str, np.ndarray], dict[str, np.ndarray]]:
        """One epoch for every member: ``order`` is ``[K, n_train]`` (each member's batch
        order), ``index`` each member's split. Returns the new state, the epoch's logs
        (``[K]`` per metric) and the running logs after each step (``[steps, K]``)."""
        head, tail = self._batches(order)
        state = (state[0], state[1], state[2], self.fresh_metrics(len(order)))
        epoch = self._compiled_epoch or self._train_epoch
        active_, index_ = self.spread((jnp.asarray(active), jnp.asarray(index)))
        state, logs, steps = epoch(state, active_, self.hyper, data.x_train, data.y_train,
                                   index_, head, tail)  # fmt: skip
        return state, _numpy(logs), _numpy(steps)

    def _batches(self, order: np.ndarray) -> tuple[Any, Any]:
        """``[K, n]`` sample orders -> the full batches ``[K, steps, batch]`` and the last,
        partial one ``[K, rest]`` (its own step, as ``fit`` takes it), as int32."""
        full = order.shape[1] // self.batch * self.batch
        head = order[:, :full].reshape(len(order), -1, self.batch)
        return self.spread((jnp.asarray(head, dtype=jnp.int32),
                            jnp.asarray(order[:, full:], dtype=jnp.int32)))  # fmt: skip

    def _epoch_fn(
        self, state: State, active: Any, hyper: Any, xs: Any, ys: Any, index: Any, head: Any,
        tail: Any,
    ) -> tuple[State, dict[str, Any], dict[str, Any]]:  # fmt: skip
        model = self.model

        def member_step(
            st: State, on: Any, hp: Any, d: Any, idx: Any
        ) -> tuple[State, dict[str, Any]]:
            self.numbers.apply(hp)
            logs, new = model.train_step(st, (xs[d, idx], ys[d, idx]))
            return _where(on, new, st), logs

        step = jax.vmap(member_step)

        def scan_body(st: State, idx: Any) -> tuple[State, dict[str, Any]]:
            return step(st, active, hyper, index, idx)

        state, steps = jax.lax.scan(scan_body, state, jnp.swapaxes(head, 0, 1))
        logs = jax.tree_util.tree_map(lambda a: a[-1], steps) if head.shape[1] else None
        if tail.shape[1]:
            state, last = step(state, active, hyper, index, tail)
            steps = jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a, b[None]]), steps, last)
            logs = last
        assert logs is not None
        return state, logs, steps

    # -- evaluation ------------------------------------------------------------------------------

    def evaluate(self, state: State, x: Any, y: Any, index: np.ndarray) -> dict[str, np.ndarray]:
        """``model.evaluate`` of every member on its split ``x[index[k]]`` (batches of
        ``eval_batch`` in order, as ``evaluate`` takes them); ``[K]`` per metric."""
        fn = self._compiled_eval.get(tuple(x.shape), self._evaluate)
        return _numpy(fn(state[0], state[1], self.hyper, x, y, self.spread(jnp.asarray(index))))

    def _evaluate_fn(
        self, trainable: Any, non_trainable: Any, hyper: Any, xs: Any, ys: Any, index: Any
    ) -> Any:
        model, b = self.model, self.eval_batch
        n = xs.shape[1]
        full = n // b

        def member(tv: Any, ntv: Any, hp: Any, d: Any) -> Any:
            self.numbers.apply(hp)  # l1/l2 enter the loss
            st = (tv, ntv, list(self.metrics_initial))
            x, y = xs[d], ys[d]
            logs = None
            if full:
                xb = x[: full * b].reshape(full, b, *x.shape[1:])
                yb = y[: full * b].reshape(full, b, *y.shape[1:])

                def body(s: Any, batch: Any) -> Any:
                    out, s = model.test_step(s, batch)
                    return s, out

                st, outs = jax.lax.scan(body, st, (xb, yb))
                logs = jax.tree_util.tree_map(lambda a: a[-1], outs)
            if n > full * b:
                logs, st = model.test_step(st, (x[full * b :], y[full * b :]))
            return logs

        return jax.vmap(member)(trainable, non_trainable, hyper, index)

    def predict(self, state: State, x: Any) -> np.ndarray:
        """Every member's predictions on its own inputs ``x`` (``[K, n, ...]``)."""
        return np.asarray(self._predict(state[0], state[1], self.spread(jnp.asarray(x))))

    def _predict_fn(self, trainable: Any, non_trainable: Any, x: Any) -> Any:
        def member(tv: Any, ntv: Any, xm: Any) -> Any:
            out, _ = self.model.predict_step((tv, ntv), (xm,))
            return out

        return jax.vmap(member)(trainable, non_trainable, x)


def _numpy(logs: dict[str, Any]) -> dict[str, np.ndarray]:
    return {k: np.asarray(v, dtype=np.float64) for k, v in logs.items()}
