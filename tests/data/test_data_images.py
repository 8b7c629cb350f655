"""MNIST and CIFAR-10: the shared cache, data.path npz files, downloads, broken files."""

from __future__ import annotations

import hashlib
import sys
import types
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from nnlab.config import DataConfig
from nnlab.data import _keras_images, load_dataset
from nnlab.errors import DataError

KEYS = ("x_train", "y_train", "x_test", "y_test")


def _cifar_like(n_train: int = 60, n_test: int = 20, seed: int = 0) -> dict[str, np.ndarray]:
    """Arrays in the layout keras.datasets.cifar10.load_data returns (y as (n, 1))."""
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, size=(n_train, 32, 32, 3), dtype=np.uint8),
        "y_train": (np.arange(n_train) % 10).astype(np.uint8).reshape(-1, 1),
        "x_test": rng.integers(0, 256, size=(n_test, 32, 32, 3), dtype=np.uint8),
        "y_test": (np.arange(n_test) % 10).astype(np.uint8).reshape(-1, 1),
    }


@pytest.mark.parametrize(
    ("validation", "sizes"),
    [
        pytest.param(0.25, (3000, 1000, 1000), id="fraction"),
        pytest.param("test", (4000, 1000, None), id="test_split"),
    ],
)
@pytest.mark.usefixtures("shared_cache")
def test_mnist_5k_from_the_cache(validation: float | str, sizes: tuple) -> None:
    d = load_dataset(DataConfig(name="mnist", validation=validation), seed=0)
    n_train, n_val, n_test = sizes
    assert d.x_train.shape == (n_train, 28, 28, 1) and d.y_train.shape == (n_train,)
    assert d.x_val.shape == (n_val, 28, 28, 1) and d.y_val.shape == (n_val,)
    if n_test is None:
        assert d.x_test is None and d.y_test is None
    else:
        assert d.x_test is not None and d.y_test is not None
        assert d.x_test.shape == (n_test, 28, 28, 1)
        assert np.bincount(d.y_test).tolist() == [100] * 10
    assert (d.task, d.n_classes, d.x_train.dtype, d.y_train.dtype) == (
        "multiclass", 10, np.float32, np.int64,
    )  # fmt: skip
    assert d.is_image and d.input_shape == (28, 28, 1)
    assert d.raw_train is None


def test_mnist_test_split_is_the_official_one(mnist_file: Path) -> None:
    d = load_dataset(DataConfig(name="mnist", validation="test", scale="none"), seed=3)
    with np.load(mnist_file) as f:
        np.testing.assert_array_equal(d.x_train[..., 0], f["x_train"])
        np.testing.assert_array_equal(d.y_val, f["y_test"])


@pytest.mark.usefixtures("shared_cache")
def test_mnist_subset_keeps_the_first_training_examples(mnist_file: Path) -> None:
    d = load_dataset(DataConfig(name="mnist", validation="test", subset=500), seed=0)
    assert (len(d.y_train), len(d.y_val)) == (500, 1000)
    with np.load(mnist_file) as f:
        np.testing.assert_array_equal(d.y_train, f["y_train"][:500])


@pytest.mark.parametrize(
    ("scale", "low", "high"),
    [
        pytest.param("none", 0.0, 255.0, id="none"),
        pytest.param("layer", 0.0, 255.0, id="layer"),
        pytest.param("unit", 0.0, 1.0, id="unit"),
    ],
)
@pytest.mark.usefixtures("shared_cache")
def test_mnist_pixel_range(scale: str, low: float, high: float) -> None:
    d = load_dataset(DataConfig(name="mnist", scale=scale), seed=0)
    for x in (d.x_train, d.x_val, d.x_test):
        assert x is not None and (float(x.min()), float(x.max())) == (low, high)


@pytest.mark.usefixtures("shared_cache")
def test_mnist_standard_uses_training_pixels_only() -> None:
    d = load_dataset(DataConfig(name="mnist", scale="standard"), seed=0)
    assert abs(float(d.x_train.mean(dtype=np.float64))) < 1e-4
    assert float(d.x_train.std(dtype=np.float64)) == pytest.approx(1.0, abs=1e-4)
    raw = load_dataset(DataConfig(name="mnist", scale="none"), seed=0)
    mean = raw.x_train.mean(dtype=np.float64)
    std = raw.x_train.std(dtype=np.float64)
    np.testing.assert_allclose(d.x_val, (raw.x_val - mean) / std, atol=1e-5)
    assert abs(float(d.x_val.mean())) > 1e-4  # not exactly standardised


