"""Launchers: where and how the runs of an experiment train (see ``_base.Launcher``).

``inline`` trains in this process; ``pool`` in worker processes on this machine; ``ray`` on
the actors of a Ray cluster (Ray is imported only when it launches).
"""

from nnlab.launchers._base import Launcher, RunEnd, Unit, train_unit, units_of
from nnlab.launchers._inline import InlineLauncher
from nnlab.launchers._pool import PoolLauncher
from nnlab.launchers._ray import LaunchError, RayLauncher, require_ray

__all__ = [
    "InlineLauncher", "LaunchError", "Launcher", "PoolLauncher", "RayLauncher", "RunEnd",
    "Unit", "require_ray", "train_unit", "units_of",
]  # fmt: skip
