"""The errors nnlab raises on purpose; the CLI turns each into a message and an exit status."""

from __future__ import annotations


class NnlabError(Exception):
    """Base class. ``problems`` holds one line per problem, each naming the key or file."""

    exit_code = 2

    def __init__(self, *problems: str) -> None:
        self.problems = [p for p in problems if p] or ["unknown error"]
        super().__init__("\n".join(self.problems))


class ConfigError(NnlabError):
    """The config or the command line is wrong; nothing was trained."""


class DataError(NnlabError):
    """A dataset could not be found, downloaded or read."""


class BackendError(NnlabError):
    """The requested backend or device is not available."""


class LockError(NnlabError):
    """Another nnlab command is working on the same experiment directory."""
