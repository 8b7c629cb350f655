"""The Keras objects ``train`` names (optimizer, loss, metrics, labels) and the checks made on
them before anything trains."""

from __future__ import annotations

import numpy as np
import pytest

from nnlab import backend, keras_objects
from nnlab.config import TrainConfig
from nnlab.data import Dataset
from nnlab.errors import ConfigError

from helpers import spec


@pytest.fixture(scope="module", autouse=True)
def _tensorflow_cpu():
    backend.activate("tensorflow", "cpu")


def train(**keys) -> TrainConfig:
    return TrainConfig.model_validate(keys)


def dataset(task: str, n_classes: int = 0, name: str = "d") -> Dataset:
    x = np.zeros((6, 2), np.float32)
    y = np.array([0, 1, 2, 0, 1, 2]) % max(n_classes, 1) if task != "regression" else x[:, 0]
    return Dataset(name, task, x, y, x, y, n_classes=n_classes)  # type: ignore[arg-type]


BINARY, MULTICLASS, REGRESSION = (
    dataset("binary", 2),
    dataset("multiclass", 3),
    dataset("regression"),
)


def test_make_optimizer_is_the_class_and_learning_rate_asked_for():
    import keras

    adam = keras_objects.make_optimizer(train())
    assert type(adam) is keras.optimizers.Adam
    assert float(adam.learning_rate) == pytest.approx(0.001)
    sgd = keras_objects.make_optimizer(
        train(optimizer={"name": "SGD", "momentum": 0.9, "nesterov": True}, learning_rate=0.05)
    )
    assert type(sgd) is keras.optimizers.SGD
    assert float(sgd.learning_rate) == pytest.approx(0.05)
    assert sgd.momentum == pytest.approx(0.9) and sgd.nesterov is True


@pytest.mark.parametrize(
    "loss,data,expected",
    [
        ("auto", BINARY, "binary_crossentropy"),
        ("auto", MULTICLASS, "sparse_categorical_crossentropy"),
        ("auto", REGRESSION, "mean_squared_error"),
        ("mse", REGRESSION, "mean_squared_error"),
        ("categorical_crossentropy", MULTICLASS, "categorical_crossentropy"),
    ],
)
def test_loss_name_picks_auto_from_the_task(loss, data, expected):
    assert keras_objects.loss_name(train(loss=loss), data) == expected


def test_metric_names_default_to_the_task_and_keep_what_was_asked():
    assert keras_objects.metric_names(train(), BINARY) == ["accuracy"]
    assert keras_objects.metric_names(train(), MULTICLASS) == ["accuracy"]
    assert keras_objects.metric_names(train(), REGRESSION) == ["mae"]
    assert keras_objects.metric_names(train(metrics=["mse", "mae"]), REGRESSION) == ["mse", "mae"]


@pytest.mark.parametrize(
    "loss,data,classes",
    [
        ("auto", BINARY, ["BinaryAccuracy"]),
        ("auto", MULTICLASS, ["SparseCategoricalAccuracy"]),
        ("categorical_crossentropy", MULTICLASS, ["CategoricalAccuracy"]),
    ],
)
def test_make_metrics_are_named_as_written(loss, data, classes):
    metrics = keras_objects.make_metrics(train(loss=loss), data)
    assert [type(m).__name__ for m in metrics] == classes
    assert [m.name for m in metrics] == ["accuracy"]


def test_prepare_labels_one_hot_for_categorical_losses():
    y = np.array([2, 0, 1])
    one_hot = keras_objects.prepare_labels(y, train(loss="categorical_crossentropy"), MULTICLASS)
    assert one_hot.dtype == np.float32
    assert one_hot.tolist() == [[0, 0, 1], [1, 0, 0], [0, 1, 0]]
    assert keras_objects.prepare_labels(y, train(), MULTICLASS) is y  # sparse: as it is
    binary = keras_objects.prepare_labels(np.array([1, 0]), train(), BINARY)
    assert binary.dtype == np.float32 and binary.tolist() == [1.0, 0.0]


def problems(config, data=None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        keras_objects.preflight(config, data)
    return info.value.problems


def test_preflight_names_an_unknown_optimizer_argument():
    config = spec(train={"optimizer": {"name": "sgd", "momentun": 0.9}}).config
    (line,) = problems(config)
    assert line.startswith(
        "train.optimizer.momentun: unknown sgd argument 'momentun' (did you mean 'momentum'?); "
        "valid: "
    )
    assert "nesterov" in line.split("valid: ")[1].split(", ")


def test_preflight_checks_the_loss_and_metrics_against_the_task():
    config = spec(train={"metrics": ["accuracy"], "loss": "binary_crossentropy"}).config
    assert problems(config, dataset("regression", name="wine")) == [
        "train.metrics: accuracy need a classification task, but wine is regression; "
        "try mae, mse or rmse",
        "train.loss: binary_crossentropy needs a classification task",
    ]
    keras_objects.preflight(config, BINARY)  # fits two classes: nothing raised


def test_preflight_checks_monitors_against_the_task_s_metrics():
    # val_accuracy passes the schema (some task logs it) but regression data does not log it
    config = spec(train={"early_stopping": {"monitor": "val_accuracy"}}).config
    keras_objects.preflight(config)  # without the data: nothing to say yet
    assert problems(config, REGRESSION) == [
        "train.early_stopping.monitor: 'val_accuracy' is never logged on regression data; "
        "valid: loss, mae, val_loss, val_mae"
    ]


def test_preflight_names_the_key_of_a_value_keras_refuses():
    bad_momentum = spec(train={"optimizer": {"name": "sgd", "momentum": -1}}).config
    (line,) = problems(bad_momentum)
    assert line.startswith("train.optimizer: ") and "momentum" in line
    typo = spec(model={"initializer": {"name": "random_normal", "stdev": 1.0}}).config
    (line,) = problems(typo)
    assert line.startswith(
        "model.initializer.stdev: unknown random_normal argument 'stdev' "
        "(did you mean 'stddev'?); valid: "
    )
