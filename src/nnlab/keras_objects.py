"""Keras objects named by ``train``: optimizer, loss and metrics, the labels in the form the
loss expects, and the checks made on them before anything trains (``preflight``)."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from nnlab import names
from nnlab.config import DEFAULT_METRICS
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
    """The metrics to log: ``train.metrics``, or by default accuracy (classification) or
    mae (regression)."""
    if cfg.metrics is not None:
        return list(cfg.metrics)
    return list(DEFAULT_METRICS["regression" if data.task == "regression" else "classification"])


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
    data) that the loss and metrics fit the task. Imports Keras. For the many runs of a
    sweep, ``Preflight`` does the same checks, each once per distinct thing it reads.
    """
    Preflight().check(config, data)


class Preflight:
    """``preflight`` for every run of an experiment. Each check runs once per distinct value
    of what it reads and its problems are remembered: the optimizer and initializer (their
    names and arguments; ``train.learning_rate`` is already a finite number > 0, which every
    optimizer takes), the builder file, the data and train sections (the task checks), the
    data and model sections (a custom builder's model). A sweep of 10,000 learning rates
    builds one optimizer. The problems of a run, and their order, are ``preflight``'s."""

    def __init__(self) -> None:
        self._done: dict[tuple[Any, ...], list[str]] = {}

    def check(self, config: ExperimentConfig, data: Dataset | None = None) -> None:
        """Raise the ``ConfigError`` that ``preflight(config, data)`` raises, if any. The data
        checks are keyed by the data section, so the caller need not keep a dataset alive."""
        specs = (_key(config.train.optimizer), _key(config.model.initializer))
        problems = self._once(("args", *specs), self._arguments, config)
        if config.model.kind == "custom":
            problems = problems + self._once(
                ("builder", config.model.builder), self._loads_builder, config
            )
        if config.train.callbacks:
            problems = problems + self._once(
                ("callbacks", _key_list(config.train.callbacks)), _makes_callbacks, config
            )
        if data is None:
            if problems:
                raise ConfigError(*problems)
            return
        key = ("task", config.data.model_dump_json(), config.train.model_dump_json())
        first = key not in self._done
        problems = problems + self._once(key, lambda c: _task_problems(c, data), config)
        # a custom builder is called here, in this process, only for the first run of each
        # data and train section (as before): a builder that crashes its process must cost
        # only its own run, in its worker, not the whole command before anything trains
        if not problems and config.model.kind == "custom" and first:
            problems = self._once(
                ("built", *key[1:]), lambda c: _builder_returns_a_model(c, data), config
            )
        if problems:
            raise ConfigError(*problems)

    def _once(self, key: tuple[Any, ...], check: Any, config: Any) -> list[str]:
        if key not in self._done:
            self._done[key] = list(check(config))
        return self._done[key]

    @staticmethod
    def _arguments(config: ExperimentConfig) -> list[str]:
        import keras

        from nnlab.models import class_name, initializer

        problems: list[str] = []
        opt = config.train.optimizer
        if not isinstance(opt, str):
            cls = getattr(keras.optimizers, names.OPTIMIZERS[opt.name])
            problems += _unknown_args("train.optimizer", opt.name, cls, opt.model_extra)
        init = config.model.initializer
        if not isinstance(init, str):
            cls = getattr(keras.initializers, class_name(init.name))
            problems += _unknown_args("model.initializer", init.name, cls, init.model_extra)
        if not problems:
            try:
                make_optimizer(config.train)
            except (TypeError, ValueError) as e:
                problems.append(f"train.optimizer: {_arg_problem(e)}")
            try:
                initializer(config.model)((2, 2))  # values are checked only when it draws
            except (TypeError, ValueError) as e:
                problems.append(f"model.initializer: {_arg_problem(e)}")
        return problems

    @staticmethod
    def _loads_builder(config: ExperimentConfig) -> list[str]:
        from nnlab.models import load_builder

        try:
            load_builder(config.model.builder or "")
        except ConfigError as e:
            return list(e.problems)
        return []


def _key_list(specs: list[Any]) -> str:
    return "[" + ",".join(s.model_dump_json() for s in specs) + "]"


