"""The trajectory of a model made of a few single numbers (the parabola lesson's one weight):
each number's value against epoch, from ``weights.csv``, beside the loss.

``train.capture: [weights]`` records the mean, std and norm of every tensor after each epoch;
for a tensor that holds one number the mean is the number, its std is 0 and its norm its
absolute value, so the file already holds the trajectory. Pure pandas: drawn by
:func:`nnlab.plots.draw_dynamics.draw_parameters`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# more single numbers than this and a weight plot per layer (weights.png) reads better
MAX_PARAMETERS = 4


@dataclass(frozen=True)
class Trajectory:
    """One number of the model (``output/kernel``) after each epoch (0: untrained)."""

    name: str
    epochs: np.ndarray
    values: np.ndarray


def trajectories(stats: pd.DataFrame) -> list[Trajectory]:
    """Each tensor's value against epoch when every tensor of ``stats`` (the rows of a
    ``weights.csv``) holds one number and there are at most ``MAX_PARAMETERS``; else none.

    A tensor holds one number when at every epoch its std is 0 and its norm equals the
    absolute value of its mean (a non-finite epoch, after divergence, does not decide)."""
    out = []
    for (layer, tensor), rows in stats.groupby(["layer", "tensor"], sort=False):
        wide = rows.pivot_table(index="epoch", columns="stat", values="value", aggfunc="last")
        if not {"mean", "std", "norm"} <= set(wide.columns):
            return []
        finite = np.isfinite(wide[["mean", "std", "norm"]]).all(axis=1)
        ok = wide[finite]
        scalar = (ok["std"] == 0) & np.isclose(ok["norm"], ok["mean"].abs(), rtol=1e-5, atol=0)
        if not scalar.all():
            return []
        out.append(Trajectory(f"{layer}/{tensor}", wide.index.to_numpy(), wide["mean"].to_numpy()))
    return out if 0 < len(out) <= MAX_PARAMETERS else []
