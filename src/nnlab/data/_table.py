"""``data.name: table``: a few rows written in the config itself (``data.x``: each row's
features, ``data.y``: its target), for toy problems such as the parabola lesson's one point.
The task is ``data.task`` or inferred from ``y`` as for a CSV's target column."""

from __future__ import annotations

import numpy as np

from nnlab.config import DataConfig
from nnlab.data._csv import encode_target
from nnlab.data._prepare import Raw
from nnlab.errors import DataError


def load(cfg: DataConfig, seed: int) -> Raw:
    """Called by ``load_dataset``; the same rows for every seed."""
    del seed
    if cfg.x is None or cfg.y is None:
        raise DataError("data.x and data.y: both are required for data.name table")
    widths = {len(row) for row in cfg.x}
    if len(widths) != 1:
        raise DataError(f"data.x: every row needs the same number of features, got "
                        f"{sorted(widths)}")  # fmt: skip
    if len(cfg.x) != len(cfg.y):
        raise DataError(f"data.y: one target per row of data.x: {len(cfg.y)} targets for "
                        f"{len(cfg.x)} rows")  # fmt: skip
    task, y, n_classes = encode_target([repr(float(v)) for v in cfg.y], cfg.task, "y")
    return Raw(
        name="table",
        task=task,
        x=np.asarray(cfg.x, dtype=np.float32),
        y=y,
        n_classes=n_classes,
        source="data.x and data.y of the config",
        feature_names=[f"x{i + 1}" for i in range(widths.pop())],
    )
