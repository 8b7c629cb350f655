"""_prepare: the split, the subset and every scale mode, on arrays whose answers we know."""

from __future__ import annotations

import numpy as np
import pytest

from nnlab.config import DataConfig
from nnlab.data._prepare import Raw, prepare, split
from nnlab.errors import DataError


def _tabular(n: int = 400, task: str = "binary") -> Raw:
    rng = np.random.default_rng(0)
    x = rng.normal(loc=[5.0, -3.0, 100.0], scale=[2.0, 0.5, 10.0], size=(n, 3))
    x = np.column_stack([x, np.full(n, 7.0)]).astype(np.float32)  # a constant feature
    if task == "regression":
        return Raw("toy", "regression", x, x[:, 0] * 2.0, 0, "test")
    y = (np.arange(n) % 10 < 3).astype(np.int64)  # 30 % positives
    return Raw("toy", "binary", x, y, 2, "test", ["a", "b", "c", "const"])


def _images(n: int = 120) -> Raw:
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, size=(n, 6, 6, 3)).astype(np.uint8)
    x[..., 2] //= 8
    return Raw("img", "multiclass", x, np.arange(n) % 3, 3, "test", image_max=255.0)


def _cfg(**kw: object) -> DataConfig:
    return DataConfig(name="pima", **kw)  # type: ignore[arg-type]


def test_split_is_stratified_and_complete() -> None:
    raw = _tabular()
    x_train, y_train, x_val, y_val, x_test, y_test = split(raw, 0.25, seed=0)
    assert (len(y_train), len(y_val), x_test, y_test) == (300, 100, None, None)
    assert (int(y_train.sum()), int(y_val.sum())) == (90, 30)
    rows = np.concatenate([x_train, x_val])[:, 0]
    np.testing.assert_array_equal(np.sort(rows), np.sort(raw.x[:, 0]))


def test_regression_split_is_not_stratified_and_y_is_float() -> None:
    d = prepare(_tabular(task="regression"), _cfg(scale="none"), seed=0)
    assert (d.task, d.n_classes, d.y_train.dtype) == ("regression", 0, np.float32)
    np.testing.assert_allclose(d.y_train, d.x_train[:, 0] * 2.0, rtol=1e-6)


@pytest.mark.parametrize(
    ("subset", "n_train"),
    [pytest.param(50, 50, id="50"), pytest.param(10_000, 300, id="more_than_there_is")],
)
def test_subset_keeps_the_first_training_examples(subset: int, n_train: int) -> None:
    raw = _tabular()
    full = prepare(raw, _cfg(scale="none"), seed=0)
    part = prepare(raw, _cfg(scale="none", subset=subset), seed=0)
    assert len(part.y_train) == n_train
    np.testing.assert_array_equal(part.x_train, full.x_train[:n_train])
    np.testing.assert_array_equal(part.x_val, full.x_val)  # the subset leaves validation alone


def test_subset_changes_the_fitted_scaling() -> None:
    raw = _tabular()
    part = prepare(raw, _cfg(scale="standard", subset=20), seed=0)
    assert abs(part.x_train[:, 0].mean()) < 1e-5
    full = prepare(raw, _cfg(scale="standard"), seed=0)
    assert not np.allclose(part.x_val, full.x_val)


@pytest.mark.parametrize("scale", ["none", "layer"])
def test_none_and_layer_leave_values_raw(scale: str) -> None:
    raw = _tabular()
    d = prepare(raw, _cfg(scale=scale), seed=0)
    x_train, _, x_val, *_ = split(raw, 0.25, seed=0)
    np.testing.assert_array_equal(d.x_train, x_train)
    np.testing.assert_array_equal(d.x_val, x_val)
    assert d.x_train.dtype == np.float32
    np.testing.assert_array_equal(d.transform(x_val), x_val)


