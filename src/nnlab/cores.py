"""The CPU cores this process may use: read by both wings (the fused trainer's host devices,
the plot workers), so it sits below them and imports nothing of nnlab."""

from __future__ import annotations

import os


def available_cores() -> int:
    """The CPU cores this process may run on (its affinity where the system tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1
