"""How a command stops cleanly: Ctrl-C in the main process, SIGTERM in a worker.

Ctrl-C (SIGTERM in a worker) raises KeyboardInterrupt where Python happens to be, and Python
discards it when that is a finalizer or weakref callback. A flag survives that: the epoch hook
and the scheduling loops call :func:`check`, which raises again from a safe place.
Used by ``execute`` (the main process) and by the launchers (their workers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class _State:
    requested: bool = False


state = _State()  # one per process: set by a stop request, cleared when a command starts


def request(signum: int, frame: Any) -> None:
    """A signal handler: remember the stop request and raise KeyboardInterrupt here."""
    state.requested = True
    raise KeyboardInterrupt


def check() -> None:
    """Raise KeyboardInterrupt if a stop was requested (it may have been swallowed)."""
    if state.requested:
        raise KeyboardInterrupt


def quiet_stops(previous: Any) -> Any:
    """A ``sys.unraisablehook`` for while runs train: a stop request that landed in a
    finalizer is not news (the flag raises it again), so Python's "Exception ignored in"
    report of it is not printed; anything else goes to ``previous``."""

    def hook(unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt) and state.requested:
            return
        previous(unraisable)

    return hook