def _makes_callbacks(config: ExperimentConfig) -> list[str]:
    """Each of ``train.callbacks`` imports and makes a Keras callback with its args."""
    from nnlab.callbacks import user_callbacks

    try:
        user_callbacks(config.train)
    except ConfigError as e:
        return list(e.problems)
    return []


def _key(spec: Any) -> Any:
    """An optimizer or initializer: its name, or its name and arguments."""
    return spec if isinstance(spec, str) else spec.model_dump_json()


def _builder_returns_a_model(config: ExperimentConfig, data: Dataset) -> list[str]:
    """Call the custom builder once: what it returns must be a Keras model. A builder that
    raises is left to the run, which records the error (as for any failing run)."""
    import keras

    from nnlab.models import build_custom

    try:
        build_custom(config, data)
    except TypeError as e:
        if str(e).startswith("model.builder:"):
            return [str(e)]
    except Exception:
        pass
    finally:
        keras.backend.clear_session()  # the runs' layer names start from scratch
    return []


def _unknown_args(key: str, name: str, cls: type, given: dict[str, Any] | None) -> list[str]:
    """Arguments that ``cls`` does not take, each with a suggestion and the valid ones."""
    valid = [
        p for p in inspect.signature(cls).parameters
        if p not in ("self", "kwargs", "learning_rate", "name")
    ]  # fmt: skip
    return [
        f"{key}.{arg}: {names.unknown_name(f'{name} argument', arg, valid)}"
        for arg in (given or {})
        if arg not in valid
    ]


def _arg_problem(e: Exception) -> str:
    return str(e).splitlines()[0] if str(e) else type(e).__name__


_CATEGORICAL_LOSSES = ("categorical_crossentropy", "sparse_categorical_crossentropy",
                      "categorical_hinge")  # fmt: skip
_BINARY_ONLY = {"binary_accuracy", "auc", "precision", "recall"}


def _task_problems(config: ExperimentConfig, data: Dataset) -> list[str]:
    """Loss, metrics and monitors that cannot work on this data's task."""
    train, problems = config.train, []
    metrics = metric_names(train, data)
    loss = train.loss
    if data.task == "regression":
        bad = [m for m in metrics if m in names.CLASSIFICATION_ONLY_METRICS]
        if bad:
            problems.append(
                f"train.metrics: {', '.join(bad)} need a classification task, "
                f"but {data.name} is regression; try mae, mse or rmse"
            )
        if "entropy" in loss or "hinge" in loss:
            problems.append(f"train.loss: {loss} needs a classification task")
    if data.task == "multiclass":
        bad = sorted(_BINARY_ONLY & set(metrics))
        if bad:
            problems.append(
                f"train.metrics: {', '.join(bad)} work on two classes, but {data.name} has "
                f"{data.n_classes}; use accuracy or top5_accuracy"
            )
        if loss.startswith("binary") or loss in (
            "mse",
            "mae",
            "mean_squared_error",
            "mean_absolute_error",
            "hinge",
            "squared_hinge",
        ):
            problems.append(
                f"train.loss: {loss} does not fit {data.n_classes} classes "
                "(a softmax output); use sparse_categorical_crossentropy or auto"
            )  # fmt: skip
        if "top5_accuracy" in metrics and data.n_classes <= 5:
            problems.append(f"train.metrics: top5_accuracy needs more than 5 classes, "
                            f"{data.name} has {data.n_classes}")  # fmt: skip
    if data.task != "multiclass":
        if loss in _CATEGORICAL_LOSSES:
            problems.append(
                f"train.loss: {loss} needs several classes, but {data.name} is "
                f"{data.task}; use binary_crossentropy or auto"
            )
        if "top5_accuracy" in metrics:
            problems.append("train.metrics: top5_accuracy needs more than 5 classes")
    problems += [f"train.{p}" for p in train.unlogged_monitors(metrics, data.task, data.held_out)]
    return problems


__all__ = [
    "Preflight",
    "loss_name",
    "make_metrics",
    "make_optimizer",
    "metric_names",
    "preflight",
    "prepare_labels",
]
