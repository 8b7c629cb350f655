"""nnlab: run Keras experiments that compare how training choices change learning.

``nnlab.load(path)`` reads an experiment (or run) folder as an :class:`Experiment`
(``docs/api.md``). Importing nnlab imports no deep-learning backend, and nothing heavy until
it is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nnlab.errors import ConfigError, DataError, NnlabError
from nnlab.version import __version__

if TYPE_CHECKING:
    from nnlab.experiment import Experiment



def load(path: Any) -> Experiment:
    """The experiment (or run) folder at ``path``, read as far as it got."""
    from nnlab.experiment import load as load_experiment

    return load_experiment(path)


def __getattr__(name: str) -> Any:
    if name == "Experiment":
        from nnlab.experiment import Experiment

        return Experiment
    raise AttributeError(f"module 'nnlab' has no attribute {name!r}")


__all__ = ["ConfigError", "DataError", "Experiment", "NnlabError", "__version__", "load"]
