"""``data.split`` and a ``data.validation`` count: the rows each split trains and validates on,
compared with what the course's sources did (scikit-learn's ``train_test_split`` with a
``random_state``; ``X[:n_train]``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_circles
from sklearn.model_selection import train_test_split

from nnlab.config import load_config
from nnlab.data import load_dataset
from nnlab.errors import ConfigError, DataError
from nnlab.expansion import expand


def dataset(data: dict, seed: int = 0):
    cfg, _ = load_config({"name": "t", "data": {"scale": "none", **data}})
    return load_dataset(cfg.data, seed)


@pytest.mark.parametrize("random_state, seed", [(42, 0), (None, 42)])
def test_random_split_has_the_rows_of_train_test_split(pima_file: Path, random_state, seed):
    """``split: random`` holds out the rows scikit-learn's train_test_split(X, y,
    test_size=0.25, random_state=R) does (R: data.random_state, else the run's seed), as the
    Pima lesson's source split them."""
    table = pd.read_csv(pima_file, header=None).to_numpy()
    x, y = table[:, :8].astype(np.float32), table[:, 8].astype(np.int64)
    x_train, x_val, _, y_val = train_test_split(x, y, test_size=0.25, random_state=42)
    data = dataset({"name": "pima", "path": str(pima_file), "split": "random",
                    "random_state": random_state}, seed)  # fmt: skip
    np.testing.assert_array_equal(data.x_train, x_train)
    np.testing.assert_array_equal(data.x_val, x_val)
    np.testing.assert_array_equal(data.y_val, y_val)
    stratified = dataset({"name": "pima", "path": str(pima_file), "random_state": 42})
    assert not np.array_equal(stratified.x_val, x_val)  # the default split is another one


def test_ordered_split_trains_on_the_first_rows_as_the_circles_lesson():
    """``split: ordered`` with a count: make_circles(100, noise=0.1, random_state=1) (and
    scikit-learn's default factor, 0.8; nnlab's is 0.5), trained on X[:30] and validated on
    the rest (lesson 8c)."""
    x, y = make_circles(n_samples=100, noise=0.1, random_state=1)
    data = dataset({"name": "circles", "n_samples": 100, "noise": 0.1, "random_state": 1,
                    "factor": 0.8, "split": "ordered", "validation": 70})  # fmt: skip
    np.testing.assert_allclose(data.x_train, x[:30].astype(np.float32))
    np.testing.assert_array_equal(data.y_train, y[:30])
    np.testing.assert_allclose(data.x_val, x[30:].astype(np.float32))
    half = dataset({"name": "circles", "n_samples": 1000, "noise": 0.1, "random_state": 1,
                    "split": "ordered", "validation": 0.5})  # fmt: skip
    assert len(half.x_train) == 500 and len(half.x_val) == 500


def test_a_count_holds_out_that_many_rows_in_every_split():
    for how in ("stratified", "random", "ordered"):
        data = dataset({"name": "circles", "n_samples": 200, "validation": 70, "split": how})
        assert (len(data.x_train), len(data.x_val)) == (130, 70)


def test_too_many_rows_held_out_is_a_data_error_naming_the_key():
    for how in ("random", "ordered"):
        with pytest.raises(DataError, match=r"data\.validation: cannot hold out 50 of the 50"):
            dataset({"name": "circles", "n_samples": 50, "validation": 50, "split": how})


def test_a_bad_split_name_lists_the_choices():
    with pytest.raises(ConfigError) as raised:
        load_config({"name": "t", "data": {"name": "circles", "split": "sorted"}})
    assert raised.value.problems == [
        "data.split: unknown value 'sorted'; valid: ordered, random, stratified"
    ]


def test_run_ids_change_only_when_the_split_is_not_the_default():
    def run_id(**data):
        return expand(load_config({"name": "t", "data": {"name": "circles", **data}})[0])[0].run_id

    assert run_id() == run_id(split="stratified")
    assert len({run_id(), run_id(split="random"), run_id(split="ordered"),
                run_id(validation=70)}) == 4  # fmt: skip
