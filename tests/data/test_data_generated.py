"""circles, moons, blobs and digits: sizes, parameters, seeds, the 2-D extras."""

from __future__ import annotations

import numpy as np
import pytest

from nnlab.config import DataConfig
from nnlab.data import load_dataset


@pytest.mark.parametrize(
    ("cfg", "train_shape", "val_shape", "task", "n_classes"),
    [
        pytest.param(DataConfig(name="circles", n_samples=1000, validation=0.25),
                     (750, 2), (250, 2), "binary", 2, id="circles"),
        pytest.param(DataConfig(name="moons", n_samples=200, validation=0.5),
                     (100, 2), (100, 2), "binary", 2, id="moons"),
        pytest.param(DataConfig(name="blobs"), (750, 2), (250, 2), "multiclass", 3,
                     id="blobs_defaults"),
        pytest.param(DataConfig(name="blobs", n_samples=400, centers=4, n_features=3),
                     (300, 3), (100, 3), "multiclass", 4, id="blobs_4x3"),
        pytest.param(DataConfig(name="digits"), (1347, 8, 8, 1), (450, 8, 8, 1),
                     "multiclass", 10, id="digits"),
    ],
)  # fmt: skip
def test_sizes_and_tasks(
    cfg: DataConfig, train_shape: tuple, val_shape: tuple, task: str, n_classes: int
) -> None:
    d = load_dataset(cfg, seed=0)
    assert (d.x_train.shape, d.x_val.shape) == (train_shape, val_shape)
    assert (d.task, d.n_classes) == (task, n_classes)
    assert (d.x_train.dtype, d.y_train.dtype) == (np.float32, np.int64)
    assert d.x_test is None
    assert sorted(np.unique(np.concatenate([d.y_train, d.y_val]))) == list(range(n_classes))
    two_d = len(train_shape) == 2 and train_shape[1] == 2
    assert (d.raw_train is not None, d.raw_val is not None) == (two_d, two_d)


def test_circles_defaults_and_source() -> None:
    d = load_dataset(DataConfig(name="circles"), seed=4)
    assert len(d.y_train) + len(d.y_val) == 1000
    # stratified: make_circles gives 500 of each class, so 375 / 125 of each
    assert np.bincount(d.y_train).tolist() == [375, 375]
    assert d.source == (
        "sklearn.datasets.make_circles(n_samples=1000, noise=0.1, factor=0.5, random_state=4)"
    )


def test_circles_parameters_reach_the_generator() -> None:
    d = load_dataset(DataConfig(name="circles", noise=0.0, factor=0.3, scale="none"), seed=0)
    assert d.raw_train is not None
    radii = np.hypot(d.raw_train[:, 0], d.raw_train[:, 1])
    outer = d.y_train == 0  # make_circles: class 0 is the outer ring
    np.testing.assert_allclose(radii[outer], 1.0, atol=1e-6)
    np.testing.assert_allclose(radii[~outer], 0.3, atol=1e-6)


def test_blobs_cluster_std_reaches_the_generator() -> None:
    tight = load_dataset(DataConfig(name="blobs", cluster_std=0.1, scale="none"), seed=0)
    wide = load_dataset(DataConfig(name="blobs", cluster_std=3.0, scale="none"), seed=0)
    spread = [
        np.mean([d.x_train[d.y_train == k].std(axis=0).mean() for k in range(3)])
        for d in (tight, wide)
    ]
    assert spread[0] == pytest.approx(0.1, rel=0.15)
    assert spread[1] == pytest.approx(3.0, rel=0.15)


@pytest.mark.parametrize("name", ["circles", "moons", "blobs"])
def test_same_seed_same_arrays_other_seed_other_arrays(name: str) -> None:
    cfg = DataConfig(name=name)
    a, b, c = (load_dataset(cfg, seed=s) for s in (0, 0, 1))
    for key in ("x_train", "y_train", "x_val", "y_val"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
    assert not np.array_equal(a.x_train, c.x_train)


def test_random_state_overrides_the_run_seed() -> None:
    fixed = DataConfig(name="moons", random_state=7)
    a = load_dataset(fixed, seed=0)
    b = load_dataset(fixed, seed=1)
    c = load_dataset(DataConfig(name="moons"), seed=7)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.x_val, c.x_val)
    assert a.source.endswith("random_state=7)")


def test_digits_is_the_same_data_for_every_seed_split_differently() -> None:
    a = load_dataset(DataConfig(name="digits", scale="none"), seed=0)
    b = load_dataset(DataConfig(name="digits", scale="none"), seed=1)
    assert float(a.x_train.sum() + a.x_val.sum()) == float(b.x_train.sum() + b.x_val.sum())
    assert not np.array_equal(a.y_val, b.y_val)
    assert (float(a.x_train.min()), float(a.x_train.max())) == (0.0, 16.0)


def test_digits_unit_divides_by_16() -> None:
    raw = load_dataset(DataConfig(name="digits", scale="none"), seed=0)
    unit = load_dataset(DataConfig(name="digits", scale="unit"), seed=0)
    np.testing.assert_array_equal(unit.x_train * 16.0, raw.x_train)
    assert (float(unit.x_val.min()), float(unit.x_val.max())) == (0.0, 1.0)


@pytest.mark.parametrize("scale", ["none", "unit", "standard", "layer"])
def test_2d_transform_maps_raw_to_model_inputs(scale: str) -> None:
    d = load_dataset(DataConfig(name="moons", scale=scale), seed=0)
    assert d.raw_train is not None and d.raw_val is not None
    np.testing.assert_allclose(d.transform(d.raw_train), d.x_train, atol=1e-6)
    np.testing.assert_allclose(d.transform(d.raw_val), d.x_val, atol=1e-6)
    changed = not np.allclose(d.raw_train, d.x_train)
    assert changed == (scale in ("unit", "standard"))
