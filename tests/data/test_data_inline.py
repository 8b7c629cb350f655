"""``data.name: table``: rows written in the config."""

from __future__ import annotations

import numpy as np
import pytest

from nnlab.config import validate
from nnlab.data import load_dataset
from nnlab.errors import ConfigError, DataError


def table(**data) -> object:
    return validate({"name": "t", "data": {"name": "table", "validation": "none", **data}}).data


def test_the_rows_of_the_config_are_the_dataset():
    data = load_dataset(table(x=[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], y=[0, 1, 1],
                              scale="none"), seed=0)  # fmt: skip
    np.testing.assert_array_equal(data.x_train, [[1, 2], [3, 4], [5, 6]])
    assert data.task == "binary" and data.y_train.tolist() == [0, 1, 1]
    one = load_dataset(table(x=[[1.0]], y=[3.0], task="regression", scale="none"), seed=5)
    assert one.task == "regression" and one.y_train.tolist() == [3.0] and len(one.x_val) == 0


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        ({}, ConfigError, "x and y: both are required for data.name table"),
        ({"x": [[1.0]], "y": [1.0], "path": "a.csv"}, ConfigError, "table has no file to load"),
        ({"x": [[1.0], [2.0, 3.0]], "y": [0, 1]}, DataError, "same number of features"),
        ({"x": [[1.0], [2.0]], "y": [0, 1, 1]}, DataError, "3 targets for 2 rows"),
        ({"x": [[1.0]], "y": [3.0]}, DataError, "data.task: cannot tell the task"),
    ],
)
def test_bad_tables_name_the_key(data, error, message):
    with pytest.raises(error, match=message):
        load_dataset(table(**data), seed=0)
