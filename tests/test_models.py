"""Model builders: architectures as documented, on data of the right shape."""

from __future__ import annotations

import numpy as np
import pytest

from nnlab import backend
from nnlab.data import Dataset
from nnlab.models import build_model

from helpers import spec

# LeNet-5 of the CIFAR-10 lesson on 32x32x3 input, 'same' padding, 10 classes:
# conv 5*5*3*6+6, conv 5*5*6*16+16, dense 8*8*16*120+120, dense 120*84+84, out 84*10+10
LENET5_CIFAR_PARAMS = 456 + 2416 + 123_000 + 10_164 + 850


@pytest.fixture(scope="module", autouse=True)
def _tensorflow_cpu():
    backend.activate("tensorflow", "cpu")


def images(shape: tuple[int, ...], classes: int = 10, n: int = 40) -> Dataset:
    rng = np.random.default_rng(0)
    x = rng.random((n, *shape), dtype=np.float32)
    y = rng.integers(0, classes, n)
    return Dataset("cifar10", "multiclass", x, y, x[:8], y[:8], n_classes=classes)


def layer_kinds(model) -> list[str]:
    return [type(layer).__name__ for layer in model.layers]


def test_lenet5_is_the_lesson_architecture():
    cfg = spec(
        data={"name": "cifar10", "n_samples": None, "noise": None, "validation": "test"},
        model={"kind": "lenet5", "hidden": None},
    ).config
    model = build_model(cfg, images((32, 32, 3)))
    assert model.count_params() == LENET5_CIFAR_PARAMS
    convs = [layer for layer in model.layers if type(layer).__name__ == "Conv2D"]
    assert [(c.filters, c.kernel_size, c.padding) for c in convs] == [
        (6, (5, 5), "same"), (16, (5, 5), "same")
    ]  # fmt: skip
    dense = [layer.units for layer in model.layers if type(layer).__name__ == "Dense"]
    assert dense == [120, 84, 10]
    assert model.layers[-1].activation.__name__ == "softmax"


def test_lenet5_with_normalization_and_batch_norm():
    data = images((32, 32, 3))
    cfg = spec(
        data={"name": "cifar10", "n_samples": None, "noise": None, "validation": "test",
              "scale": "layer"},
        model={"kind": "lenet5", "batch_norm": True, "hidden": None},
    ).config  # fmt: skip
    model = build_model(cfg, data)
    kinds = layer_kinds(model)
    assert kinds[1] == "Normalization"
    assert kinds.count("BatchNormalization") == 4  # after both convs and both hidden dense
    norm = model.get_layer("normalization")
    np.testing.assert_allclose(
        np.asarray(norm.mean).ravel(), data.x_train.reshape(-1, 3).mean(axis=0), atol=1e-5
    )


def test_cnn_stacks_one_block_per_filter_count():
    cfg = spec(
        data={"name": "digits", "n_samples": None, "noise": None},
        model={"kind": "cnn", "filters": [8, 16, 4], "kernel_size": 3, "hidden": [20]},
    ).config
    model = build_model(cfg, images((8, 8, 1)))
    convs = [layer.filters for layer in model.layers if type(layer).__name__ == "Conv2D"]
    assert convs == [8, 16, 4]
    assert layer_kinds(model).count("MaxPooling2D") == 3
    assert [layer.units for layer in model.layers if type(layer).__name__ == "Dense"] == [20, 10]


def test_mlp_flattens_images_and_heads_follow_the_task():
    cfg = spec(data={"name": "digits", "n_samples": None, "noise": None},
               model={"hidden": [7]}).config  # fmt: skip
    model = build_model(cfg, images((8, 8, 1)))
    assert "Flatten" in layer_kinds(model) and model.output_shape == (None, 10)
    binary = Dataset("x", "binary", np.zeros((4, 2), "float32"), np.array([0, 1, 0, 1]),
                     np.zeros((2, 2), "float32"), np.array([0, 1]), n_classes=2)  # fmt: skip
    out = build_model(spec().config, binary).layers[-1]
    assert out.units == 1 and out.activation.__name__ == "sigmoid"
    regression = Dataset("x", "regression", np.zeros((4, 3), "float32"), np.zeros(4, "float32"),
                         np.zeros((2, 3), "float32"), np.zeros(2, "float32"))  # fmt: skip
    out = build_model(spec().config, regression).layers[-1]
    assert out.units == 1 and out.activation.__name__ == "linear"


def test_penalize_output_false_keeps_l2_on_the_hidden_kernels_only():
    import keras

    x = np.random.default_rng(0).normal(size=(6, 2)).astype("float32")
    y = np.array([0, 1, 0, 1, 0, 1])
    data = Dataset("x", "binary", x, y, x[:2], y[:2], n_classes=2)
    both = build_model(spec(model={"hidden": [5], "l2": 0.5}).config, data)
    hidden = build_model(spec(model={"hidden": [5], "l2": 0.5, "penalize_output": False}).config,
                         data)  # fmt: skip
    hidden.set_weights(both.get_weights())
    assert hidden.get_layer("output").kernel_regularizer is None
    assert hidden.get_layer("dense1").kernel_regularizer is not None
    # the penalty is 0.5 * sum(w^2) over the kernels it covers: the output's is left out
    out_kernel = keras.ops.convert_to_numpy(both.get_layer("output").kernel)
    penalty = [float(sum(keras.ops.convert_to_numpy(v) for v in m.losses)) for m in (both, hidden)]
    assert penalty[0] - penalty[1] == pytest.approx(0.5 * float((out_kernel**2).sum()), rel=1e-5)


def test_a_sigmoid_output_on_ten_classes_and_batch_norm_after_the_activation():
    data = images((32, 32, 3))
    plain = build_model(spec(data={"name": "cifar10", "n_samples": None, "noise": None},
                             model={"kind": "lenet5", "hidden": None,
                                    "output_activation": "sigmoid"}).config,
                        data)  # fmt: skip
    out = plain.get_layer("output")
    assert out.units == 10 and out.activation.__name__ == "sigmoid"
    after = build_model(spec(model={"hidden": [5], "batch_norm": "after"}).config,
                        images((2,), classes=2))  # fmt: skip
    assert layer_kinds(after)[1:5] == ["Dense", "Activation", "BatchNormalization", "Dense"]
    assert after.get_layer("dense1").use_bias  # the lesson's Dense keeps its bias
    before = build_model(spec(model={"hidden": [5], "batch_norm": True}).config,
                         images((2,), classes=2))  # fmt: skip
    assert layer_kinds(before)[1:4] == ["Dense", "BatchNormalization", "Activation"]
    assert not before.get_layer("dense1").use_bias


def test_use_bias_false_leaves_every_layer_without_a_bias():
    data = images((2,), classes=2)
    model = build_model(spec(model={"hidden": [4, 3], "use_bias": False}).config, data)
    dense = [layer for layer in model.layers if type(layer).__name__ == "Dense"]
    assert len(dense) == 3 and not any(layer.use_bias for layer in dense)
    assert model.count_params() == 2 * 4 + 4 * 3 + 3 * 2  # kernels only
