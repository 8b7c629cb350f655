"""``train.capture``: what happens inside the network while it learns.

* ``weights``: mean, std and L2 norm of every kernel and bias, per layer, at epoch 0 (before
  training) and after each epoch, in ``weights.csv``, and a histogram of each (``HISTOGRAM_BINS``
  equal buckets between its min and max) in ``weight_histograms.csv``;
* ``gradients``: mean, std and L2 norm of the gradient of the training loss with respect to
  every kernel, on one fixed batch of training data, at the same epochs, plus the
  update-to-weight ratio ``learning_rate * |grad| / |kernel|`` (the step plain SGD would take,
  relative to the weights; about 1e-3 is the usual rule of thumb), in ``gradients.csv``;
* ``batches``: the loss and metrics of every training batch, in ``batches.csv``.

weights.csv and gradients.csv are long tables, ``epoch,layer,tensor,stat,value``, with layers
in model order; batches.csv is ``epoch,batch,step,size,loss,<metrics>``. Every file is
streamed and flushed as each epoch ends, like history.csv, so a killed run keeps what it had.

The gradient is computed in training mode (dropout, noise and batch statistics active, as in a
training step) with each backend's own autodiff: ``tf.GradientTape``, ``jax.grad`` over
``stateless_call``, or torch's ``backward``. Every non-trainable variable (batch-norm moving
statistics, random-seed states) is restored afterwards, so capturing never changes training.
Imported only by ``train``, after ``backend.activate``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import keras
import numpy as np

from nnlab.models import leaf_layers
from nnlab.store import (
    BATCHES_FILE,
    GRADIENTS_FILE,
    HISTOGRAM_COLUMNS,
    LONG_COLUMNS,
    WEIGHT_HISTOGRAMS_FILE,
    WEIGHTS_FILE,
    RowFile,
)

GRADIENT_BATCH = 256  # samples in the fixed batch the gradients are measured on
TENSORS = ("kernel", "bias")
HISTOGRAM_BINS = 30


def stats(values: np.ndarray) -> dict[str, float]:
    """mean, std and L2 norm of a tensor, in float64."""
    v = np.asarray(values, dtype=np.float64).ravel()
    return {"mean": float(v.mean()), "std": float(v.std()), "norm": float(np.sqrt(v @ v))}


def histogram(values: np.ndarray) -> list[Any]:
    """min, max, sum, sum of squares, bucket edges and counts of the finite values of a tensor
    (the cells of a ``weight_histograms.csv`` row after epoch, layer and tensor); empty cells
    when none is finite (a diverged run: its history records the divergence)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return ["", "", "", "", "", ""]
    low, high = float(v.min()), float(v.max())
    # a constant tensor (a bias at 0) gets one narrow bucket range, wide enough to be a range
    width = max(high - low, abs(low) * 1e-6, 1e-12)
    with np.errstate(over="ignore", invalid="ignore"):  # values near the float64 limits
        total, squares = float(v.sum()), float(v @ v)
        counts, edges = np.histogram(v, bins=HISTOGRAM_BINS, range=(low, low + width))
    return [_num(low), _num(high), _num(total), _num(squares),
            " ".join(_num(e) for e in edges), " ".join(str(int(c)) for c in counts)]


def _num(value: float) -> str:
    return repr(float(f"{value:.7g}")) if math.isfinite(value) else repr(value)


def tracked_weights(model: keras.Model) -> list[tuple[str, str, Any]]:
    """(layer name, tensor name, variable) for every kernel and bias, in model order.

    A layer is named by its name, unless that is ambiguous: a custom layer holding several
    Dense layers (several kernels), or two layers of the same name in different nested
    models. All the tensors of such a layer are then named by their variable path ("net/
    block/a"), so every (layer, tensor) pair is unique.
    """
    found = []
    for layer in leaf_layers(model):
        mine = [(var.name.split("/")[-1], var) for var in layer.trainable_weights]
        found.append((layer, [(t, v) for t, v in mine if t in TENSORS]))
    names = [layer.name for layer, tensors in found if tensors]
    out = []
    for layer, tensors in found:
        kinds = [t for t, _ in tensors]
        by_path = names.count(layer.name) > 1 or len(kinds) != len(set(kinds))
        for tensor, var in tensors:
            out.append((var.path.rsplit("/", 1)[0] if by_path else layer.name, tensor, var))
    return out


