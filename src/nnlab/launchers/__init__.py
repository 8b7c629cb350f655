"""Launchers: where and how the runs of an experiment train (see ``_base.Launcher``).

``inline`` trains in this process; ``pool`` in worker processes on this machine.
"""

from nnlab.launchers._base import Launcher, RunEnd, Unit, train_unit, units_of
from nnlab.launchers._inline import InlineLauncher
from nnlab.launchers._pool import PoolLauncher

__all__ = ["InlineLauncher", "Launcher", "PoolLauncher", "RunEnd", "Unit", "train_unit", "units_of"]
