"""The inline launcher: every unit in this process, one after another."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nnlab.events import Event, OnEvent, RunFinished
from nnlab.launchers._base import Launcher, RunEnd, Unit, train_unit


class InlineLauncher(Launcher):
    """Trains in the calling process, whose backend is already active."""

    def __init__(self, run_end: RunEnd | None = None) -> None:
        self.run_end = run_end

    def launch(
        self, units: Sequence[Unit], exp_dir: Path, on_event: OnEvent
    ) -> dict[str, dict[str, Any]]:
        results: dict[str, dict[str, Any]] = {}

        def emit(event: Event) -> None:
            if isinstance(event, RunFinished):
                results[event.run_id] = event.result
            on_event(event)

        for unit in units:
            train_unit(unit, exp_dir, emit, self.run_end)
        return results
