"""dataset_table for `nnlab datasets`, and what importing the data package pulls in."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from nnlab.config import DATASETS
from nnlab.data import dataset_table

KINDS = {
    "pima": "download", "mnist": "download", "cifar10": "download", "circles": "generated",
    "moons": "generated", "blobs": "generated", "digits": "bundled", "csv": "your file",
    "table": "in the config",
}  # fmt: skip


def test_one_row_per_dataset_in_an_empty_cache(data_cache: Path) -> None:
    rows = dataset_table()
    assert [r["name"] for r in rows] == list(DATASETS)
    assert all(set(r) == {"name", "kind", "source", "cached"} for r in rows)
    assert {r["name"]: r["kind"] for r in rows} == KINDS
    cached = {r["name"]: r["cached"] for r in rows}
    assert cached == {name: "no" if KINDS[name] == "download" else "-" for name in DATASETS}
    sources = {r["name"]: r["source"] for r in rows}
    assert sources["pima"] == (
        "https://raw.githubusercontent.com/jbrownlee/Datasets/master/pima-indians-diabetes.data.csv"
    )
    assert sources["circles"] == "sklearn.datasets.make_circles"
    assert sources["digits"] == "sklearn.datasets.load_digits"


def test_cached_files_are_shown_by_path(shared_cache: Path) -> None:
    cached = {r["name"]: r["cached"] for r in dataset_table()}
    assert cached["pima"] == str(shared_cache / "pima-indians-diabetes.csv")
    assert cached["mnist"] == str(shared_cache / "mnist.npz")
    assert cached["cifar10"] == "no"


def test_no_backend_is_imported(data_cache: Path) -> None:
    """`nnlab datasets` and loading non-Keras data must not start TensorFlow or Keras."""
    code = (
        "import json, sys\n"
        "from nnlab.data import dataset_table, load_dataset\n"
        "from nnlab.config import DataConfig\n"
        "rows = dataset_table()\n"
        "after_table = sorted(m for m in ('tensorflow', 'keras', 'sklearn') if m in sys.modules)\n"
        "d = load_dataset(DataConfig(name='circles', n_samples=100), 0)\n"
        "after_load = sorted(m for m in ('tensorflow', 'keras') if m in sys.modules)\n"
        "print(json.dumps([len(rows), after_table, after_load, len(d.y_train)]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [len(DATASETS), [], [], 75]
