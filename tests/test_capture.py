"""``train.capture``: weights, gradients and batches files hold the right numbers, on every
backend, and capturing never changes the training it watches."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from nnlab import backend, store

from helpers import long_table, merge, spec

ALL = ["weights", "gradients", "batches"]


@pytest.fixture(scope="module", autouse=True)
def _tensorflow_cpu():
    backend.activate("tensorflow", "cpu")


def train(tmp_path: Path, keep: dict[str, Any] | None = None, **changes: Any) -> Path:
    from nnlab import train as train_mod

    s = spec(**changes)

    def on_trained(model, data):
        if keep is not None:
            keep.update(model=model, data=data)
            keep["weights"] = {
                (layer.name, v.name): np.asarray(v) for layer in model.layers
                for v in layer.trainable_weights
            }  # fmt: skip

    result = train_mod.run(s, tmp_path / s.run_id, on_trained=on_trained)
    assert result["status"] == "completed", result.get("error")
    return tmp_path / s.run_id


def test_weights_csv_holds_every_epoch_and_the_final_kernels(tmp_path):
    keep: dict[str, Any] = {}
    run = train(tmp_path, keep, model={"hidden": [8, 4]},
                train={"epochs": 4, "capture": ["weights"]})  # fmt: skip
    df = pd.read_csv(run / "weights.csv")
    assert list(df.columns) == ["epoch", "layer", "tensor", "stat", "value"]
    assert sorted(df["epoch"].unique()) == [0, 1, 2, 3, 4]
    assert list(dict.fromkeys(df["layer"])) == ["dense1", "dense2", "output"]  # model order
    assert set(df["tensor"]) == {"kernel", "bias"} and set(df["stat"]) == {"mean", "std", "norm"}
    assert not (run / "gradients.csv").exists() and not (run / "batches.csv").exists()
    table = long_table(run / "weights.csv")
    for (layer, tensor), w in keep["weights"].items():
        w = w.astype(np.float64)
        assert table[(4, layer, tensor, "mean")] == pytest.approx(w.mean(), rel=1e-5, abs=1e-8)
        assert table[(4, layer, tensor, "std")] == pytest.approx(w.std(), rel=1e-5)
        assert table[(4, layer, tensor, "norm")] == pytest.approx(np.linalg.norm(w), rel=1e-5)
    # epoch 0 is the initializer's: glorot-uniform biases start at exactly zero, then move
    assert table[(0, "dense1", "bias", "norm")] == 0.0
    assert table[(4, "dense1", "bias", "norm")] > 0.0


def test_batches_csv_holds_each_batch_and_averages_to_the_epoch_loss(tmp_path):
    # 200 samples -> 150 train: batches of 32 give 4 full batches and one of 22
    run = train(tmp_path, train={"epochs": 3, "capture": ["batches"]})
    df = pd.read_csv(run / "batches.csv")
    hist = pd.read_csv(run / store.HISTORY_FILE)
    assert list(df.columns) == ["epoch", "batch", "step", "size", "loss", "accuracy"]
    n_train = int((store.read_json(run / "result.json") or {})["n_train"])
    steps = -(-n_train // 32)
    assert len(df) == 3 * steps and df["step"].tolist() == list(range(1, 3 * steps + 1))
    assert df.groupby("epoch")["size"].sum().tolist() == [n_train] * 3
    for epoch, group in df.groupby("epoch"):
        mean = np.average(group["loss"], weights=group["size"])
        assert mean == pytest.approx(hist.loc[epoch, "loss"], rel=1e-4)
        acc = np.average(group["accuracy"], weights=group["size"])
        assert acc == pytest.approx(hist.loc[epoch, "accuracy"], abs=1e-4)
    # a batch's accuracy is a count of its samples, not a running mean
    correct = df["accuracy"] * df["size"]
    assert np.allclose(correct, correct.round(), atol=1e-3)
    assert df["loss"].std() > 0


def test_batches_csv_leaves_out_metrics_that_are_not_means_over_samples(tmp_path):
    run = train(tmp_path, train={"epochs": 1, "capture": ["batches"],
                                 "metrics": ["accuracy", "auc", "precision"]})  # fmt: skip
    df = pd.read_csv(run / "batches.csv")
    assert list(df.columns) == ["epoch", "batch", "step", "size", "loss", "accuracy"]
    assert "val_auc" in pd.read_csv(run / store.HISTORY_FILE).columns  # still in the history


def test_gradients_csv_has_kernel_stats_and_the_update_ratio(tmp_path):
    capture = ["weights", "gradients"]
    run = train(tmp_path, model={"hidden": [8, 4]},
                train={"epochs": 3, "capture": capture, "optimizer": "sgd"})  # fmt: skip
    g = long_table(run / "gradients.csv")
    w = long_table(run / "weights.csv")
    df = pd.read_csv(run / "gradients.csv")
    assert set(df["tensor"]) == {"kernel"}
    assert set(df["stat"]) == {"mean", "std", "norm", "update_ratio"}
    assert sorted(df["epoch"].unique()) == [0, 1, 2, 3]
    lr = 0.01
    for epoch in range(4):
        for layer in ("dense1", "dense2", "output"):
            ratio = lr * g[(epoch, layer, "kernel", "norm")] / w[(epoch, layer, "kernel", "norm")]
            assert g[(epoch, layer, "kernel", "update_ratio")] == pytest.approx(ratio, rel=1e-4)
            assert g[(epoch, layer, "kernel", "norm")] > 0


def test_capture_does_not_change_the_training_it_watches(tmp_path):
    # batch norm (moving statistics) and dropout (a seeded random stream) are the state a
    # training-mode gradient could disturb
    changes = {"model": {"hidden": [8, 8], "batch_norm": True, "dropout": 0.3},
               "train": {"epochs": 4}}  # fmt: skip
    plain = train(tmp_path / "plain", **changes)
    watched = train(tmp_path / "watched", **merge(changes, {"train": {"capture": ALL}}))
    a = pd.read_csv(plain / store.HISTORY_FILE).drop(columns="epoch_seconds")
    b = pd.read_csv(watched / store.HISTORY_FILE).drop(columns="epoch_seconds")
    pd.testing.assert_frame_equal(a, b)


GRADIENT_CHECK = """
import sys, numpy as np
from nnlab import backend
backend.activate(sys.argv[1], "cpu")
import keras
from nnlab.capture import kernel_gradients
rng = np.random.default_rng(0)
x = rng.normal(size=(64, 3)).astype("float32")
y = (rng.random(64) < 0.5).astype("float32")[:, None]
inp = keras.Input((3,))
model = keras.Model(inp, keras.layers.Dense(1, activation="sigmoid", name="out")(
    keras.layers.Dropout(0.5, seed=1)(keras.layers.BatchNormalization()(inp))))