class Capture(keras.callbacks.Callback):
    """Writes the captured statistics. ``record(0)`` is called by the trainer before ``fit``;
    Keras calls ``on_epoch_end`` after each epoch (record ``epoch + 1``)."""

    def __init__(
        self,
        model: keras.Model,
        run_dir: Path,
        kinds: list[str],
        x: np.ndarray,
        y: np.ndarray,
        batch_size: int,
        loss: str,
        seed: int,
    ) -> None:
        super().__init__()
        self.set_model(model)
        self.kinds = list(kinds)
        self.files: dict[str, RowFile] = {}
        self._tracked = tracked_weights(model)
        if "weights" in kinds:
            self.files["weights"] = RowFile(run_dir / WEIGHTS_FILE, LONG_COLUMNS)
            self.files["histograms"] = RowFile(run_dir / WEIGHT_HISTOGRAMS_FILE,
                                               HISTOGRAM_COLUMNS)  # fmt: skip
        if "gradients" in kinds:
            self.files["gradients"] = RowFile(run_dir / GRADIENTS_FILE, LONG_COLUMNS)
            pick = np.random.default_rng(seed).permutation(len(x))[:GRADIENT_BATCH]
            pick.sort()
            self._gx, self._gy = x[pick], y[pick]
            self._loss_fn = keras.losses.get(loss)
        self.callbacks: list[keras.callbacks.Callback] = [self]
        if "batches" in kinds:  # its own callback: a per-batch hook costs every step
            self._batches = BatchLog(run_dir / BATCHES_FILE, len(x), batch_size)
            self.callbacks.append(self._batches)

    # -- weights and gradients -------------------------------------------------------------

    def record(self, epoch: int) -> None:
        if "weights" in self.files:
            rows, histograms = [], []
            for layer, tensor, var in self._tracked:
                values = keras.ops.convert_to_numpy(var)
                for stat, value in stats(values).items():
                    rows.append([epoch, layer, tensor, stat, _num(value)])
                histograms.append([epoch, layer, tensor, *histogram(values)])
            self.files["weights"].write(rows)
            self.files["histograms"].write(histograms)
        if "gradients" in self.files:
            self.files["gradients"].write(self._gradient_rows(epoch))

    def _gradient_rows(self, epoch: int) -> list[list[Any]]:
        kernels = [(layer, var) for layer, tensor, var in self._tracked if tensor == "kernel"]
        grads = kernel_gradients(self.model, [v for _, v in kernels], self._gx, self._gy,
                                 self._loss_fn)  # fmt: skip
        lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        rows = []
        for (layer, var), grad in zip(kernels, grads, strict=True):
            s = stats(grad)
            w_norm = stats(keras.ops.convert_to_numpy(var))["norm"]
            s["update_ratio"] = lr * s["norm"] / w_norm if w_norm > 0 else math.nan
            rows.extend([epoch, layer, "kernel", stat, _num(v)] for stat, v in s.items())
        return rows

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.record(epoch + 1)

    def close(self) -> None:
        for f in self.files.values():
            f.close()
        self.files = {}
        if "batches" in self.kinds:
            self._batches.close()


class BatchLog(keras.callbacks.Callback):
    """``batches.csv``: the loss and metrics of every training batch.

    Keras reports running means over the epoch so far, each weighted by the samples of its
    batch; the value of one batch is recovered from two successive means. The means are
    float32 on most backends, so a batch value late in a long epoch carries the rounding of
    the mean times the batch count (about 1e-7 relative, per batch of the epoch).
    """

    def __init__(self, path: Path, n_train: int, batch_size: int) -> None:
        super().__init__()
        self._path, self._n_train, self._batch = path, n_train, batch_size
        self._file: RowFile | None = None
        self._columns: list[str] = []
        self._rows: list[list[Any]] = []
        self._epoch = 0
        self._prev: tuple[int, dict[str, float]] = (0, {})  # samples seen, means before

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch = epoch + 1
        self._prev = (0, {})

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if not logs:
            return
        if self._file is None:
            # a batch's own value can only be recovered for sample-weighted means; AUC,
            # precision, recall, RMSE and R2 are not means over samples, so they are left out
            self._columns = sorted(
                (k for k in logs if _averaged(k)), key=lambda k: (k != "loss", k)
            )
            header = ["epoch", "batch", "step", "size", *self._columns]
            self._file = RowFile(self._path, header)
        size = min(self._batch, self._n_train - batch * self._batch)
        seen_before, means_before = self._prev
        seen = seen_before + size
        means = {k: float(logs[k]) for k in self._columns if k in logs}
        values = [
            (means[k] * seen - means_before.get(k, 0.0) * seen_before) / size
            if k in means
            else math.nan
            for k in self._columns
        ]
        self._prev = (seen, means)
        steps_per_epoch = math.ceil(self._n_train / self._batch)
        step = (self._epoch - 1) * steps_per_epoch + batch + 1
        self._rows.append([self._epoch, batch, step, size, *map(_num, values)])

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self._file is not None:
            self._file.write(self._rows)
        self._rows = []

    def close(self) -> None:
        # the batches of an epoch that did not end are not written, as history.csv has no
        # row for that epoch either
        if self._file is not None:
            self._file.close()
            self._file = None


