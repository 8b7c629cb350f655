"""The raw config document, before validation: the YAML file, ``--set`` overrides, the
``nnlab sweep -p`` axes, and relative paths made absolute.

What these functions return (a plain mapping) is what ``experiment.yaml`` records; the
schema in ``config`` validates it. Every problem is one ``ConfigError`` line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from nnlab.config_sweep import is_full_form, setting_maps
from nnlab.errors import ConfigError


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Parse a config file into a mapping; syntax errors name the file, line and column."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: config file not found")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{p}: cannot read the config file ({e})") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError(f"{p}: YAML syntax error at {where}{problem}") from None
    if doc is None:
        raise ConfigError(f"{p}: the config file is empty")
    if not isinstance(doc, dict):
        raise ConfigError(f"{p}: a config must be a mapping of keys, got a {type(doc).__name__}")
    return doc


def parse_assignment(text: str) -> tuple[str, Any]:
    """``"train.learning_rate=0.01"`` -> ``("train.learning_rate", 0.01)``; values parse as YAML."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE, e.g. train.learning_rate=0.01")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    return key, value


def set_dotted(doc: dict[str, Any], key: str, value: Any) -> None:
    """Set ``doc["train"]["learning_rate"]`` from ``"train.learning_rate"``, creating mappings."""
    parts = key.split(".")
    node = doc
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        elif isinstance(child, str) and i == len(parts) - 2:
            # train.optimizer=sgd then train.optimizer.momentum=0.9: widen the name to a mapping
            child = node[part] = {"name": child}
        elif not isinstance(child, dict):
            raise ConfigError(f"{'.'.join(parts[: i + 1])}: is a value, cannot set {key}")
        node = child
    node[parts[-1]] = value


def split_values(text: str) -> list[str]:
    """``"1,100,full"`` -> ``["1", "100", "full"]``; commas inside [] or {} do not split."""
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += ch in "[{"
        depth -= ch in "]}"
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    return [*parts, current]


def add_sweep_axes(doc: dict[str, Any], axes: list[str], mode: str | None) -> None:
    """Merge ``nnlab sweep -p KEY=V1,V2`` axes (and ``--mode``) into the doc's sweep block.

    Each value parses as YAML; a single ``{log_uniform: [lo, hi]}`` is a distribution for
    random mode. A command-line axis replaces the config's axis of the same path. A block
    whose ``params`` is not a mapping is left for the validation to report.
    """
    if not axes and mode is None:
        return
    block = doc.get("sweep") or {}
    if not isinstance(block, dict):
        raise ConfigError(f"sweep: must be a mapping, got {type(block).__name__}")
    block = dict(block) if is_full_form(block) else {"params": dict(block)} if block else {}
    if not isinstance(block.get("params") or {}, dict):
        return
    params = dict(block.get("params") or {})
    for item in axes:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip() or not raw.strip():
            raise ConfigError(f"-p {item!r}: expected KEY=V1,V2,..., e.g. train.batch_size=16,32")
        values = [parse_assignment(f"x={v.strip()}")[1] for v in split_values(raw)]
        params[key.strip()] = (
            values[0] if len(values) == 1 and isinstance(values[0], dict) else (values)
        )
    block["params"] = params
    if mode is not None:
        block["mode"] = mode
    doc["sweep"] = block


def absolutise_paths(doc: dict[str, Any], base: Path) -> None:
    """Relative data and builder paths are relative to the config file's folder, in the base
    config and in the sweep block (a variant or an axis may name a file too)."""
    data, model = doc.get("data"), doc.get("model")
    if isinstance(data, dict) and isinstance(data.get("path"), str):
        data["path"] = _resolve(data["path"], base)
    if isinstance(model, dict) and isinstance(model.get("builder"), str):
        model["builder"] = _resolve_builder(model["builder"], base)
    train = doc.get("train")
    if isinstance(train, dict) and isinstance(train.get("callbacks"), list):
        train["callbacks"] = [_resolve_callback(c, base) for c in train["callbacks"]]
    for block in setting_maps(doc.get("sweep")):
        for key, fix in (("data.path", _resolve), ("model.builder", _resolve_builder)):
            value = block.get(key)
            if isinstance(value, str):
                block[key] = fix(value, base)
            elif isinstance(value, list):
                block[key] = [fix(v, base) if isinstance(v, str) else v for v in value]


def _resolve_builder(spec: str, base: Path) -> str:
    if ":" not in spec:
        return spec
    file, _, func = spec.rpartition(":")
    return f"{_resolve(file, base)}:{func}"


def _resolve_callback(entry: Any, base: Path) -> Any:
    """A callback naming a file (``x.py:Class``) gets the file's absolute path."""
    from nnlab.user_code import is_file

    if isinstance(entry, str) and ":" in entry and is_file(entry):
        return _resolve_builder(entry, base)
    if isinstance(entry, dict) and isinstance(entry.get("path"), str):
        return {**entry, "path": _resolve_callback(entry["path"], base)}
    return entry


def _resolve(path: str, base: Path) -> str:
    p = Path(path).expanduser()
    if p.is_absolute():
        return str(p)
    in_base = base / p
    return str(in_base if in_base.exists() or not p.exists() else p.resolve())
