"""``data.name: mnist`` and ``cifar10``: the Keras image datasets, kept as npz in our cache.

``load_mnist`` and ``load_cifar10`` are called by ``load_dataset``. The file is ``data.path``
when given (an npz in the layout of Keras' mnist.npz: x_train, y_train, x_test, y_test), else
``<cache>/mnist.npz`` or ``<cache>/cifar10.npz``, downloaded through Keras the first time.
Keras is imported only inside the two download functions.
"""

from __future__ import annotations

import contextlib
import os
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from nnlab.config import DataConfig
from nnlab.data._base import cache_dir
from nnlab.data._download import missing_file_error, offline_reason
from nnlab.data._prepare import Raw
from nnlab.errors import DataError
from nnlab.store import atomic_path

# the origin and sha256 that keras.datasets.mnist.load_data uses
MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CACHE_FILES = {"mnist": "mnist.npz", "cifar10": "cifar10.npz"}
KEYS = ("x_train", "y_train", "x_test", "y_test")
N_CLASSES = 10
PIXEL_MAX = 255.0


def cache_path(name: str) -> Path:
    """Where ``name`` (mnist or cifar10) is kept (also shown by ``nnlab datasets``)."""
    return cache_dir() / CACHE_FILES[name]


def load_mnist(cfg: DataConfig, seed: int) -> Raw:
    """Called by ``load_dataset``: MNIST as (n, 28, 28, 1) uint8 images and labels 0..9."""
    del seed
    return _load("mnist", MNIST_URL, cfg, _download_mnist)


def load_cifar10(cfg: DataConfig, seed: int) -> Raw:
    """Called by ``load_dataset``: CIFAR-10 as (n, 32, 32, 3) uint8 images and labels 0..9."""
    del seed
    return _load("cifar10", CIFAR10_URL, cfg, _download_cifar10)


def _load(name: str, url: str, cfg: DataConfig, download: Callable[[Path], None]) -> Raw:
    if cfg.path is not None:
        path = Path(cfg.path).expanduser()
        where = f"data.path: {path}"
        source = str(path)
    else:
        path = cache_path(name)
        where = f"data.name: {name}: the cached file {path} is broken (delete it to download again)"
        source = f"{url} (cached at {path})"
        if not path.exists():
            reason = offline_reason()
            if reason:
                raise missing_file_error(name, path, reason)
            try:
                download(path)
            except Exception as e:  # Keras raises bare Exceptions for network failures
                raise missing_file_error(name, path, str(e) or type(e).__name__) from None
    x_train, y_train, x_test, y_test = read_npz(path, where)
    return Raw(
        name=name,
        task="multiclass",
        x=x_train,
        y=y_train,
        n_classes=N_CLASSES,
        source=source,
        x_test=x_test,
        y_test=y_test,
        image_max=PIXEL_MAX,
    )


def read_npz(path: Path, where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """x_train, y_train, x_test, y_test from an npz; images get a channel axis, labels are
    flattened. A missing, unreadable or mis-shaped file is a DataError that names it."""
    try:
        f = np.load(path, allow_pickle=False)
        if not isinstance(f, np.lib.npyio.NpzFile):
            raise DataError(f"{where}: is a single .npy array, expected an npz with {KEYS}")
        with f:
            missing = [key for key in KEYS if key not in f.files]
            if missing:
                raise DataError(
                    f"{where}: lacks {', '.join(missing)}; expected the layout of Keras' "
                    f"mnist.npz ({', '.join(KEYS)}), found {', '.join(f.files) or 'nothing'}"
                )
            arrays = [f[key] for key in KEYS]
    except FileNotFoundError:
        raise DataError(f"{where}: file not found") from None
    except IsADirectoryError:
        raise DataError(f"{where}: is a folder, not an npz file") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise DataError(f"{where}: is not a readable npz file ({e})") from None
    x_train, y_train, x_test, y_test = arrays
    x_train = _images(x_train, "x_train", where)
    x_test = _images(x_test, "x_test", where)
    if x_test.shape[1:] != x_train.shape[1:]:
        raise DataError(
            f"{where}: x_test images are {x_test.shape[1:]}, x_train images {x_train.shape[1:]}"
        )
    return (
        x_train,
        _labels(y_train, x_train, "y_train", where),
        x_test,
        _labels(y_test, x_test, "y_test", where),
    )


def _images(x: np.ndarray, key: str, where: str) -> np.ndarray:
    if x.ndim == 3:
        x = x[..., np.newaxis]
    if x.ndim != 4 or x.dtype.kind not in "uif":
        raise DataError(
            f"{where}: {key} must be numbers shaped (n, height, width) or (n, height, width, "
            f"channels), got {x.dtype} {x.shape}"
        )
    return x


def _labels(y: np.ndarray, x: np.ndarray, key: str, where: str) -> np.ndarray:
    y = y.reshape(-1)
    if len(y) != len(x):
        raise DataError(f"{where}: {key} has {len(y)} labels for {len(x)} images")
    if y.dtype.kind not in "uif" or (
        len(y) and (np.any(y != np.round(y)) or y.min() < 0 or y.max() >= N_CLASSES)
    ):
        raise DataError(f"{where}: {key} must hold class indices 0..{N_CLASSES - 1}")
    return y.astype(np.int64)


def _download_mnist(target: Path) -> None:
    """Fetch mnist.npz with Keras' downloader (its origin and sha256) straight into our cache;
    it lands under a temporary name and is renamed once verified."""
    import keras

    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.parent / f".{target.name}.part"
    try:
        fetched = keras.utils.get_file(
            fname=part.name, origin=MNIST_URL, file_hash=MNIST_SHA256,
            cache_dir=str(target.parent), cache_subdir="",
        )  # fmt: skip
        os.replace(fetched, target)
    finally:
        with contextlib.suppress(OSError):
            part.unlink()


def _download_cifar10(target: Path) -> None:
    """Fetch CIFAR-10 with ``keras.datasets.cifar10.load_data`` (kept in Keras' own cache) and
    save its arrays to ``target`` in the mnist.npz layout, so later loads skip Keras."""
    import keras

    (x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
    with atomic_path(target) as tmp, open(tmp, "wb") as f:
        np.savez(
            f, x_train=x_train, y_train=y_train.reshape(-1),
            x_test=x_test, y_test=y_test.reshape(-1),
        )  # fmt: skip
