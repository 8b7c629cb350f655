"""Checkpoints (``train.checkpoint_every: N``): a run that is interrupted or killed continues
from its last checkpoint when the same command runs again, and ends as it would have.

A checkpoint (``checkpoint.pkl`` in the run folder, written whole every N epochs) holds what
the rest of the run depends on: the model's variables (weights, batch-norm statistics, and the
dropout and noise layers' seed generators), the optimizer's variables (step count, moments,
the learning rate a plateau schedule lowered), the state of early stopping and of the plateau
schedule, NumPy's and Python's random states, and the history rows so far.

The batch order is the one random draw Keras keeps outside those: ``fit``'s own shuffle draws
from NumPy (JAX) or from a TensorFlow op whose state cannot be saved. A checkpointed run
therefore feeds ``fit`` through :class:`EpochOrder`, whose order in epoch ``e`` is a pure
function of (seed, e). That order differs from Keras' own, so ``checkpoint_every`` is part
of the run id. Imported by ``train`` (Keras at module level).
"""

from __future__ import annotations

import math
import pickle
import random
from pathlib import Path
from typing import Any

import keras
import numpy as np

from nnlab import store

# what the stateful callbacks keep between epochs (EarlyStopping, ReduceLROnPlateau)
CALLBACK_STATE = ("wait", "stopped_epoch", "best", "best_weights", "best_epoch",
                  "cooldown_counter")  # fmt: skip
VERSION = 1


class EpochOrder(keras.utils.PyDataset):
    """The training set in batches, in an order that depends on the seed and the epoch only
    (``shuffle``), or in the data's order. ``epoch`` is set as each epoch begins."""

    def __init__(self, x: np.ndarray, y: np.ndarray, batch: int, seed: int, shuffle: bool):
        super().__init__()
        self.x, self.y, self.batch, self.seed, self.shuffle = x, y, batch, seed, shuffle
        self.epoch = 0
        self._order: tuple[int, np.ndarray] | None = None

    def __len__(self) -> int:
        return math.ceil(len(self.x) / self.batch)

    def order(self) -> np.ndarray:
        if self._order is None or self._order[0] != self.epoch:
            n = len(self.x)
            rng = np.random.default_rng([self.seed, self.epoch])
            self._order = (self.epoch, rng.permutation(n) if self.shuffle else np.arange(n))
        return self._order[1]

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        rows = self.order()[i * self.batch : (i + 1) * self.batch]
        return self.x[rows], self.y[rows]


class Checkpointer(keras.callbacks.Callback):
    """Sets the data's epoch as each epoch begins; writes a checkpoint every ``every``
    epochs; on a resumed run, gives the stateful callbacks their saved state back when
    training begins (after their own ``on_train_begin`` reset it: it comes after them)."""

    def __init__(
        self, every: int, path: Path, order: EpochOrder, stateful: list[Any], writer: Any,
        saved: dict[str, Any] | None = None,
    ) -> None:  # fmt: skip
        super().__init__()
        self.every, self.path, self.order = every, path, order
        self.stateful, self.writer, self.saved = stateful, writer, saved

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self.saved is not None:
            for cb, state in zip(self.stateful, self.saved["callbacks"], strict=True):
                for key, value in state.items():
                    setattr(cb, key, value)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.order.epoch = epoch

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if (epoch + 1) % self.every == 0 and not self.model.stop_training:
            self.write(epoch + 1)

    def write(self, done: int) -> None:
        model = self.model
        state = {
            "version": VERSION,
            "epochs_done": done,
            "model": [np.array(v) for v in model.trainable_variables
                      + model.non_trainable_variables],
            "optimizer": [np.array(v) for v in model.optimizer.variables],
            "callbacks": [{k: getattr(cb, k) for k in CALLBACK_STATE if hasattr(cb, k)}
                          for cb in self.stateful],
            "numpy": np.random.get_state(),
            "python": random.getstate(),
            "columns": list(self.writer.columns),
            "rows": list(self.writer.rows),
        }  # fmt: skip
        store.atomic_write_bytes(self.path, pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))


def load(path: Path) -> dict[str, Any] | None:
    """The checkpoint at ``path``, or None (none there, or unreadable: the run starts over)."""
    try:
        state = pickle.loads(path.read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError):
        return None
    return state if isinstance(state, dict) and state.get("version") == VERSION else None


def restore(model: keras.Model, state: dict[str, Any]) -> None:
    """Put the saved variables and random states back, before ``fit`` resumes."""
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    variables = model.trainable_variables + model.non_trainable_variables
    for var, value in zip(variables, state["model"], strict=True):
        var.assign(value)
    for var, value in zip(model.optimizer.variables, state["optimizer"], strict=True):
        var.assign(value)
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