@pytest.mark.parametrize(
    ("validation", "sizes"),
    [
        pytest.param("test", (60, 20, None), id="test_split"),
        pytest.param(0.5, (30, 30, 20), id="fraction"),
    ],
)
def test_cifar10_from_a_path(
    data_cache: Path, validation: float | str, sizes: tuple[int, int, int | None]
) -> None:
    arrays = _cifar_like()
    path = data_cache.parent / "cifar.npz"
    np.savez(path, **arrays)
    d = load_dataset(DataConfig(name="cifar10", path=str(path), validation=validation), 0)
    n_train, n_val, n_test = sizes
    assert d.x_train.shape == (n_train, 32, 32, 3) and d.y_train.shape == (n_train,)
    assert d.x_val.shape == (n_val, 32, 32, 3) and d.y_val.shape == (n_val,)
    assert (None if d.x_test is None else len(d.x_test)) == n_test
    assert np.bincount(d.y_train, minlength=10).tolist() == [n_train // 10] * 10
    assert (d.n_classes, d.source) == (10, str(path))
    assert list(data_cache.iterdir()) == []


def test_cifar10_unit_scale_divides_by_255(data_cache: Path) -> None:
    arrays = _cifar_like()
    path = data_cache / "cifar10.npz"
    np.savez(path, **arrays)
    d = load_dataset(DataConfig(name="cifar10", validation="test", scale="unit"), 0)
    np.testing.assert_allclose(d.x_train * 255.0, arrays["x_train"], atol=1e-3)
    np.testing.assert_array_equal(d.y_val, arrays["y_test"].reshape(-1))
    assert d.source == f"{_keras_images.CIFAR10_URL} (cached at {path})"


def test_cifar10_standard_is_per_channel(data_cache: Path) -> None:
    arrays = _cifar_like()
    arrays["x_train"][..., 0] //= 4  # channels with different means and spreads
    path = data_cache / "cifar10.npz"
    np.savez(path, **arrays)
    d = load_dataset(DataConfig(name="cifar10", validation="test", scale="standard"), 0)
    np.testing.assert_allclose(d.x_train.mean(axis=(0, 1, 2)), 0.0, atol=1e-4)
    np.testing.assert_allclose(d.x_train.std(axis=(0, 1, 2)), 1.0, atol=1e-4)
    raw = arrays["x_train"][..., 0].astype(np.float64)
    expected = (arrays["x_test"][..., 0] - raw.mean()) / raw.std()
    np.testing.assert_allclose(d.x_val[..., 0], expected, atol=1e-4)


def test_cifar10_download_saves_the_arrays_to_the_cache(
    data_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    arrays = _cifar_like(seed=1)
    calls = []

    def load_data() -> tuple:
        calls.append(1)
        return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])

    fake = types.ModuleType("keras")
    fake.datasets = types.SimpleNamespace(cifar10=types.SimpleNamespace(load_data=load_data))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "keras", fake)
    monkeypatch.setenv("NNLAB_OFFLINE", "0")
    cfg = DataConfig(name="cifar10", validation="test", scale="none")
    first = load_dataset(cfg, 0)
    again = load_dataset(cfg, 0)  # from the cache now
    assert calls == [1]
    assert sorted(p.name for p in data_cache.iterdir()) == ["cifar10.npz"]
    with np.load(data_cache / "cifar10.npz") as f:
        assert {k: f[k].shape for k in f.files} == {
            "x_train": (60, 32, 32, 3), "y_train": (60,),
            "x_test": (20, 32, 32, 3), "y_test": (20,),
        }  # fmt: skip
    np.testing.assert_array_equal(first.x_train, arrays["x_train"].astype(np.float32))
    np.testing.assert_array_equal(again.y_val, arrays["y_test"].reshape(-1))


def test_a_failing_keras_download_explains_where_to_put_the_file(
    data_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def load_data() -> tuple:
        raise Exception("URL fetch failure on https://x/cifar.tar.gz: None -- no route to host")

    fake = types.ModuleType("keras")
    fake.datasets = types.SimpleNamespace(cifar10=types.SimpleNamespace(load_data=load_data))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "keras", fake)
    monkeypatch.setenv("NNLAB_OFFLINE", "0")
    with pytest.raises(DataError) as e:
        load_dataset(DataConfig(name="cifar10"), 0)
    assert str(e.value) == (
        f"data.name: cifar10 is not in the cache ({data_cache / 'cifar10.npz'}) and downloading "
        "it failed (URL fetch failure on https://x/cifar.tar.gz: None -- no route to host). "
        "Put the file there or set data.path"
    )
    assert list(data_cache.iterdir()) == []


@pytest.mark.parametrize("name", ["mnist", "cifar10"])
def test_offline_and_not_cached(data_cache: Path, name: str) -> None:
    with pytest.raises(DataError) as e:
        load_dataset(DataConfig(name=name), 0)
    assert str(e.value) == (
        f"data.name: {name} is not in the cache ({data_cache / f'{name}.npz'}) and downloading "
        "it failed (offline: NNLAB_OFFLINE is set). Put the file there or set data.path"
    )


def _write_npz(path: Path, **arrays: np.ndarray) -> None:
    np.savez(path, **arrays)