def test_unit_scale_is_min_max_of_the_training_split() -> None:
    raw = _tabular()
    d = prepare(raw, _cfg(scale="unit"), seed=0)
    x_train, _, x_val, *_ = split(raw, 0.25, seed=0)
    np.testing.assert_allclose(d.x_train[:, :3].min(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(d.x_train[:, :3].max(axis=0), 1.0, atol=1e-6)
    assert not d.x_train[:, 3].any() and not d.x_val[:, 3].any()  # constant feature -> 0
    low, high = x_train[:, :3].min(axis=0), x_train[:, :3].max(axis=0)
    np.testing.assert_allclose(d.x_val[:, :3], (x_val[:, :3] - low) / (high - low), atol=1e-5)
    # fitted on a 20-example training split, validation values fall outside [0, 1]
    small = prepare(raw, _cfg(scale="unit", subset=20), seed=0)
    assert (float(small.x_train.min()), float(small.x_train.max())) == (0.0, 1.0)
    assert small.x_val.min() < 0.0 and small.x_val.max() > 1.0


def test_standard_scale_is_fitted_on_the_training_split_only() -> None:
    raw = _tabular()
    d = prepare(raw, _cfg(scale="standard"), seed=0)
    x_train, _, x_val, *_ = split(raw, 0.25, seed=0)
    np.testing.assert_allclose(d.x_train[:, :3].mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(d.x_train[:, :3].std(axis=0), 1.0, atol=1e-4)
    assert not d.x_train[:, 3].any()  # std 0 -> divided by 1
    mean, std = x_train[:, :3].mean(axis=0), x_train[:, :3].std(axis=0)
    np.testing.assert_allclose(d.x_val[:, :3], (x_val[:, :3] - mean) / std, atol=1e-4)
    # the validation split is not itself standardised
    assert np.abs(d.x_val[:, :3].mean(axis=0)).max() > 0.01
    assert np.abs(d.x_val[:, :3].std(axis=0) - 1.0).max() > 0.01


@pytest.mark.parametrize(
    ("scale", "mean", "std"),
    [
        pytest.param("standard", 0.0, 1.0, id="standard"),
        pytest.param("unit", None, None, id="unit"),
    ],
)
def test_image_scaling_is_per_channel(scale: str, mean: float | None, std: float | None) -> None:
    raw = _images()
    d = prepare(raw, _cfg(scale=scale), seed=0)
    assert d.x_train.shape == (90, 6, 6, 3) and d.x_train.dtype == np.float32
    if scale == "unit":
        x_train, *_ = split(raw, 0.25, seed=0)
        np.testing.assert_allclose(d.x_train * 255.0, x_train, atol=1e-3)
        return
    np.testing.assert_allclose(d.x_train.mean(axis=(0, 1, 2)), mean, atol=1e-5)
    np.testing.assert_allclose(d.x_train.std(axis=(0, 1, 2)), std, atol=1e-4)
    # channel 2 was shrunk: a single mean/std over all channels would not standardise it
    assert np.abs(d.x_val.mean(axis=(0, 1, 2))).max() < 0.2


@pytest.mark.parametrize(
    ("y", "validation", "problem"),
    [
        pytest.param([0, 0, 0, 0, 1, 2], 0.5, "2 classes have fewer than 2 examples",
                     id="rare_classes"),
        pytest.param([0, 1, 2, 0, 1, 2, 0, 1, 2, 0], 0.2, "the 2 held out cannot hold one "
                     "of each of the 3 classes", id="too_few_held_out"),
        pytest.param([0, 1, 2, 0, 1, 2, 0, 1, 2, 0], 0.8, "the 2 left to train on cannot hold "
                     "one of each of the 3 classes", id="too_few_left"),
    ],
)  # fmt: skip
def test_a_split_that_cannot_be_stratified(y: list[int], validation: float, problem: str) -> None:
    raw = Raw("toy", "multiclass", np.zeros((len(y), 2), np.float32), np.array(y), 3, "t")
    with pytest.raises(DataError) as e:
        prepare(raw, _cfg(validation=validation), seed=0)
    assert str(e.value) == (
        f"data.validation: cannot hold out a stratified {validation} of the {len(y)} examples "
        f"of toy: {problem}"
    )


def test_test_validation_without_a_test_split_is_a_data_error() -> None:
    with pytest.raises(DataError) as e:
        split(_tabular(), "test", seed=0)
    assert str(e.value) == "data.validation: toy has no official test split"
