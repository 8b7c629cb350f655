"""Keras objects named by ``train``: optimizer, loss and metrics, and the checks made on them
before anything trains (``preflight``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nnlab import names
from nnlab.errors import ConfigError

if TYPE_CHECKING:
    from nnlab.config import ExperimentConfig, TrainConfig
    from nnlab.data import Dataset


def make_optimizer(cfg: TrainConfig) -> Any:
    """``adam`` or ``{name: sgd, momentum: 0.9}``, at ``train.learning_rate``."""
    import keras

    spec = cfg.optimizer
    name, args = (spec, {}) if isinstance(spec, str) else (spec.name, dict(spec.model_extra or {}))
    cls = getattr(keras.optimizers, names.OPTIMIZERS[name])
    return cls(learning_rate=cfg.learning_rate, **args)


def loss_name(cfg: TrainConfig, data: Dataset) -> str:
    """The Keras loss: ``auto`` picks it from the task."""
    if cfg.loss != "auto":
        return names.LOSSES[cfg.loss]
    return {
        "binary": "binary_crossentropy",
        "multiclass": "sparse_categorical_crossentropy",
        "regression": "mean_squared_error",
    }[data.task]


def metric_names(cfg: TrainConfig, data: Dataset) -> list[str]:
    """The metrics to log. On regression data the default ``[accuracy]`` becomes ``[mae]``."""
    if data.task == "regression" and "metrics" not in cfg.model_fields_set:
        return ["mae"]
    return list(cfg.metrics)


def make_metrics(cfg: TrainConfig, data: Dataset) -> list[Any]:
    """Metric objects named exactly as the user wrote them, so the history columns match."""
    import keras

    one_hot = loss_name(cfg, data) in ("categorical_crossentropy", "categorical_hinge")
    out = []
    for m in metric_names(cfg, data):
        cls_name = names.METRICS[m]
        if cls_name == "accuracy":
            if data.task == "binary":
                cls_name = "BinaryAccuracy"
            else:
                cls_name = "CategoricalAccuracy" if one_hot else "SparseCategoricalAccuracy"
        if m == "top5_accuracy" and one_hot:
            cls_name = "TopKCategoricalAccuracy"
        cls = getattr(keras.metrics, cls_name)
        out.append(cls(name=m, k=5) if "TopK" in cls_name else cls(name=m))
    return out


def prepare_labels(y: Any, cfg: TrainConfig, data: Dataset) -> Any:
    """Labels in the form the loss expects: one-hot for categorical losses, float for binary."""
    import numpy as np

    loss = loss_name(cfg, data)
    if loss in ("categorical_crossentropy", "categorical_hinge") and data.task == "multiclass":
        return np.eye(data.n_classes, dtype="float32")[y.astype("int64")]
    if data.task == "binary":
        return y.astype("float32")
    return y


def preflight(config: ExperimentConfig, data: Dataset | None = None) -> None:
    """Build what can be built without training, so a wrong argument is a config error.

    Checks the optimizer and initializer arguments, the custom builder file, and (given the
    data) that the loss and metrics fit the task. Imports Keras.
    """
    problems: list[str] = []
    try:
        make_optimizer(config.train)
    except (TypeError, ValueError) as e:
        problems.append(f"train.optimizer: {_arg_problem(e)}")
    init = config.model.initializer
    if not isinstance(init, str):
        from nnlab.models._layers import initializer

        try:
            initializer(config.model)
        except (TypeError, ValueError) as e:
            problems.append(f"model.initializer: {_arg_problem(e)}")
    if config.model.kind == "custom":
        from nnlab.models import load_builder

        try:
            load_builder(config.model.builder or "")
        except ConfigError as e:
            problems.extend(e.problems)
    if data is not None:
        problems.extend(_task_problems(config, data))
    if problems:
        raise ConfigError(*problems)


def _arg_problem(e: Exception) -> str:
    return str(e).splitlines()[0] if str(e) else type(e).__name__


def _task_problems(config: ExperimentConfig, data: Dataset) -> list[str]:
    problems = []
    if data.task == "regression":
        bad = [
            m for m in metric_names(config.train, data) if m in names.CLASSIFICATION_ONLY_METRICS
        ]
        if bad:
            problems.append(
                f"train.metrics: {', '.join(bad)} need a classification task, "
                f"but {data.name} is regression; try mae, mse or rmse"
            )
        if config.train.loss != "auto" and "entropy" in config.train.loss:
            problems.append(f"train.loss: {config.train.loss} needs a classification task")
    elif config.train.loss in ("mse", "mae", "mean_squared_error", "mean_absolute_error") and (
        data.task == "multiclass"
    ):
        problems.append(
            f"train.loss: {config.train.loss} on {data.n_classes} classes compares a class "
            "index with probabilities; use categorical_crossentropy or auto"
        )
    if data.task != "multiclass" and config.train.loss in (
        "categorical_crossentropy", "sparse_categorical_crossentropy", "categorical_hinge"
    ):  # fmt: skip
        problems.append(
            f"train.loss: {config.train.loss} needs several classes, but {data.name} is "
            f"{data.task}; use binary_crossentropy or auto"
        )
    if data.task == "binary" and "top5_accuracy" in config.train.metrics:
        problems.append("train.metrics: top5_accuracy needs more than 5 classes")
    return problems


__all__ = [
    "loss_name",
    "make_metrics",
    "make_optimizer",
    "metric_names",
    "preflight",
    "prepare_labels",
]
