"""``data.name: pima``: the Pima Indians Diabetes CSV that the Keras tutorials load.

``load`` is called by ``load_dataset``. The file is ``data.path`` when given, else the cached
copy, downloaded (and checked against its sha256) the first time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nnlab.config import DataConfig
from nnlab.data._base import cache_dir
from nnlab.data._csv import is_number, parse_numbers, read_rows
from nnlab.data._download import DownloadFailed, fetch, missing_file_error
from nnlab.data._prepare import Raw
from nnlab.errors import DataError

URL = "https://raw.githubusercontent.com/jbrownlee/Datasets/master/pima-indians-diabetes.data.csv"
SHA256 = "6bfe5d0f379d17a0e0819b996407e3c09bf80febd4287f2ed212190dfff154af"
CACHE_FILE = "pima-indians-diabetes.csv"
FEATURES = [
    "pregnancies", "glucose", "blood_pressure", "skin_thickness", "insulin", "bmi",
    "diabetes_pedigree", "age",
]  # fmt: skip
COLUMNS = len(FEATURES) + 1  # the 0/1 outcome is last


def cache_path() -> Path:
    """Where the download is kept (also shown by ``nnlab datasets``)."""
    return cache_dir() / CACHE_FILE


def load(cfg: DataConfig, seed: int) -> Raw:
    """Called by ``load_dataset``; returns all 768 rows (fewer for a shorter ``data.path``).

    x is (n, 8) float32 and y the 0/1 outcome. A malformed file is a DataError naming the
    file, the line and the problem.
    """
    del seed  # the file is the same for every seed
    if cfg.path is not None:
        path = Path(cfg.path).expanduser()
        where = f"data.path: {path}"
    else:
        path = cache_path()
        where = f"data.name: pima: the cached file {path} is broken (delete it to download again)"
        if not path.exists():
            try:
                fetch(URL, path, sha256=SHA256)
            except DownloadFailed as e:
                raise missing_file_error("pima", path, str(e)) from None
    x, y = read(path, where)
    return Raw(
        name="pima",
        task="binary",
        x=x,
        y=y,
        n_classes=2,
        source=str(path) if cfg.path is not None else f"{URL} (cached at {path})",
        feature_names=list(FEATURES),
    )


def read(path: Path, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Parse a Pima CSV: 9 numeric columns, the last 0 or 1. A header row, if the file has one
    (as the Kaggle copy does), is skipped. Returns x (n, 8) float32 and y (n,) int64."""
    rows = read_rows(path, where, columns=COLUMNS)
    if not any(is_number(cell) for cell in rows[0][1]):
        rows = rows[1:]
        if not rows:
            raise DataError(f"{where}: has a header but no data rows")
    names = [*FEATURES, "outcome"]
    columns = [parse_numbers(rows, i, names[i], where) for i in range(COLUMNS)]
    x = np.column_stack(columns[:-1]).astype(np.float32)
    outcome = columns[-1]
    bad = np.flatnonzero((outcome != 0) & (outcome != 1))
    if bad.size:
        line = rows[bad[0]][0]
        raise DataError(
            f"{where}: line {line}: column 'outcome' must be 0 or 1, got {outcome[bad[0]]:g}"
        )
    return x, outcome.astype(np.int64)
