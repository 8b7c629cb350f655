"""The registry of datasets: the loader, kind and source of each name in ``config.DATASETS``.

``load_dataset`` is what a run calls; ``dataset_table`` is what ``nnlab datasets`` prints.
Neither imports a deep-learning backend unless a Keras download is needed.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nnlab.config import DATASETS, DataConfig
from nnlab.data import _csv, _generated, _keras_images, _pima, _table
from nnlab.data._base import Dataset
from nnlab.data._download import offline_reason
from nnlab.data._prepare import Raw, prepare


@dataclass(frozen=True)
class Entry:
    """One dataset: its loader, kind (download, generated, bundled, your file) and source."""

    load: Callable[[DataConfig, int], Raw]
    kind: str
    source: str
    cache_path: Callable[[], Path] | None = None


REGISTRY: dict[str, Entry] = {
    "pima": Entry(_pima.load, "download", _pima.URL, _pima.cache_path),
    "mnist": Entry(_keras_images.load_mnist, "download", _keras_images.MNIST_URL,
                   lambda: _keras_images.cache_path("mnist")),
    "cifar10": Entry(_keras_images.load_cifar10, "download", _keras_images.CIFAR10_URL,
                     lambda: _keras_images.cache_path("cifar10")),
    "circles": Entry(_generated.load_circles, "generated", "sklearn.datasets.make_circles"),
    "moons": Entry(_generated.load_moons, "generated", "sklearn.datasets.make_moons"),
    "blobs": Entry(_generated.load_blobs, "generated", "sklearn.datasets.make_blobs"),
    "digits": Entry(_generated.load_digits, "bundled", "sklearn.datasets.load_digits"),
    "csv": Entry(_csv.load, "your file", "data.path (a CSV with a target column)"),
    "table": Entry(_table.load, "in the config", "data.x and data.y (a few rows)"),
}  # fmt: skip
assert set(REGISTRY) == set(DATASETS), "every dataset the config accepts needs a loader"


_memo: OrderedDict[str, Dataset] = OrderedDict()
_supplied: dict[str, Raw] = {}  # loaded elsewhere and handed over (a cluster's driver)
MEMO_SIZE = 2  # datasets kept in memory: the runs of a sweep mostly share one


def _memo_key(cfg: DataConfig, seed: int) -> str:
    """The config, the seed, and which file the data comes from (a rewritten or moved
    file, or another cache folder, is loaded again)."""
    entry = REGISTRY[cfg.name]
    file = Path(cfg.path) if cfg.path else entry.cache_path() if entry.cache_path else None
    stamp = None
    if file is not None:
        try:
            st = file.stat()
            stamp = [str(file.resolve()), st.st_mtime_ns, st.st_size]
        except OSError:
            stamp = [str(file), "missing"]
    return json.dumps([cfg.model_dump(mode="json"), seed, stamp], sort_keys=True)


# what the file loaders read: the split, subset and scaling are made from their arrays
RAW_FIELDS = {"name", "path", "target", "task"}


def raw_key(cfg: DataConfig) -> str:
    """The part of a data config that decides the arrays a file loader returns."""
    return cfg.model_dump_json(include=RAW_FIELDS)


def load_raw(cfg: DataConfig) -> Raw | None:
    """The arrays of a dataset read from a file (downloaded or the user's), which are the
    same for every seed; None for one generated or bundled, which any machine can make."""
    if REGISTRY[cfg.name].kind not in ("download", "your file"):
        return None
    return REGISTRY[cfg.name].load(cfg, 0)


def would_download(cfg: DataConfig) -> bool:
    """Whether loading ``cfg`` would go to the network: a downloadable dataset without
    ``data.path`` whose file is not in the cache yet, while downloads are allowed (offline,
    the loader raises the missing-file error at once, without the network)."""
    entry = REGISTRY[cfg.name]
    if entry.kind != "download" or cfg.path is not None or entry.cache_path is None:
        return False
    return not entry.cache_path().exists() and offline_reason() is None


def supply(raws: dict[str, Raw]) -> None:
    """Use these arrays (by ``raw_key``) instead of reading the files: a cluster's driver
    read them, and the files may not exist where the run trains."""
    _supplied.update(raws)


def load_dataset(cfg: DataConfig, seed: int) -> Dataset:
    """Called by the preflight and by each run: load, split, subset and scale ``cfg``.

    ``seed`` is the run's seed; ``cfg.random_state`` overrides it when set. It seeds the
    generators and the validation split. The last few results are kept in memory, so runs
    that share a data config and seed share the arrays (``fit`` never modifies them).
    Raises ``DataError`` for anything that cannot be found, downloaded or read.
    """
    if cfg.random_state is not None:
        seed = cfg.random_state
    key = _memo_key(cfg, seed)
    if key in _memo:
        _memo.move_to_end(key)
        return _memo[key]
    raw = _supplied.get(raw_key(cfg)) or REGISTRY[cfg.name].load(cfg, seed)
    data = prepare(raw, cfg, seed)
    _memo[key] = data
    while len(_memo) > MEMO_SIZE:
        _memo.popitem(last=False)
    return data


def dataset_table() -> list[dict[str, str]]:
    """Called by ``nnlab datasets``: one row per dataset with name, kind, source and cached
    (the cached file's path, "no" when it is not there yet, "-" when nothing is cached)."""
    rows = []
    for name in DATASETS:
        entry = REGISTRY[name]
        cached = "-"
        if entry.cache_path is not None:
            path = entry.cache_path()
            cached = str(path) if path.exists() else "no"
        rows.append({"name": name, "kind": entry.kind, "source": entry.source, "cached": cached})
    return rows
