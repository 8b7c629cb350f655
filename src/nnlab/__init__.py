"""nnlab: run Keras experiments that compare how training choices change learning."""

from __future__ import annotations

__version__ = "0.5.0"
