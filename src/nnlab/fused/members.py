"""What each member of a fused group has that ``fit`` would give it: a stand-in for its model
that Keras' own callbacks can drive (the learning rate they read and set, ``stop_training``,
the weights early stopping keeps and restores), and those callbacks.

The callbacks are the ones a separate run uses (``nnlab.callbacks``: the history writer, the
divergence stop, early stopping, the schedules), so a member stops, restores its best weights
and changes its learning rate exactly as it would alone. Imported by ``fused.trainer``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from nnlab import callbacks


class MemberOptimizer:
    """The member's optimizer as a callback sees it: ``learning_rate``, read and set, as
    ``rates[k]`` (float32, what a Keras optimizer holds; the array every member shares)."""

    def __init__(self, rates: np.ndarray, k: int) -> None:
        self._rates, self._k = rates, k

    @property
    def learning_rate(self) -> np.float32:
        return self._rates[self._k]

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        self._rates[self._k] = value


class Snapshot:
    """A member's weights at one epoch: the whole group's state then (JAX arrays are never
    changed in place, so holding it costs no copy) and the member's row in it."""

    def __init__(self, state: Any, k: int) -> None:
        self.state, self.k = state, k


class MemberModel:
    """What Keras callbacks use of ``self.model``; ``holder[0]`` is the group's current state.
    Anything else is the member's own Keras model (``train.capture`` reads its variables,
    which the trainer keeps in step with the group)."""

    def __init__(self, rates: np.ndarray, k: int, holder: list[Any], model: keras.Model) -> None:
        self.optimizer = MemberOptimizer(rates, k)
        self.stop_training = False
        self.restored: Snapshot | None = None
        self._k, self._holder, self._model = k, holder, model

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def get_weights(self) -> Snapshot:
        return Snapshot(self._holder[0], self._k)

    def set_weights(self, weights: Snapshot) -> None:
        self.restored = weights


class Member:
    """One run of the group: its callbacks, in the order ``train.run`` gives them."""

    def __init__(
        self,
        spec: Any,
        writer: callbacks.HistoryWriter,
        model: MemberModel,
        extra: list[Any],
        report: Callable[[int, dict[str, Any]], None],
    ) -> None:
        train = spec.config.train
        self.spec, self.writer, self.model = spec, writer, model
        self.guard = callbacks.DivergenceStop()
        held_out = spec.config.data.held_out
        self.stopper = callbacks.early_stopping(train, held_out)
        self.callbacks: list[keras.callbacks.Callback] = [
            *callbacks.lr_schedule(train, held_out),  # first: it sets the rate the writer records
            *extra,
            writer,
            self.guard,
            *self.stopper,
            callbacks.EpochReporter(report),  # last, as in ``train.run``
        ]
        for cb in self.callbacks:
            cb.set_model(model)  # type: ignore[arg-type]
        self.active = True

    def begin(self) -> None:
        for cb in self.callbacks:
            cb.on_train_begin()

    def epoch_begin(self, epoch: int) -> None:
        for cb in self.callbacks:
            cb.on_epoch_begin(epoch)

    def epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        for cb in self.callbacks:
            cb.on_epoch_end(epoch, logs)
        if self.model.stop_training:
            self.active = False

    def end(self) -> None:
        for cb in self.callbacks:
            cb.on_train_end()
