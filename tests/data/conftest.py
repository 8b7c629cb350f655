"""Fixtures of the data tests: the real files behind the shared cache (skip when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def pima_file(shared_cache: Path) -> Path:
    """The real Pima CSV (outside the cache); the cache also holds it."""
    return (shared_cache / "pima-indians-diabetes.csv").resolve()


@pytest.fixture
def mnist_file(shared_cache: Path) -> Path:
    """The real MNIST 5k npz (outside the cache); the cache also holds it as mnist.npz."""
    return (shared_cache / "mnist.npz").resolve()
