"""Small builders shared by the tests that train."""

from __future__ import annotations

import copy
import os
import signal
from pathlib import Path
from typing import Any

import pandas as pd

from nnlab.config import validate
from nnlab.expansion import RunSpec, expand

# a history.csv as a run writes it: a header and four complete epochs
HEADER = "epoch,loss,accuracy,val_loss,val_accuracy,learning_rate,epoch_seconds\n"
ROWS = [
    "0,0.70,0.50,0.71,0.48,0.01,0.0\n",
    "1,0.50,0.70,0.55,0.66,0.01,0.1\n",
    "2,0.40,0.80,0.45,0.74,0.01,0.1\n",
    "3,0.30,0.85,0.47,0.72,0.01,0.1\n",
]

# a tiny, fast circles experiment; tests override what they study
TINY: dict[str, Any] = {
    "name": "tiny",
    "data": {"name": "circles", "n_samples": 200, "noise": 0.1},
    "model": {"hidden": [8]},
    "train": {"epochs": 3, "batch_size": 32, "learning_rate": 0.01},
}

# a user's callback file: ``StopAt(epoch)`` stops training after that many epochs
STOP_AT = """
import keras

class StopAt(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 >= self.epoch:
            self.model.stop_training = True
"""


def merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        elif value is None:
            out.pop(key, None)  # None removes the key (back to the default)
        else:
            out[key] = value
    return out


def spec(**changes: Any) -> RunSpec:
    """The single run of TINY with ``changes`` merged in (section mappings merge)."""
    return expand(validate(merge(TINY, changes)))[0]


def linear_csv(folder: Path) -> Path:
    """``linear.csv``: 300 rows of y = x @ [1, -2, 0.5] + noise (columns a, b, c, y), a
    regression on which plain SGD at a rate of 5 diverges within a few epochs."""
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    y = x @ [1.0, -2.0, 0.5] + rng.normal(scale=0.1, size=300)
    csv = folder / "linear.csv"
    pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": y}).to_csv(csv, index=False)
    return csv


def long_table(path: Path) -> pd.Series:
    """A weights.csv or gradients.csv as values indexed by (epoch, layer, tensor, stat)."""
    return pd.read_csv(path).set_index(["epoch", "layer", "tensor", "stat"])["value"]


def interrupt_self() -> None:
    """A child process's target: send itself SIGINT (exit code 1 unless it ignores it)."""
    os.kill(os.getpid(), signal.SIGINT)


def boundary_gap(run_dir: Path) -> float:
    """How far the run's saved model.keras predicts from the predictions its boundary.csv
    recorded on the lattice (written with 4 significant digits): the saved weights are the
    weights the run ended with, on fit or in a fused group."""
    import numpy as np
    import yaml

    import nnlab
    from nnlab.config import DataConfig
    from nnlab.data import load_dataset

    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    data = load_dataset(DataConfig.model_validate(config["data"]), config["seed"])
    grid = pd.read_csv(run_dir / "boundary.csv").query("kind == 'grid'")
    x = grid[["x1", "x2"]].to_numpy(np.float32)
    pred = nnlab.load_model(run_dir).predict(data.transform(x), verbose=0)[:, 0]
    return float(np.max(np.abs(pred - grid["value"].to_numpy()) / np.maximum(1e-3, np.abs(pred))))