def _good(n: int = 4) -> dict[str, np.ndarray]:
    return {
        "x_train": np.zeros((n, 28, 28), np.uint8), "y_train": np.arange(n) % 10,
        "x_test": np.zeros((n, 28, 28), np.uint8), "y_test": np.arange(n) % 10,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        pytest.param(
            lambda p: p.write_text("x_train,y_train\n1,2\n"),
            "is not a readable npz file",
            id="text_file",
        ),
        pytest.param(
            lambda p: p.write_bytes(b""),
            "is not a readable npz file",
            id="empty_file",
        ),
        pytest.param(
            lambda p: np.save(open(p, "wb"), np.zeros(3)),  # noqa: SIM115
            "is a single .npy array, expected an npz with ('x_train', 'y_train', 'x_test', "
            "'y_test')",
            id="npy_array",
        ),
        pytest.param(
            lambda p: _write_npz(p, x_train=np.zeros((4, 28, 28)), y_train=np.zeros(4)),
            "lacks x_test, y_test; expected the layout of Keras' mnist.npz (x_train, y_train, "
            "x_test, y_test), found x_train, y_train",
            id="missing_keys",
        ),
        pytest.param(
            lambda p: _write_npz(p, **{**_good(), "y_train": np.zeros(3, np.uint8)}),
            "y_train has 3 labels for 4 images",
            id="label_count",
        ),
        pytest.param(
            lambda p: _write_npz(p, **{**_good(), "y_test": np.array([0, 1, 2, 12])}),
            "y_test must hold class indices 0..9",
            id="label_range",
        ),
        pytest.param(
            lambda p: _write_npz(p, **{**_good(), "x_test": np.zeros((4, 32, 32, 3), np.uint8)}),
            "x_test images are (32, 32, 3), x_train images (28, 28, 1)",
            id="test_shape",
        ),
        pytest.param(
            lambda p: _write_npz(p, **{**_good(), "x_train": np.zeros((4, 784), np.uint8)}),
            "x_train must be numbers shaped (n, height, width) or (n, height, width, channels), "
            "got uint8 (4, 784)",
            id="flat_images",
        ),
    ],
)
def test_broken_npz(data_cache: Path, make: Callable[[Path], object], problem: str) -> None:
    path = data_cache.parent / "broken.npz"
    make(path)
    with pytest.raises(DataError) as e:
        load_dataset(DataConfig(name="mnist", path=str(path)), 0)
    assert str(e.value).startswith(f"data.path: {path}: {problem}")


def test_truncated_npz(mnist_file: Path, tmp_path: Path) -> None:
    data = mnist_file.read_bytes()
    path = tmp_path / "truncated.npz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError) as e:
        load_dataset(DataConfig(name="mnist", path=str(path)), 0)
    assert str(e.value).startswith(f"data.path: {path}: is not a readable npz file (")


def test_broken_cached_npz_says_to_delete_it(data_cache: Path) -> None:
    cached = data_cache / "mnist.npz"
    cached.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError) as e:
        load_dataset(DataConfig(name="mnist"), 0)
    assert str(e.value).startswith(
        f"data.name: mnist: the cached file {cached} is broken (delete it to download again): "
        "is not a readable npz file ("
    )


def test_npz_path_not_found(data_cache: Path) -> None:
    path = data_cache.parent / "absent.npz"
    with pytest.raises(DataError) as e:
        load_dataset(DataConfig(name="cifar10", path=str(path)), 0)
    assert str(e.value) == f"data.path: {path}: file not found"


@pytest.mark.slow
def test_mnist_download_through_keras_lands_in_our_cache(
    mnist_file: Path, shared_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real Keras downloader, fed a file:// origin: the file must end up at
    <cache>/mnist.npz (not in ~/.keras), with no temporary file left beside it."""
    (shared_cache / "mnist.npz").unlink()
    monkeypatch.setenv("NNLAB_OFFLINE", "0")
    monkeypatch.setenv("KERAS_HOME", str(shared_cache.parent / "keras-home"))
    monkeypatch.setattr(_keras_images, "MNIST_URL", mnist_file.as_uri())
    monkeypatch.setattr(_keras_images, "MNIST_SHA256", "0" * 64)
    with pytest.raises(DataError, match=r"file hash does not match"):
        load_dataset(DataConfig(name="mnist"), 0)
    assert sorted(p.name for p in shared_cache.iterdir()) == ["pima-indians-diabetes.csv"]

    digest = hashlib.sha256(mnist_file.read_bytes()).hexdigest()
    monkeypatch.setattr(_keras_images, "MNIST_SHA256", digest)
    d = load_dataset(DataConfig(name="mnist"), 0)
    assert len(d.y_train) + len(d.y_val) == 4000
    cached = shared_cache / "mnist.npz"
    assert not cached.is_symlink() and cached.read_bytes() == mnist_file.read_bytes()
    assert sorted(p.name for p in shared_cache.iterdir()) == [
        "mnist.npz", "pima-indians-diabetes.csv",
    ]  # fmt: skip
