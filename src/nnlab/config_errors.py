"""Pydantic's validation errors -> the config's ``dotted.key: message`` lines.

``format_errors`` is what ``config.validate`` raises as one ``ConfigError``: one line per
problem, naming the key as the user wrote it (``train.learning_rate: must be > 0, got -0.1``),
with the valid names or keys where the user typed an unknown one. Imports no backend.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Any, get_args

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from nnlab import names

# the error type of ``keyed_lines``: lines that already name their whole dotted key
KEYED_LINES = "nnlab_keyed_lines"

_MISMATCH = re.compile(r"^must be (.*), got (.*)$", flags=re.S)


def keyed_lines(lines: Sequence[str]) -> PydanticCustomError:
    """An error for a validator whose problems name keys that a user may spell any way (sweep
    paths, variant labels): ``format_errors`` passes its lines on exactly as they are."""
    return PydanticCustomError(KEYED_LINES, "{text}", {"text": "\n".join(lines)})


def format_errors(
    error: ValidationError, root: type[BaseModel], at: tuple[str, ...] = ()
) -> list[str]:
    """Turn pydantic errors into ``dotted.key: message`` lines, one per problem.

    ``root`` is the model that was validated, found at the key ``at`` of the config (``()``
    for the whole config). A model validator reports problems of its sub-keys as
    ``"sub.key: message"`` lines joined by newlines; they are prefixed with the validator's own
    location. A value that fails every branch of a union (``batch_size: 0`` is neither > 0 nor
    'full') gives one line: the specific complaint when a branch had one, else the branches'
    types joined by "or".
    """
    found: dict[str, list[tuple[bool, str]]] = {}
    for err in error.errors():
        if err["type"] == KEYED_LINES:
            found.setdefault("", []).extend((False, m) for m in err["ctx"]["text"].split("\n"))
            continue
        loc, section = _walk(err["loc"], root, extra=err["type"] == "extra_forbidden")
        key = ".".join(str(part) for part in (*at, *loc))
        mismatch = err["type"].endswith(("_type", "_parsing", "literal_error", "from_float"))
        if err["type"] == "extra_forbidden":
            text = _unknown_key(str(loc[-1]), section)
        else:
            text = _message(err)
        for message in text.split("\n"):
            sub = re.match(r"^([a-z_][\w.]*): (.*)$", message, flags=re.S)
            full = (f"{key}.{sub[1]}" if key else sub[1]) if sub else key
            found.setdefault(full, []).append((mismatch, sub[2] if sub else message))
    lines = []
    for key, entries in found.items():
        deeper = any(k.startswith(f"{key}.") for k in found)
        specific = [m for mismatch, m in entries if not mismatch]
        if specific:
            messages = list(dict.fromkeys(specific))
        elif deeper:
            continue  # a mapping was given and its own keys were wrong: those lines say it
        elif len(entries) > 1:
            parts = [_MISMATCH.match(m) for _, m in entries]
            if all(parts):
                wanted = " or ".join(dict.fromkeys(p[1] for p in parts if p))
                messages = [f"must be {wanted}, got {parts[0][2]}"]  # type: ignore[index]
            else:
                messages = [entries[0][1]]
        else:
            messages = [entries[0][1]]
        lines.extend(f"{key}: {m}" if key else m for m in messages)
    return lines


def _walk(
    loc: tuple[Any, ...], root: type[BaseModel], extra: bool
) -> tuple[tuple[Any, ...], type[BaseModel]]:
    """Map a pydantic error location onto the config's dotted keys.

    Pydantic adds the name of the union branch it tried (``str``, ``InitializerSpec``,
    ``plateau``, ``literal['full']``...) to the location. Walking the schema tells a real key
    from a branch name, whatever the user typed. Returns the keys and the section (model)
    that holds the last one, for the suggestions of an unknown key.
    """
    models: list[type[BaseModel]] = [root]
    section: type[BaseModel] = root
    out: list[Any] = []
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out.append(part)
            continue
        holder = next((m for m in models if part in m.model_fields), None)
        if holder is not None:
            out.append(part)
            section = holder
            models = _models_of(holder.model_fields[part].annotation)
        elif extra and i == len(loc) - 1:
            out.append(part)
            section = models[0] if models else section
        else:
            branch = [m for m in models if part in (m.__name__, _tag(m))]
            models = branch or models  # a plain branch ('str', 'literal[...]') changes nothing
    return tuple(out), section


def _models_of(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_of(arg)]


def _tag(model: type[BaseModel]) -> str | None:
    """The ``kind`` a member of a tagged union answers to (``plateau`` for PlateauSchedule)."""
    field = model.model_fields.get("kind")
    tags = get_args(field.annotation) if field is not None else ()
    return tags[0] if len(tags) == 1 else None


def _message(err: Any) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    got = err.get("input")
    if kind == "missing":
        return "required"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        op = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<",
              "less_than_equal": "<="}[kind]  # fmt: skip
        bound = ctx.get("gt", ctx.get("ge", ctx.get("lt", ctx.get("le"))))
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)
        return f"must be {op} {bound}, got {got!r}"
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        if isinstance(got, str) and len(choices) > 1:
            return names.unknown_name("value", got, choices)
        return f"must be {' or '.join(repr(c) for c in choices)}, got {got!r}"
    if kind == "union_tag_invalid":
        return f"kind must be one of {ctx.get('expected_tags')}, got {ctx.get('tag')!r}"
    if kind == "union_tag_not_found":
        return f"needs a 'kind' ({', '.join(names.SCHEDULES)})"
    if kind == "string_pattern_mismatch":
        return f"must contain only letters, digits, '.', '_' and '-', got {got!r}"
    if kind == "string_too_long":
        return (f"must be at most {ctx.get('max_length')} characters (it names a folder), "
                f"got {len(got) if isinstance(got, str) else got!r}")  # fmt: skip
    if kind == "finite_number":
        return f"must be a finite number, got {got!r}"
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", err["msg"])).removeprefix("Value error, ")
    expected = {
        "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
        "float_type": "a number", "float_parsing": "a number", "bool_type": "true or false",
        "bool_parsing": "true or false", "string_type": "a string", "list_type": "a list",
        "dict_type": "a mapping", "model_type": "a mapping", "model_attributes_type": "a mapping",
    }.get(kind)  # fmt: skip
    if expected:
        return f"must be {expected}, got {got!r}"
    return f"{err['msg']}, got {got!r}"


def _unknown_key(key: str, section: type[BaseModel]) -> str:
    known = list(section.model_fields)
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.7)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown key{hint}; valid: {', '.join(known)}"
