"""The user's own code that a config names: a model builder (``model.builder``) and callbacks
(``train.callbacks``). A reference is ``"path/to/file.py:Name"`` (a file, relative to the
config) or ``"package.module:Name"`` (an importable module). Every problem is a
``ConfigError`` naming the config key. Imports nothing heavy.

On a cluster the worker may not have the files: the driver reads their sources
(:func:`sources`) and the worker imports those (:func:`supply`), so a run trains the code its
run id hashed.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import inspect
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from nnlab.errors import ConfigError

SUPPLIED: dict[str, str] = {}  # file -> its source, handed over by a cluster's driver
# callback objects given to ``nnlab.run(callbacks=...)``: they join every run this process
# trains while the call lasts (never hashed; the caller answers for them)
OBJECTS: list[Any] = []


def is_file(ref: str) -> bool:
    """Whether ``ref`` names a file (``x.py:Name``) rather than a module (``pkg.mod:Name``)."""
    target = ref.rpartition(":")[0]
    return target.endswith(".py") or "/" in target or "\\" in target


def file_of(ref: str) -> Path | None:
    return Path(ref.rpartition(":")[0]) if is_file(ref) else None


def sources(refs: list[str]) -> dict[str, str]:
    """The source of each file that ``refs`` name, for a machine without the files."""
    out = {}
    for ref in refs:
        if is_file(ref):
            file = ref.rpartition(":")[0]
            with contextlib.suppress(OSError):
                out[file] = Path(file).read_text(encoding="utf-8")
    return out


def supply(files: dict[str, str]) -> None:
    """Import these sources for their files (:func:`sources` of the driver)."""
    SUPPLIED.update(files)


def file_sha256(ref: str) -> str | None:
    """The SHA-256 of the file ``ref`` names (what a run id hashes), None for a module."""
    file = file_of(ref)
    return hashlib.sha256(file.read_bytes()).hexdigest() if file and file.is_file() else None


def import_file(file: str, key: str) -> ModuleType:
    """Import ``file`` once per process (or its supplied source)."""
    path = Path(file)
    source = SUPPLIED.get(file)
    if source is None and not path.is_file():
        raise ConfigError(f"{key}: file not found: {path}")
    module_name = "nnlab_user_" + hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]
    module = sys.modules.get(module_name)
    if module is not None:
        return module
    loader_spec = importlib.util.spec_from_file_location(module_name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise ConfigError(f"{key}: cannot import {path}")
    module = importlib.util.module_from_spec(loader_spec)
    try:
        if source is None:
            loader_spec.loader.exec_module(module)
        else:  # the driver's copy of the file: the same code its run ids hash
            exec(compile(source, str(path), "exec"), module.__dict__)
    except SyntaxError as e:
        raise ConfigError(f"{key}: {path} has a syntax error at line {e.lineno}: {e.msg}") from None
    except Exception as e:
        raise ConfigError(f"{key}: importing {path} raised {type(e).__name__}: {e}") from None
    sys.modules[module_name] = module
    return module


def load(ref: str, key: str, kind: str = "function") -> Any:
    """The object ``ref`` names; ``kind`` (function or class) says what it must be."""
    target, _, name = ref.rpartition(":")
    if not target or not name:
        raise ConfigError(f"{key}: {ref!r} is not FILE.py:NAME or package.module:NAME")
    if is_file(ref):
        module, where = import_file(target, key), Path(target)
    else:
        try:
            module = importlib.import_module(target)
        except Exception as e:
            raise ConfigError(f"{key}: cannot import module {target!r}: "
                              f"{type(e).__name__}: {e}") from None  # fmt: skip
        where = target
    obj = getattr(module, name, None)
    test = inspect.isclass if kind == "class" else callable
    if obj is None or not test(obj):
        pick = inspect.isclass if kind == "class" else inspect.isfunction
        found = sorted(n for n, v in vars(module).items() if pick(v) and not n.startswith("_"))
        plural = "classes" if kind == "class" else "functions"
        raise ConfigError(
            f"{key}: {where} has no {kind} {name!r}; {plural} there: {', '.join(found) or 'none'}"
        )
    return obj
