"""data.name csv: header detection, the target column, task inference, malformed files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from nnlab.config import DataConfig
from nnlab.data import load_dataset
from nnlab.errors import DataError

N = 60


def _write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _table(labels: Callable[[int], str], n: int = N) -> str:
    """Columns idx (the row number), noise, y; idx lets a test find each row after the split."""
    rows = [f"{i},{(i * 7) % 11 / 10},{labels(i)}" for i in range(n)]
    return "idx,noise,y\n" + "\n".join(rows) + "\n"


def _load(path: Path, **kw: object) -> tuple:
    d = load_dataset(
        DataConfig(name="csv", path=str(path), scale="none", validation=0.5, **kw),  # type: ignore[arg-type]
        seed=0,
    )
    idx = np.concatenate([d.x_train[:, 0], d.x_val[:, 0]]).astype(int)
    y = np.concatenate([d.y_train, d.y_val])
    return d, y[np.argsort(idx)]  # y in file order


@pytest.mark.parametrize(
    ("labels", "task", "n_classes", "expected"),
    [
        pytest.param(lambda i: i % 2, "binary", 2, lambda i: i % 2, id="binary_0_1"),
        pytest.param(lambda i: 2 * (i % 2) - 1, "binary", 2, lambda i: i % 2, id="binary_-1_1"),
        pytest.param(lambda i: 1 + i % 3, "multiclass", 3, lambda i: i % 3, id="multiclass_1_2_3"),
        pytest.param(lambda i: f"{10 * (i % 4)}.0", "multiclass", 4, lambda i: i % 4,
                     id="integral_floats"),
        pytest.param(lambda i: i % 20, "multiclass", 20, lambda i: i % 20, id="20_classes"),
        pytest.param(lambda i: ["emu", "cat", "dog"][i % 3], "multiclass", 3,
                     lambda i: [2, 0, 1][i % 3], id="strings_sorted"),
        pytest.param(lambda i: ["yes", "no"][i % 2], "binary", 2, lambda i: [1, 0][i % 2],
                     id="yes_no"),
        pytest.param(lambda i: ["True", "False"][i % 2], "binary", 2, lambda i: [1, 0][i % 2],
                     id="bool"),
        pytest.param(lambda i: i / 4, "regression", 0, lambda i: i / 4, id="regression"),
    ],
)  # fmt: skip
def test_task_inference(
    tmp_path: Path,
    labels: Callable[[int], object],
    task: str,
    n_classes: int,
    expected: Callable[[int], float],
) -> None:
    d, y = _load(_write(tmp_path, _table(labels)), target="y")
    assert (d.task, d.n_classes) == (task, n_classes)
    assert y.dtype == (np.float32 if task == "regression" else np.int64)
    np.testing.assert_allclose(y, [expected(i) for i in range(N)])
    assert d.feature_names == ["idx", "noise"]
    assert d.x_train.shape == (N // 2, 2) and d.raw_train is not None


@pytest.mark.parametrize(
    ("labels", "detail"),
    [
        pytest.param(lambda i: i % 30, "integers with 30 distinct values", id="30_integers"),
        pytest.param(lambda i: 3, "a single value 3", id="one_number"),
        pytest.param(lambda i: "a", "a single value 'a'", id="one_string"),
    ],
)
def test_ambiguous_target_asks_for_data_task(
    tmp_path: Path, labels: Callable[[int], object], detail: str
) -> None:
    with pytest.raises(DataError) as e:
        _load(_write(tmp_path, _table(labels)), target="y")
    assert str(e.value) == (
        f"data.task: cannot tell the task from target column 'y' ({detail}); "
        "set data.task to binary, multiclass or regression"
    )


@pytest.mark.parametrize(
    ("task", "n_classes"),
    [pytest.param("regression", 0, id="regression"), pytest.param("multiclass", 30, id="multi")],
)
def test_explicit_task_settles_it(tmp_path: Path, task: str, n_classes: int) -> None:
    d, y = _load(_write(tmp_path, _table(lambda i: i % 30)), target="y", task=task)
    assert (d.task, d.n_classes) == (task, n_classes)
    np.testing.assert_array_equal(y, np.arange(N) % 30)


@pytest.mark.parametrize(
    ("labels", "task", "message"),
    [
        pytest.param(lambda i: i % 3, "binary",
                     "data.task: binary needs 2 distinct values, target column 'y' has 3",
                     id="binary_of_3"),
        pytest.param(lambda i: "cat", "multiclass",
                     "data.task: multiclass needs 2 or more distinct values, target column 'y' "
                     "has 1", id="multiclass_of_1"),
        pytest.param(lambda i: ["cat", "dog"][i % 2], "regression",
                     "data.task: regression needs numbers, but target column 'y' has 'cat'",
                     id="regression_of_text"),
    ],
)  # fmt: skip
def test_explicit_task_that_does_not_fit(
    tmp_path: Path, labels: Callable[[int], object], task: str, message: str
) -> None:
    with pytest.raises(DataError) as e:
        _load(_write(tmp_path, _table(labels)), target="y", task=task)
    assert str(e.value) == message


@pytest.mark.parametrize(
    "target", [pytest.param(-1, id="minus_1"), pytest.param(2, id="index_2"),
               pytest.param("col2", id="name")],
)  # fmt: skip
def test_no_header_names_columns_col0(tmp_path: Path, target: int | str) -> None:
    text = "".join(f"{i},{i * 0.5},{i % 2}\n" for i in range(N))
    d, y = _load(_write(tmp_path, text), target=target)
    assert d.feature_names == ["col0", "col1"]
    assert d.task == "binary"
    np.testing.assert_array_equal(y, np.arange(N) % 2)


def test_target_in_the_middle(tmp_path: Path) -> None:
    text = "a,label,b\n" + "".join(f"{i},{i % 2},{-i}\n" for i in range(N))
    d, y = _load(_write(tmp_path, text), target="label")
    assert d.feature_names == ["a", "b"]
    np.testing.assert_array_equal(d.x_train[:, 1], -d.x_train[:, 0])
    np.testing.assert_array_equal(y, np.arange(N) % 2)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        pytest.param("lable", "data.target: no column 'lable' in {path} (did you mean 'label'?); "
                     "columns: a, b, label", id="misspelt"),
        pytest.param("zzz", "data.target: no column 'zzz' in {path}; columns: a, b, label",
                     id="unknown"),
        pytest.param(3, "data.target: column 3 is out of range, {path} has 3 columns: a, b, "
                     "label", id="index_3"),
        pytest.param(-4, "data.target: column -4 is out of range, {path} has 3 columns: a, b, "
                     "label", id="index_-4"),
    ],
)  # fmt: skip
def test_unknown_target(tmp_path: Path, target: str | int, message: str) -> None:
    path = _write(tmp_path, "a,b,label\n1,2,0\n3,4,1\n")
    with pytest.raises(DataError) as e:
        _load(path, target=target)
    assert str(e.value) == message.format(path=path)


FEATURE_HINT = "; nnlab reads feature columns as numbers, convert or drop it"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param("", "the file is empty", id="empty"),
        pytest.param("a,b,y\n", "has a header but no data rows", id="header_only"),
        pytest.param("a,b,y\n1,2,0\n3,4\n", "line 3 has 2 columns, expected 3", id="truncated"),
        pytest.param("a,b,y\n1,2,0\n3,4,1,5\n", "line 3 has 4 columns, expected 3",
                     id="extra_cell"),
        pytest.param("city,b,y\n1,2,0\nParis,4,1\n",
                     f"line 3: column 'city' is not a number: 'Paris'{FEATURE_HINT}",
                     id="text_feature"),
        pytest.param("a,b,y\n1,2,0\n\n3,,1\n", "line 4: column 'b' has a missing value",
                     id="missing_feature"),
        pytest.param("a,b,y\n1,2,0\n3,4,NA\n", "line 3: target column 'y' has no value",
                     id="missing_target"),
        pytest.param("y\n1\n0\n",
                     "needs at least two columns (features and the target), has 1",
                     id="one_column"),
    ],
)  # fmt: skip
def test_malformed_csv(tmp_path: Path, text: str, problem: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(DataError) as e:
        _load(path, target="y")
    assert str(e.value) == f"data.path: {path}: {problem}"


def test_csv_not_found(tmp_path: Path) -> None:
    path = tmp_path / "absent.csv"
    with pytest.raises(DataError) as e:
        _load(path, target="y")
    assert str(e.value) == f"data.path: {path}: file not found"


def test_binary_file_is_not_a_csv(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(b"\x1f\x8b\x08\x00\xff\xfe\xfa")
    with pytest.raises(DataError) as e:
        _load(path, target="y")
    assert str(e.value) == f"data.path: {path}: is not a text CSV file (it is not UTF-8)"


def test_csv_standard_scaling_and_source(tmp_path: Path) -> None:
    path = _write(tmp_path, _table(lambda i: i % 2))
    d = load_dataset(DataConfig(name="csv", path=str(path), target="y"), seed=0)
    np.testing.assert_allclose(d.x_train.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(d.x_train.std(axis=0), 1.0, atol=1e-4)
    assert (len(d.y_train), len(d.y_val), d.source) == (45, 15, str(path))
