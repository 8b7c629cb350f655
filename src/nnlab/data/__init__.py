"""Datasets: ``load_dataset`` for a run, ``dataset_table`` for ``nnlab datasets``.

One module per family (``_pima``, ``_keras_images``, ``_generated``, ``_csv``), the shared
split/subset/scale steps in ``_prepare``, downloads in ``_download``, the registry in
``_registry``.
"""

from __future__ import annotations

from nnlab.data._base import Dataset, cache_dir
from nnlab.data._registry import (
    dataset_table,
    load_dataset,
    load_raw,
    raw_key,
    supply,
    would_download,
)

__all__ = [
    "Dataset", "cache_dir", "dataset_table", "load_dataset", "load_raw", "raw_key", "supply",
    "would_download",
]  # fmt: skip
