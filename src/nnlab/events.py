"""What a command reports while it trains, as plain values: the launchers emit them per run,
``execute`` adds the sweep-level ones, and the display (or a notebook, or a test) consumes
them. Each event names its run by id, so events travel between processes cheaply."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StaleRunsRepaired:
    """Runs left ``running`` by a command that died were marked interrupted."""

    run_ids: tuple[str, ...]


@dataclass(frozen=True)
class SweepStarted:
    total: int  # runs in the config
    todo: int  # runs to train now (the rest finished before)


@dataclass(frozen=True)
class RunStarted:
    run_id: str
    epochs: int  # the epochs asked for (early stopping may end it sooner)


@dataclass(frozen=True)
class EpochEnded:
    run_id: str
    epoch: int  # 1-based: epochs done so far
    logs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunFinished:
    """A run was settled: its record says how (completed, diverged, failed, interrupted)."""

    run_id: str
    result: dict[str, Any]


@dataclass(frozen=True)
class Notice:
    """A line for the user about how runs train (a group that could not be fused, and why)."""

    text: str


@dataclass(frozen=True)
class SweepStopped:
    """Training is over (finished, interrupted or failed): displays close their bars."""


Event = (
    StaleRunsRepaired | SweepStarted | RunStarted | EpochEnded | RunFinished | Notice | SweepStopped
)
OnEvent = Callable[[Event], None]


def ignore(event: Event) -> None:
    """The listener of nobody: drops every event."""
