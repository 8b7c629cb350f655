"""The name lists in nnlab.names must be exactly what the installed Keras accepts."""

from __future__ import annotations

import pytest

from nnlab import names


@pytest.fixture(scope="module")
def keras():
    import keras

    return keras


@pytest.mark.parametrize("name", names.ACTIVATIONS)
def test_activation_exists_in_keras(keras, name):
    assert callable(keras.activations.get(name))


@pytest.mark.parametrize("name", names.INITIALIZERS)
def test_initializer_exists_in_keras(keras, name):
    from nnlab.models._layers import class_name

    assert issubclass(getattr(keras.initializers, class_name(name)), keras.initializers.Initializer)


@pytest.mark.parametrize("name,cls", names.OPTIMIZERS.items())
def test_optimizer_class_exists(keras, name, cls):
    assert issubclass(getattr(keras.optimizers, cls), keras.optimizers.Optimizer)


@pytest.mark.parametrize("name,fn", [(k, v) for k, v in names.LOSSES.items() if v != "auto"])
def test_loss_exists(keras, name, fn):
    assert callable(keras.losses.get(fn))


@pytest.mark.parametrize("name,cls", [(k, v) for k, v in names.METRICS.items() if v != "accuracy"])
def test_metric_class_exists(keras, name, cls):
    assert issubclass(getattr(keras.metrics, cls), keras.metrics.Metric)


@pytest.mark.parametrize(
    "given,expected",
    [
        ("RandomNormal", "random_normal"),
        ("he_uniform", "he_uniform"),
        ("GlorotUniform", "glorot_uniform"),
    ],
)
def test_snake_case(given, expected):
    assert names.snake_case(given) == expected


def test_unknown_name_suggests_and_lists():
    msg = names.unknown_name("optimizer", "adamm", names.OPTIMIZERS)
    assert msg.startswith("unknown optimizer 'adamm' (did you mean 'adam'?); valid: adadelta,")
    assert "sgd" in msg