model.compile(optimizer="sgd", loss="binary_crossentropy")
bn = model.layers[1]
before = [np.array(v) for v in model.non_trainable_variables]
dense = model.get_layer("out")
w = np.array(dense.kernel, dtype=np.float64)
g = kernel_gradients(model, [dense.kernel], x, y, keras.losses.get("binary_crossentropy"))[0]
after = [np.array(v) for v in model.non_trainable_variables]
assert all(np.array_equal(a, b) for a, b in zip(before, after)), "state changed"
# with dropout 0.5 the gradient is random; without it, it is X_bn^T (p - y) / n
model2 = keras.Model(inp, keras.layers.Dense(1, activation="sigmoid", name="o2")(inp))
k = model2.get_layer("o2")
p = 1 / (1 + np.exp(-(x.astype(np.float64) @ np.array(k.kernel) + np.array(k.bias))))
want = x.T.astype(np.float64) @ (p - y) / len(x)
got = kernel_gradients(model2, [k.kernel], x, y, keras.losses.get("binary_crossentropy"))[0]
assert g.shape == w.shape
print(float(np.max(np.abs(got - want))), float(np.max(np.abs(want))))
"""


@pytest.mark.slow
@pytest.mark.parametrize("name", ["tensorflow", "jax", "torch"])
def test_kernel_gradients_match_the_analytic_gradient_on_each_backend(name):
    if importlib.util.find_spec(name) is None:
        pytest.skip(f"{name} is not installed (pip install {name})")
    out = subprocess.run(
        [sys.executable, "-c", GRADIENT_CHECK, name],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    err, scale = map(float, out.stdout.split()[-2:])
    assert scale > 1e-3 and err < 1e-5 * max(1.0, scale)


def test_layers_of_a_nested_model_are_tracked_once_each():
    import keras

    from nnlab.capture import tracked_weights

    inner = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(4, name="a"), keras.layers.Dense(2, name="b")]
    )
    x = keras.Input((3,))
    model = keras.Model(x, keras.layers.Dense(1, name="out")(inner(x)))
    assert [(layer, t) for layer, t, _ in tracked_weights(model)] == [
        ("a", "kernel"), ("a", "bias"), ("b", "kernel"), ("b", "bias"),
        ("out", "kernel"), ("out", "bias"),
    ]  # fmt: skip


def test_two_nested_layers_of_the_same_name_get_their_paths():
    import keras

    from nnlab.capture import tracked_weights

    def branch(name):
        return keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="h")], name=name)

    x = keras.Input((3,))
    out = keras.layers.Dense(1, name="out")(
        keras.layers.Concatenate()([branch("s1")(x), branch("s2")(x)])
    )
    names = [(layer, t) for layer, t, _ in tracked_weights(keras.Model(x, out))]
    assert names == [("s1/h", "kernel"), ("s1/h", "bias"), ("s2/h", "kernel"),
                     ("s2/h", "bias"), ("out", "kernel"), ("out", "bias")]  # fmt: skip
    assert len(set(names)) == len(names)


def test_kernels_inside_a_custom_layer_are_named_by_path_and_subclassed_models_work():
    import keras

    from nnlab.capture import kernel_gradients, tracked_weights

    class Block(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.a = keras.layers.Dense(4, name="a")
            self.b = keras.layers.Dense(1, activation="sigmoid", name="b")

        def call(self, x):
            return self.b(self.a(x))

    class Net(keras.Model):  # subclassed: no model.outputs
        def __init__(self):
            super().__init__()
            self.block = Block(name="block")

        def call(self, x, training=False):
            return self.block(x)

    model = Net()
    x = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")  # (n,) labels for a (n, 1) output
    model(x)
    names = [(layer, t) for layer, t, _ in tracked_weights(model)]
    assert names == [("net/block/a", "kernel"), ("net/block/a", "bias"),
                     ("net/block/b", "kernel"), ("net/block/b", "bias")]  # fmt: skip
    kernels = [v for _, t, v in tracked_weights(model) if t == "kernel"]
    grads = kernel_gradients(model, kernels, x, y, keras.losses.get("binary_crossentropy"))
    assert [g.shape for g in grads] == [(3, 4), (4, 1)]
    assert all(np.isfinite(g).all() and np.abs(g).max() > 0 for g in grads)