# metrics Keras reports as a mean over samples (their running means can be differenced)
AVERAGED_METRICS = (
    "loss", "accuracy", "binary_accuracy", "categorical_accuracy",
    "sparse_categorical_accuracy", "top5_accuracy", "mse", "mae", "mape",
)  # fmt: skip


def _averaged(name: str) -> bool:
    return name in AVERAGED_METRICS or name.endswith("_loss")


# ---------------------------------------------------------------------------------------------
# gradients on each backend


def kernel_gradients(
    model: keras.Model, variables: list[Any], x: np.ndarray, y: np.ndarray, loss_fn: Any
) -> list[np.ndarray]:
    """d(loss)/d(variable) on (x, y) in training mode, as numpy arrays; the model's
    non-trainable state (moving statistics, seed states) is left as it was."""
    saved = [keras.ops.convert_to_numpy(v) for v in model.non_trainable_variables]
    try:
        backend = keras.backend.backend()
        if backend == "tensorflow":
            return _grads_tensorflow(model, variables, x, y, loss_fn)
        if backend == "jax":
            return _grads_jax(model, variables, x, y, loss_fn)
        if backend == "torch":
            return _grads_torch(model, variables, x, y, loss_fn)
        raise NotImplementedError(f"gradient capture is not available on the {backend} backend")
    finally:
        for var, value in zip(model.non_trainable_variables, saved, strict=True):
            var.assign(value)


def _total_loss(model: keras.Model, y: Any, y_pred: Any, loss_fn: Any, extra: list[Any]) -> Any:
    if len(y.shape) == len(y_pred.shape) - 1 and y_pred.shape[-1] == 1:
        y = keras.ops.expand_dims(y, -1)  # as Keras' compiled loss does for (n,) labels
    loss = keras.ops.mean(loss_fn(y, y_pred))
    for term in extra:
        loss = loss + term
    return loss


def _grads_tensorflow(
    model: keras.Model, variables: list[Any], x: np.ndarray, y: np.ndarray, loss_fn: Any
) -> list[np.ndarray]:
    import tensorflow as tf

    with tf.GradientTape() as tape:
        y_pred = model(x, training=True)
        loss = _total_loss(model, y, y_pred, loss_fn, list(model.losses))
    grads = tape.gradient(loss, [v.value for v in variables])
    return [np.asarray(g) for g in grads]


def _grads_jax(
    model: keras.Model, variables: list[Any], x: np.ndarray, y: np.ndarray, loss_fn: Any
) -> list[np.ndarray]:
    import jax

    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]
    wanted = [id(v) for v in variables]
    index = {id(v): i for i, v in enumerate(model.trainable_variables)}

    def loss_of(values: list[Any]) -> Any:
        y_pred, _, losses = model.stateless_call(
            values, non_trainable, x, training=True, return_losses=True
        )
        return _total_loss(model, y, y_pred, loss_fn, list(losses))

    grads = jax.grad(loss_of)(trainable)
    return [np.asarray(grads[index[i]]) for i in wanted]


def _grads_torch(
    model: keras.Model, variables: list[Any], x: np.ndarray, y: np.ndarray, loss_fn: Any
) -> list[np.ndarray]:
    import torch

    params = [v.value for v in variables]
    # dropout without a seed draws from torch's global generator: fork it so training's
    # random stream is the same with or without the capture
    with torch.random.fork_rng(), torch.enable_grad():
        for p in params:
            p.grad = None
        y_pred = model(keras.ops.convert_to_tensor(x), training=True)
        target = keras.ops.convert_to_tensor(y)
        loss = _total_loss(model, target, y_pred, loss_fn, list(model.losses))
        grads = torch.autograd.grad(loss, params)
    return [g.detach().cpu().numpy() for g in grads]
