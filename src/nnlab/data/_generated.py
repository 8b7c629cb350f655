"""``circles``, ``moons``, ``blobs`` (scikit-learn generators) and ``digits`` (bundled).

Each ``load_*`` is called by ``load_dataset`` with the run's seed and returns a ``Raw``;
nothing here touches the disk or the network. scikit-learn is imported inside the functions
so that ``nnlab datasets`` starts quickly.
"""

from __future__ import annotations

import numpy as np

from nnlab.config import DataConfig
from nnlab.data._prepare import Raw

# scikit-learn's parameters, with nnlab's defaults for those the config leaves out
N_SAMPLES = 1000
NOISE = 0.1
FACTOR = 0.5
CENTERS = 3
CLUSTER_STD = 1.0
N_FEATURES = 2
DIGITS_MAX = 16.0  # load_digits pixels are counts 0..16


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


def _call(function: str, **kwargs: object) -> str:
    """``sklearn.datasets.make_circles(n_samples=1000, ...)``: the source a Dataset records."""
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    return f"sklearn.datasets.{function}({args})"


def _features(n: int) -> list[str]:
    return [f"x{i + 1}" for i in range(n)]


def load_circles(cfg: DataConfig, seed: int) -> Raw:
    """Two concentric rings in 2-D: binary."""
    from sklearn.datasets import make_circles

    kwargs = {
        "n_samples": int(_or(cfg.n_samples, N_SAMPLES)),
        "noise": float(_or(cfg.noise, NOISE)),
        "factor": float(_or(cfg.factor, FACTOR)),
        "random_state": seed,
    }
    x, y = make_circles(**kwargs)
    return Raw("circles", "binary", x.astype(np.float32), y.astype(np.int64), 2,
               _call("make_circles", **kwargs), _features(2))  # fmt: skip


def load_moons(cfg: DataConfig, seed: int) -> Raw:
    """Two interleaving half circles in 2-D: binary."""
    from sklearn.datasets import make_moons

    kwargs = {
        "n_samples": int(_or(cfg.n_samples, N_SAMPLES)),
        "noise": float(_or(cfg.noise, NOISE)),
        "random_state": seed,
    }
    x, y = make_moons(**kwargs)
    return Raw("moons", "binary", x.astype(np.float32), y.astype(np.int64), 2,
               _call("make_moons", **kwargs), _features(2))  # fmt: skip


def load_blobs(cfg: DataConfig, seed: int) -> Raw:
    """Gaussian clusters, one class each: multiclass (``centers`` classes)."""
    from sklearn.datasets import make_blobs

    kwargs = {
        "n_samples": int(_or(cfg.n_samples, N_SAMPLES)),
        "centers": int(_or(cfg.centers, CENTERS)),
        "cluster_std": float(_or(cfg.cluster_std, CLUSTER_STD)),
        "n_features": int(_or(cfg.n_features, N_FEATURES)),
        "random_state": seed,
    }
    x, y = make_blobs(**kwargs)
    return Raw("blobs", "multiclass", x.astype(np.float32), y.astype(np.int64),
               kwargs["centers"], _call("make_blobs", **kwargs),
               _features(kwargs["n_features"]))  # fmt: skip


def load_digits(cfg: DataConfig, seed: int) -> Raw:
    """scikit-learn's 1,797 8x8 digits as (n, 8, 8, 1) images with values 0..16: 10 classes."""
    del cfg, seed  # bundled: the same for every seed
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    x = bunch.images.astype(np.float32)[..., np.newaxis]
    return Raw("digits", "multiclass", x, bunch.target.astype(np.int64), 10,
               "sklearn.datasets.load_digits()", image_max=DIGITS_MAX)  # fmt: skip
