"""The version of nnlab (what `nnlab --version`, env.json and the report say)."""

__version__ = "0.9.0"
