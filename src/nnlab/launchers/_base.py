"""The launcher interface: how the units of an experiment get trained.

``execute`` decides what to train (the policy); a launcher decides where and how (this
process, worker processes, a cluster). A unit is one run, or a group of runs trained together
(fused sweeps); every launcher takes both. Launchers report through events, one stream per
run, and return the result of every run they settled.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnlab import stopping
from nnlab.events import EpochEnded, Notice, OnEvent, RunFinished, RunStarted
from nnlab.expansion import RunSpec

# called in the process that trained a run, after its record is written (the caller's hook:
# the CLI draws the run's plots); it must be a module-level function, so workers can get it
RunEnd = Callable[[Path, dict[str, Any]], None]


@dataclass(frozen=True)
class Unit:
    """One piece of work for a launcher: runs trained together, in this order."""

    specs: tuple[RunSpec, ...]
    fused: bool = False  # trained as one compiled program (``nnlab.fused``)

    @property
    def run_ids(self) -> list[str]:
        return [s.run_id for s in self.specs]


def units_of(specs: Sequence[RunSpec]) -> list[Unit]:
    """One unit per run: how runs are launched until fused groups exist."""
    return [Unit((spec,)) for spec in specs]


class Launcher(ABC):
    """Trains units of work; see the module docstring."""

    @abstractmethod
    def launch(
        self, units: Sequence[Unit], exp_dir: Path, on_event: OnEvent
    ) -> dict[str, dict[str, Any]]:
        """Train every run of ``units`` into ``exp_dir / run_id``.

        Emits, for each run, :class:`RunStarted`, an :class:`EpochEnded` per epoch, and one
        :class:`RunFinished` with its result, also for a run whose worker died. Returns the
        results by run id. On a stop request (Ctrl-C) it settles what is running, then raises
        KeyboardInterrupt; when a run's folder cannot be written (a full disk), it stops the
        rest the same way and raises that OSError.
        """


def epoch_report(emit: OnEvent, run_id: str) -> Callable[[int, dict[str, Any]], None]:
    """What a run calls after each epoch: raise a pending stop request from this safe place
    (``stopping``), then emit the epoch's event."""

    def report(epoch: int, logs: dict[str, Any]) -> None:
        stopping.check()
        emit(EpochEnded(run_id, epoch, logs))

    return report


def train_unit(unit: Unit, exp_dir: Path, emit: OnEvent, run_end: RunEnd | None) -> None:
    """Train the runs of ``unit`` one after another in this process, emitting their events:
    the work that every launcher's worker does. The backend must be active already."""
    from nnlab import train  # imports Keras

    if unit.fused:
        from nnlab.fused.trainer import train_group

        stopping.check()
        reason = train_group(unit.specs, exp_dir, emit, run_end, lambda r: epoch_report(emit, r))
        if reason is None:
            return
        emit(Notice(f"not fused ({len(unit.specs)} runs): {reason}; trained one by one"))
    for spec in unit.specs:
        stopping.check()
        emit(RunStarted(spec.run_id, spec.config.train.epochs))
        run_dir = exp_dir / spec.run_id
        result = train.run(spec, run_dir, epoch_report(emit, spec.run_id))
        if run_end is not None:
            run_end(run_dir, result)
        emit(RunFinished(spec.run_id, result))
