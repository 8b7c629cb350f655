"""Pima: the shared cache, data.path, a (file://) download, and malformed files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from nnlab.config import DataConfig
from nnlab.data import _pima, load_dataset
from nnlab.errors import DataError

N_ROWS, N_POSITIVE = 768, 268
FIRST_ROW = "6,148,72,35,0,33.6,0.627,50,1"
GOOD_ROWS = [FIRST_ROW, "1,85,66,29,0,26.6,0.351,31,0", "8,183,64,0,0,23.3,0.672,32,1"]


def test_pima_from_the_shared_cache(shared_cache: Path) -> None:
    d = load_dataset(DataConfig(name="pima", scale="none"), seed=0)
    assert (d.x_train.shape, d.x_val.shape) == ((576, 8), (192, 8))
    assert d.x_test is None and d.y_test is None
    assert (d.task, d.n_classes, d.y_train.dtype, d.x_train.dtype) == (
        "binary", 2, np.int64, np.float32,
    )  # fmt: skip
    assert int(d.y_train.sum() + d.y_val.sum()) == N_POSITIVE
    for y in (d.y_train, d.y_val):
        assert abs(y.mean() - N_POSITIVE / N_ROWS) < 0.02
    assert d.feature_names == [
        "pregnancies", "glucose", "blood_pressure", "skin_thickness", "insulin", "bmi",
        "diabetes_pedigree", "age",
    ]  # fmt: skip
    # raw values: every column sums to what the file holds
    file = np.loadtxt(shared_cache / "pima-indians-diabetes.csv", delimiter=",")
    totals = d.x_train.sum(axis=0, dtype=np.float64) + d.x_val.sum(axis=0, dtype=np.float64)
    np.testing.assert_allclose(totals, file[:, :8].sum(axis=0), rtol=1e-6)
    assert d.source == f"{_pima.URL} (cached at {shared_cache / 'pima-indians-diabetes.csv'})"


def test_pima_via_path(pima_file: Path, tmp_path: Path) -> None:
    copy = tmp_path / "my-pima.csv"
    copy.write_bytes(pima_file.read_bytes())
    d = load_dataset(DataConfig(name="pima", path=str(copy)), seed=0)
    assert len(d.y_train) + len(d.y_val) == N_ROWS
    assert int(d.y_train.sum() + d.y_val.sum()) == N_POSITIVE
    assert d.source == str(copy)


@pytest.mark.usefixtures("shared_cache")
def test_pima_seed_decides_the_split() -> None:
    cfg = DataConfig(name="pima")
    a, b, c = (load_dataset(cfg, seed=s) for s in (0, 0, 1))
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_val, b.y_val)
    assert not np.array_equal(a.x_val, c.x_val)
    # a different split of the same rows: the raw glucose total is unchanged
    cfg_raw = DataConfig(name="pima", scale="none")
    r0, r1 = load_dataset(cfg_raw, seed=0), load_dataset(cfg_raw, seed=1)
    assert r0.x_val[:, 1].sum() != r1.x_val[:, 1].sum()
    assert r0.x_train[:, 1].sum() + r0.x_val[:, 1].sum() == pytest.approx(
        r1.x_train[:, 1].sum() + r1.x_val[:, 1].sum()
    )


def test_pima_download_fills_the_cache(
    pima_file: Path, shared_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached = shared_cache / "pima-indians-diabetes.csv"
    cached.unlink()
    monkeypatch.setenv("NNLAB_OFFLINE", "0")
    monkeypatch.setattr(_pima, "URL", pima_file.as_uri())
    d = load_dataset(DataConfig(name="pima"), seed=0)
    assert len(d.y_train) + len(d.y_val) == N_ROWS
    assert not cached.is_symlink() and cached.read_bytes() == pima_file.read_bytes()
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == _pima.SHA256


def test_pima_download_with_the_wrong_checksum_caches_nothing(
    data_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "fake.csv"
    fake.write_text("\n".join(GOOD_ROWS) + "\n")
    monkeypatch.setenv("NNLAB_OFFLINE", "0")
    monkeypatch.setattr(_pima, "URL", fake.as_uri())
    with pytest.raises(DataError) as e:
        load_dataset(DataConfig(name="pima"), seed=0)
    digest = hashlib.sha256(fake.read_bytes()).hexdigest()
    assert str(e.value) == (
        f"data.name: pima is not in the cache ({data_cache / 'pima-indians-diabetes.csv'}) and "
        f"downloading it failed ({fake.as_uri()} has sha256 {digest}, expected {_pima.SHA256}). "
        "Put the file there or set data.path"
    )
    assert list(data_cache.iterdir()) == []


def test_pima_offline_and_not_cached(data_cache: Path) -> None:
    with pytest.raises(DataError) as e:
        load_dataset(DataConfig(name="pima"), seed=0)
    assert str(e.value) == (
        f"data.name: pima is not in the cache ({data_cache / 'pima-indians-diabetes.csv'}) and "
        "downloading it failed (offline: NNLAB_OFFLINE is set). Put the file there or set "
        "data.path"
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param("", "the file is empty", id="empty"),
        pytest.param("\n  \n", "the file is empty", id="blank"),
        pytest.param(
            "\n".join([*GOOD_ROWS, "1,85,66"]), "line 4 has 3 columns, expected 9", id="truncated"
        ),
        pytest.param(
            "\n".join(row + ",7" for row in GOOD_ROWS),
            "line 1 has 10 columns, expected 9",
            id="ten_columns",
        ),
        pytest.param(
            "\n".join([GOOD_ROWS[0], "1,abc,66,29,0,26.6,0.351,31,0"]),
            "line 2: column 'glucose' is not a number: 'abc'",
            id="non_numeric",
        ),
        pytest.param(
            "\n".join([GOOD_ROWS[0], "\n", "1,85,66,29,0,26.6,0.351,,0"]),
            "line 4: column 'age' has a missing value",
            id="missing_cell_after_blank_lines",
        ),
        pytest.param(
            "\n".join([GOOD_ROWS[0], "1,85,66,29,0,26.6,0.351,31,2"]),
            "line 2: column 'outcome' must be 0 or 1, got 2",
            id="outcome_2",
        ),
        pytest.param(
            "Pregnancies,Glucose,BloodPressure,SkinThickness,Insulin,BMI,"
            "DiabetesPedigreeFunction,Age,Outcome\n",
            "has a header but no data rows",
            id="header_only",
        ),
    ],
)
def test_malformed_pima_file(data_cache: Path, text: str, problem: str) -> None:
    path = data_cache.parent / "pima.csv"
    path.write_text(text)
    with pytest.raises(DataError) as e:
        load_dataset(DataConfig(name="pima", path=str(path)), seed=0)
    assert str(e.value) == f"data.path: {path}: {problem}"


def test_pima_path_not_found(data_cache: Path) -> None:
    path = data_cache.parent / "nowhere.csv"
    with pytest.raises(DataError) as e:
        load_dataset(DataConfig(name="pima", path=str(path)), seed=0)
    assert str(e.value) == f"data.path: {path}: file not found"


def test_broken_cached_pima_says_to_delete_it(data_cache: Path) -> None:
    cached = data_cache / "pima-indians-diabetes.csv"
    cached.write_text(GOOD_ROWS[0] + "\n1,85,6")
    with pytest.raises(DataError) as e:
        load_dataset(DataConfig(name="pima"), seed=0)
    assert str(e.value) == (
        f"data.name: pima: the cached file {cached} is broken (delete it to download again): "
        "line 2 has 3 columns, expected 9"
    )


def test_pima_with_a_header_row_skips_it(data_cache: Path) -> None:
    rows = [f"{i},100,70,20,0,30.0,0.5,{20 + i},{i % 2}" for i in range(8)]
    path = data_cache.parent / "kaggle.csv"
    path.write_text("Pregnancies,Glucose,BP,Skin,Insulin,BMI,DPF,Age,Outcome\n" + "\n".join(rows))
    d = load_dataset(DataConfig(name="pima", path=str(path), validation=0.5, scale="none"), 0)
    assert (len(d.y_train), len(d.y_val)) == (4, 4)
    assert (int(d.y_train.sum()), int(d.y_val.sum())) == (2, 2)
    assert sorted([*d.x_train[:, 7], *d.x_val[:, 7]]) == list(range(20, 28))
