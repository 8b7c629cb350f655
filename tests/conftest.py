"""Shared fixtures. Tests never touch the network: NNLAB_OFFLINE=1 makes every download fail
fast, and the real datasets come from ../shared/datasets (tests skip when it is absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ["NNLAB_OFFLINE"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# `backend: auto` is JAX where it is installed; this process trains on TensorFlow (one Keras
# backend per process), as the tests written before that default did. The fused tests and
# the other-backend tests start their own processes without it.
os.environ["KERAS_BACKEND"] = "tensorflow"

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NNLAB_SHARED_DATASETS", ROOT.parent / "shared" / "datasets"))
PIMA_FILE = SHARED / "pima-indians-diabetes.csv"
MNIST_FILE = SHARED / "mnist-5k.npz"


@pytest.fixture
def data_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty dataset cache in a temporary folder, set as $NNLAB_DATA_DIR."""
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("NNLAB_DATA_DIR", str(cache))
    return cache


@pytest.fixture
def shared_cache(data_cache: Path) -> Path:
    """A cache holding the real Pima CSV and the MNIST 5k sample under the names the loaders
    cache them as, so the loaders take their ordinary cache path."""
    if not PIMA_FILE.is_file() or not MNIST_FILE.is_file():
        pytest.skip(f"real datasets not found in {SHARED}")
    (data_cache / "pima-indians-diabetes.csv").symlink_to(PIMA_FILE)
    (data_cache / "mnist.npz").symlink_to(MNIST_FILE)
    return data_cache
