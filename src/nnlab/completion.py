"""Shell completion for ``nnlab`` (``nnlab --install-completion``): Typer calls these with the
word being completed and offers what they return.

- the config argument: YAML files and folders (a folder that is the only match is opened);
- ``--set KEY=VALUE``: every dotted key of the config (``train.lea`` -> ``train.learning_rate=``),
  then the values a key takes when they are names (``data.name=ci`` -> ``data.name=circles``);
- ``nnlab sweep -p KEY=V1,V2``: the keys a sweep may set, and names after each comma.

The keys and values come from the config's models through ``nnlab.schema``, never a list kept
here. A completion is a fresh ``nnlab`` process per Tab, so nothing here imports a backend,
and the models (pydantic) are imported only when a key is completed: importing this module,
as ``nnlab.cli`` does, costs nothing.

Bash splits words at ``=``, so there a value after ``KEY=`` is completed only when ``=`` is
taken out of ``COMP_WORDBREAKS``; zsh, fish and PowerShell complete it as they are.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

YAML_SUFFIXES = (".yaml", ".yml")
# the sections themselves: a key inside them is what --set is for
_SECTIONS = ("data", "model", "train", "sweep")


def config_files(incomplete: str) -> list[str]:
    """The YAML files and folders whose path starts with ``incomplete``; while the only match
    is a folder, its own YAML files and folders instead (so Tab walks into ``configs/``)."""
    found = _entries(incomplete)
    while len(found) == 1 and found[0].endswith("/"):
        inner = _entries(found[0])
        if not inner:
            break
        found = inner
    return found


def _entries(prefix: str) -> list[str]:
    head, tail = os.path.split(prefix)
    typed = prefix[: len(prefix) - len(tail)]  # the folder as typed (~ and all), kept
    try:
        entries = sorted(Path(os.path.expanduser(head or ".")).iterdir())
    except OSError:
        return []
    out = []
    for entry in entries:
        name = entry.name
        if not name.startswith(tail) or (name.startswith(".") and not tail.startswith(".")):
            continue
        if entry.is_dir() and name != "__pycache__":
            out.append(f"{typed}{name}/")
        elif entry.suffix in YAML_SUFFIXES and entry.is_file():
            out.append(f"{typed}{name}")
    return out


def set_assignments(incomplete: str) -> list[tuple[str, str]]:
    """``--set``: ``KEY=`` for every dotted key starting with ``incomplete``; after the
    ``=``, ``KEY=VALUE`` for the key's named values (with each item's help)."""
    from nnlab import schema

    keys = [k for k in schema.dotted_fields() if k not in _SECTIONS]
    return _assignments(incomplete, keys, several=False)


def sweep_axes(incomplete: str) -> list[tuple[str, str]]:
    """``nnlab sweep -p``: the dotted keys a sweep may set; after the ``=``, named values,
    each after the last comma (``model.activation=relu,ta`` -> ``...=relu,tanh``)."""
    from nnlab import schema

    return _assignments(incomplete, list(schema.dotted_fields(sweepable=True)), several=True)


def _assignments(incomplete: str, keys: list[str], several: bool) -> list[tuple[str, str]]:
    key, sep, value = incomplete.partition("=")
    if not sep:
        return [(f"{k}=", _help(k)) for k in keys if k.startswith(incomplete)]
    if key not in keys:
        return []
    done, _, last = value.rpartition(",") if several else ("", "", value)
    done = f"{done}," if done else ""
    return [(f"{key}={done}{v}", _help(key)) for v in values(key) if v.startswith(last)]


def values(key: str) -> list[str]:
    """The values of a dotted key that are names (enums, constants, true and false), as they
    are written on a command line; [] for a key that takes numbers or free text."""
    from nnlab import names, schema

    found: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        words = [*node.get("enum", []), *([node["const"]] if "const" in node else [])]
        if node.get("type") == "boolean":
            words += [True, False]
        found.extend(str(w).lower() if isinstance(w, bool) else str(w) for w in words)
        for branch in node.get("anyOf", []) + node.get("oneOf", []):
            walk(branch)

    for node in schema.field_schemas(key):
        walk(node)
    # Keras class names (Adam, GlorotUniform) are read as the config names: offer those only
    return [w for w in dict.fromkeys(found)
            if w == w.lower() or not {w.lower(), names.snake_case(w)} & set(found)]  # fmt: skip


def _help(key: str) -> str:
    from nnlab import schema

    return next((s["description"] for s in schema.field_schemas(key) if "description" in s), "")
