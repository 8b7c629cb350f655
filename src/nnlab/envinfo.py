"""What ``env.json`` records: versions, device, host and git commit, so a run can be traced."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import socket
import subprocess
import sys
from typing import Any

from nnlab.version import __version__


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def git_commit(cwd: str | None = None) -> str | None:
    """The commit of the git checkout around ``cwd`` (the user's project), or None."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


# where this process trains, as the launcher that started it says (``worker`` in env.json)
WORKER: dict[str, Any] = {"launcher": "local"}
# what the command that launched this process says of itself, when it runs elsewhere (a Ray
# actor: its own argv and working directory are Ray's); replaces the keys of the same name
DRIVER: dict[str, Any] = {}


def about_command() -> dict[str, Any]:
    """The command's argv and git commit, for a process that trains for it elsewhere."""
    return {"argv": sys.argv, "git_commit": git_commit()}


def collect(config: Any, device: dict[str, Any] | None = None) -> dict[str, Any]:
    """Called at the start of each run (after the backend is active)."""
    import keras

    backend = keras.backend.backend()
    if device is None:
        from nnlab.backend import activate

        device = activate(backend, config.device)
    return {
        "nnlab": __version__,
        "keras": keras.__version__,
        "backend": backend,
        "backend_version": _version(backend),
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "platform": platform.platform(),
        "device": device,
        "cpu_count": os.cpu_count(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "argv": sys.argv,
        "git_commit": git_commit(),
        "worker": dict(WORKER),
    } | DRIVER
