"""Each training option does what its name says inside Keras, proven with numbers."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from nnlab import backend, store

from helpers import linear_csv, spec


@pytest.fixture(scope="module", autouse=True)
def _tensorflow_cpu():
    backend.activate("tensorflow", "cpu")


def train(tmp_path: Path, keep: dict[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
    """Run one TINY experiment with ``changes``; ``keep`` receives the fitted model and data."""
    from nnlab import train as train_mod

    s = spec(**changes)

    def on_trained(model, data):
        if keep is not None:
            keep["model"], keep["data"] = model, data
            keep["kernels"] = [
                np.asarray(layer.kernel) for layer in model.layers if hasattr(layer, "kernel")
            ]

    result = train_mod.run(s, tmp_path / s.run_id, on_trained=on_trained)
    result["_dir"] = tmp_path / s.run_id
    return result


def history(result: dict[str, Any]) -> pd.DataFrame:
    return pd.read_csv(result["_dir"] / store.HISTORY_FILE)


def test_run_directory_has_every_file_and_epoch_zero(tmp_path):
    result = train(tmp_path, train={"epochs": 4})
    run_dir = result["_dir"]
    for name in ("config.yaml", "history.csv", "result.json", "env.json", "boundary.csv"):
        assert (run_dir / name).is_file(), name
    h = history(result)
    assert list(h.columns) == [
        "epoch",
        "loss",
        "accuracy",
        "val_loss",
        "val_accuracy",
        "learning_rate",
        "epoch_seconds",
    ]
    assert h["epoch"].tolist() == [0, 1, 2, 3, 4]
    # epoch 0 is the untrained model: a sigmoid output near 0.5 gives a loss near ln 2
    assert 0.5 < h["loss"][0] < 1.2
    saved = store.read_json(run_dir / "result.json")
    assert saved["status"] == "completed" and saved["epochs_run"] == 4
    assert saved["final"]["val_accuracy"] == pytest.approx(h["val_accuracy"].iloc[-1])
    assert saved["best"]["val_loss"] == pytest.approx(h["val_loss"][1:].min())
    assert saved["best_epoch"] == int(h.loc[h["val_loss"][1:].idxmin(), "epoch"])
    assert saved["fit_s"] > 0 and saved["wall_s"] >= saved["fit_s"]
    env = store.read_json(run_dir / "env.json")
    assert env["backend"] == "tensorflow" and env["device"]["used"] == "cpu"


def test_early_stopping_stops_before_epochs_and_restores_the_best(tmp_path):
    keep: dict[str, Any] = {}
    result = train(
        tmp_path, keep,
        train={"epochs": 300, "learning_rate": 0.05,
               "early_stopping": {"monitor": "val_loss", "patience": 3}},
    )  # fmt: skip
    assert result["status"] == "completed"
    h = history(result)
    best = int(h.loc[h["val_loss"][1:].idxmin(), "epoch"])
    # stopped exactly `patience` epochs after the best one, well before 300
    assert result["epochs_run"] == result["stopped_epoch"] == best + 3 < 300
    assert len(h) == result["epochs_run"] + 1
    assert result["best_epoch"] == result["weights_epoch"] == best
    model, data = keep["model"], keep["data"]
    restored = model.evaluate(data.x_val, data.y_val.astype("float32"), verbose=0)[0]
    assert restored == pytest.approx(h["val_loss"].min(), rel=1e-4)


def test_l2_gives_smaller_kernel_norm(tmp_path):
    norms = {}
    for l2 in (0.0, 0.05):
        keep: dict[str, Any] = {}
        train(tmp_path / str(l2), keep, model={"hidden": [32], "l2": l2}, train={"epochs": 30})
        norms[l2] = math.sqrt(sum(float(np.sum(k**2)) for k in keep["kernels"]))
    assert norms[0.05] < 0.7 * norms[0.0], norms


def test_l1_makes_kernels_sparser(tmp_path):
    small = {}
    for l1 in (0.0, 0.01):
        keep: dict[str, Any] = {}
        train(tmp_path / str(l1), keep, model={"hidden": [32], "l1": l1}, train={"epochs": 30})
        k = np.concatenate([k.ravel() for k in keep["kernels"]])
        small[l1] = float(np.mean(np.abs(k) < 0.01))
    assert small[0.01] > small[0.0] + 0.1, small


@pytest.mark.parametrize("option", [{"noise": 0.5}, {"dropout": 0.5}], ids=["noise", "dropout"])
def test_noise_and_dropout_act_in_training_only(tmp_path, option):
    keep: dict[str, Any] = {}
    train(tmp_path, keep, model={"hidden": [16], **option}, train={"epochs": 1})
    model, x = keep["model"], keep["data"].x_val[:64]
    kind = "GaussianNoise" if "noise" in option else "Dropout"
    assert [type(layer).__name__ for layer in model.layers].count(kind) == 1
    a, b = np.asarray(model(x, training=True)), np.asarray(model(x, training=True))
    c, d = np.asarray(model(x, training=False)), np.asarray(model(x, training=False))
    assert np.abs(a - b).max() > 1e-3  # random in training
    np.testing.assert_array_equal(c, d)  # deterministic at inference
    np.testing.assert_allclose(c, model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_batch_norm_adds_a_layer_before_each_activation(tmp_path):
    keep: dict[str, Any] = {}
    train(tmp_path, keep, model={"hidden": [8, 8], "batch_norm": True}, train={"epochs": 1})
    model, data = keep["model"], keep["data"]
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("BatchNormalization") == 2
    i = kinds.index("BatchNormalization")
    assert kinds[i - 1] == "Dense" and kinds[i + 1] == "Activation"
    assert all(not layer.use_bias for layer in model.layers[:-1] if hasattr(layer, "use_bias"))
    bn = model.layers[i]
    assert np.abs(np.asarray(bn.moving_variance) - 1).max() > 1e-3  # statistics were updated
    x = data.x_val[:32]
    assert np.abs(np.asarray(model(x, training=True)) - np.asarray(model(x))).max() > 1e-4
    plain: dict[str, Any] = {}
    train(tmp_path / "plain", plain, model={"hidden": [8, 8]}, train={"epochs": 1})
    assert "BatchNormalization" not in [type(x).__name__ for x in plain["model"].layers]


def test_scale_layer_adapts_on_training_split_only(tmp_path):
    keep: dict[str, Any] = {}
    train(tmp_path, keep, data={"scale": "layer", "noise": 0.3}, train={"epochs": 1})
    norm = keep["model"].get_layer("normalization")
    data = keep["data"]
    mean = np.asarray(norm.mean).ravel()
    np.testing.assert_allclose(mean, data.x_train.mean(axis=0), atol=1e-5)
    both = np.concatenate([data.x_train, data.x_val]).mean(axis=0)
    assert np.abs(mean - both).max() > 1e-4  # not fitted on validation data


def test_plateau_schedule_lowers_learning_rate(tmp_path):
    result = train(
        tmp_path,
        train={"epochs": 25, "learning_rate": 0.05,
               "lr_schedule": {"kind": "plateau", "factor": 0.5, "patience": 2,
                               "min_delta": 0.02}},
    )  # fmt: skip
    h = history(result)
    lr = h["learning_rate"].to_numpy()
    assert lr[0] == pytest.approx(0.05)
    assert lr[-1] <= 0.05 / 4
    # the first cut comes right after 2 epochs without a 0.02 gain in val_loss
    first_cut = int(np.argmax(lr < 0.05))
    val = h["val_loss"].to_numpy()
    best_before = val[1 : first_cut - 2].min()
    assert val[first_cut - 2 : first_cut].min() > best_before - 0.02
    assert np.all(np.diff(lr) <= 1e-12)  # never raised
    ratios = np.unique(np.round(np.log(lr / 0.05) / np.log(0.5), 6))
    assert np.allclose(ratios, np.round(ratios))  # every value is 0.05 * 0.5**k


@pytest.mark.parametrize(
    "schedule,expected",
    [
        ({"kind": "step", "every": 2, "factor": 0.5}, [0.1, 0.1, 0.05, 0.05, 0.025]),
        ({"kind": "exponential", "rate": 0.5}, [0.1, 0.05, 0.025, 0.0125, 0.00625]),
        ({"kind": "cosine"}, [0.1 * 0.5 * (1 + math.cos(math.pi * e / 5)) for e in range(5)]),
    ],
    ids=["step", "exponential", "cosine"],
)
def test_epoch_schedules_set_the_logged_rate(tmp_path, schedule, expected):
    result = train(tmp_path, train={"epochs": 5, "learning_rate": 0.1, "lr_schedule": schedule})
    lr = history(result)["learning_rate"].to_numpy()[1:]
    np.testing.assert_allclose(lr, expected, rtol=1e-5)


def test_full_batch_takes_one_step_per_epoch(tmp_path):
    keep: dict[str, Any] = {}
    result = train(tmp_path, keep, train={"epochs": 7, "batch_size": "full"})
    assert int(keep["model"].optimizer.iterations.numpy()) == 7
    minibatch: dict[str, Any] = {}
    train(tmp_path / "mb", minibatch, train={"epochs": 7, "batch_size": 50})
    assert int(minibatch["model"].optimizer.iterations.numpy()) == 7 * 3  # 150 train rows
    assert result["steps_per_epoch"] == 1


def test_same_seed_same_history_other_seed_differs(tmp_path):
    cols = ["loss", "accuracy", "val_loss", "val_accuracy"]
    a = history(train(tmp_path / "a", train={"epochs": 5}))[cols]
    b = history(train(tmp_path / "b", train={"epochs": 5}))[cols]
    c = history(train(tmp_path / "c", seed=1, train={"epochs": 5}))[cols]
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


@pytest.mark.parametrize(
    "optimizer,attr,value",
    [
        ({"name": "sgd", "momentum": 0.9, "nesterov": True}, "nesterov", True),
        ({"name": "sgd", "momentum": 0.9}, "momentum", 0.9),
        ({"name": "rmsprop", "rho": 0.8}, "rho", 0.8),
        ("adagrad", "initial_accumulator_value", 0.1),
    ],
    ids=["sgd_nesterov", "sgd_momentum", "rmsprop_rho", "adagrad_by_name"],
)
def test_optimizer_arguments_reach_keras(tmp_path, optimizer, attr, value):
    keep: dict[str, Any] = {}
    train(tmp_path, keep, train={"epochs": 1, "optimizer": optimizer, "learning_rate": 0.02})
    opt = keep["model"].optimizer
    assert getattr(opt, attr) == pytest.approx(value)
    assert float(np.asarray(opt.learning_rate)) == pytest.approx(0.02)


def test_initializer_with_arguments(tmp_path):
    keep: dict[str, Any] = {}
    train(
        tmp_path, keep,
        model={"hidden": [500], "initializer": {"name": "random_normal", "stddev": 1.0}},
        train={"epochs": 1, "learning_rate": 1e-6},
    )  # fmt: skip
    first = keep["kernels"][0]
    assert first.std() == pytest.approx(1.0, abs=0.1)


def test_huge_learning_rate_diverges(tmp_path):
    csv = linear_csv(tmp_path)
    result = train(
        tmp_path,
        data={"name": "csv", "path": str(csv), "target": "y", "n_samples": None, "noise": None},
        train={"epochs": 30, "optimizer": "sgd", "learning_rate": 5.0},
    )
    assert result["status"] == "diverged"
    assert result["epochs_run"] == result["diverged_epoch"] < 30
    assert result["error"] == f"loss became non-finite in epoch {result['diverged_epoch']}"
    h = history(result)
    assert list(h.columns)[:3] == ["epoch", "loss", "mae"]  # regression logs mae by default
    assert not math.isfinite(h["loss"].iloc[-1])
    assert math.isfinite(h["loss"].iloc[0])


def test_failing_builder_is_recorded_not_raised(tmp_path):
    builder = tmp_path / "bad.py"
    builder.write_text("def build(input_shape):\n    return 42\n")
    result = train(
        tmp_path, model={"kind": "custom", "builder": f"{builder}:build", "hidden": None}
    )
    assert result["status"] == "failed"
    assert result["error"] == "TypeError: model.builder: build returned int, expected a keras.Model"
    assert store.read_json(result["_dir"] / "result.json")["status"] == "failed"


def test_custom_builder_gets_shapes_and_trains(tmp_path):
    builder = tmp_path / "mine.py"
    builder.write_text(
        "import keras\n"
        "def build(input_shape, num_outputs, output_activation):\n"
        "    return keras.Sequential([keras.Input(input_shape), keras.layers.Dense(16, "
        "activation='tanh'), keras.layers.Dense(num_outputs, activation=output_activation)])\n"
    )
    keep: dict[str, Any] = {}
    result = train(
        tmp_path, keep, model={"kind": "custom", "builder": f"{builder}:build", "hidden": None},
        train={"epochs": 20, "learning_rate": 0.05},
    )  # fmt: skip
    assert result["status"] == "completed"
    assert [w.shape for w in keep["kernels"]] == [(2, 16), (16, 1)]
    assert result["final"]["val_accuracy"] > 0.8


def test_multiclass_blobs_uses_softmax_and_sparse_loss(tmp_path):
    keep: dict[str, Any] = {}
    result = train(
        tmp_path, keep,
        data={"name": "blobs", "n_samples": 300, "centers": 3, "cluster_std": 0.8,
              "noise": None},
        train={"epochs": 10, "learning_rate": 0.05},
    )  # fmt: skip
    assert keep["model"].output_shape == (None, 3)
    assert keep["model"].loss == "sparse_categorical_crossentropy"
    assert result["final"]["val_accuracy"] > 0.8


def test_custom_builder_gets_the_normalization_layer(tmp_path):
    builder = tmp_path / "mine.py"
    builder.write_text(
        "import keras\n"
        "def build(input_shape, num_outputs, output_activation):\n"
        "    return keras.Sequential([keras.Input(input_shape), "
        "keras.layers.Dense(num_outputs, activation=output_activation)])\n"
    )
    keep: dict[str, Any] = {}
    train(
        tmp_path, keep, data={"scale": "layer"},
        model={"kind": "custom", "builder": f"{builder}:build", "hidden": None},
        train={"epochs": 1},
    )  # fmt: skip
    norm = keep["model"].get_layer("normalization")
    np.testing.assert_allclose(
        np.asarray(norm.mean).ravel(), keep["data"].x_train.mean(axis=0), atol=1e-5
    )


def test_regression_logs_mae_and_early_stopping_can_watch_it(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 2))
    csv = tmp_path / "reg.csv"
    y = x[:, 0] * 2 + rng.normal(scale=0.5, size=200)  # noise: val_mae levels off
    pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "y": y}).to_csv(csv, index=False)
    result = train(
        tmp_path,
        data={"name": "csv", "path": str(csv), "target": "y", "n_samples": None, "noise": None},
        train={"epochs": 200, "learning_rate": 0.05,
               "early_stopping": {"monitor": "val_mae", "patience": 2}},
    )  # fmt: skip
    assert result["metrics"] == ["mae"] and result["task"] == "regression"
    assert result["monitor"] == "val_mae" and result["epochs_run"] < 200
    assert not (result["_dir"] / "boundary.csv").exists()  # no classes to draw


def test_a_run_leaves_no_gradient_function_behind(tmp_path):
    """Each traced train step registers a gradient function in TensorFlow's global registry
    (Keras sums gradients with a custom-gradient all-reduce); it holds the whole traced step,
    so a worker grew about 4.6 MiB per run until the run dropped them."""
    from tensorflow.python.framework import ops

    registry = ops.gradient_registry._registry
    train(tmp_path, train={"epochs": 2})  # the first run loads whatever is loaded once
    before = set(registry)
    for seed in (1, 2):
        assert train(tmp_path, seed=seed, train={"epochs": 2})["status"] == "completed"
    assert set(registry) == before


def test_only_keras_all_reduce_gradients_are_dropped_and_a_kept_model_trains_again(tmp_path):
    """A custom gradient of the user's own, traced during a run, is still there for a later
    run to differentiate through; and a model kept from a run can be fitted again."""
    import tensorflow as tf

    @tf.custom_gradient
    def reverse(x):
        return tf.identity(x), lambda dy: -dy

    @tf.function
    def forward(x):  # module-level in a builder file, say: it outlives the run
        return reverse(x) * 2.0

    keep: dict[str, Any] = {}

    def trace_it(model, data):
        keep["model"], keep["data"] = model, data
        forward(tf.constant(1.0))  # traced during the run: registers reverse's gradient

    from nnlab import train as train_mod

    s = spec(train={"epochs": 2})
    assert train_mod.run(s, tmp_path / s.run_id, on_trained=trace_it)["status"] == "completed"
    x = tf.constant(3.0)
    with tf.GradientTape() as tape:  # its backward pass is built only now, from the registry
        tape.watch(x)
        y = forward(x)
    assert float(tape.gradient(y, x)) == -2.0
    data = keep["data"]
    history = keep["model"].fit(data.x_train, data.y_train, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_entries_it_cannot_read_are_left_alone():
    from tensorflow.python.framework import ops

    registry = ops.gradient_registry._registry
    odd = {"CustomGradient-nnlab-none": {"type": None},
           "CustomGradient-nnlab-lambda": {"type": lambda op, grad: grad},
           "CustomGradient-nnlab-list": [1, 2], 42: None}  # fmt: skip
    before = backend.custom_gradients()
    registry.update(odd)
    try:
        assert backend.forget_custom_gradients(before) == 0
        assert all(k in registry for k in odd)
    finally:
        for k in odd:
            registry.pop(k, None)
