"""The ``sweep:`` block, typed once: ``SweepConfig`` (mode, params, samples, variants).

Two forms are accepted. The short form maps dotted paths (into ``data``, ``model``, ``train``,
or ``seed``) to lists of values: a grid, read as ``{params: <the block>}``. The full form is
recognised by any of the model's own keys. Every problem names its key under ``sweep``
(``sweep.params.train.learning_rate: log_uniform needs low > 0, got 0``). The values
themselves are validated later, point by point, like a base config (``sweep.expand``).
Imports no deep-learning backend.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.json_schema import GetJsonSchemaHandler, JsonSchemaValue
from pydantic_core import core_schema

from nnlab.config_errors import format_errors, keyed_lines
from nnlab.errors import ConfigError

Mode = Literal["grid", "zip", "random"]
Distribution = Literal["log_uniform", "uniform", "choice"]
MODES: tuple[str, ...] = get_args(Mode)
DISTRIBUTIONS: tuple[str, ...] = get_args(Distribution)
SWEEPABLE_SECTIONS = ("data", "model", "train")
VARIANT = "variant"  # the axis name of named variants (summary.csv column, plots)


class SweepConfig(BaseModel):
    """A checked ``sweep:`` block, in its full form (a short-form block is read into it)."""

    model_config = ConfigDict(extra="forbid")

    # grid: every combination, in the order written; zip: the lists walked together;
    # random: ``samples`` points drawn (seeded by the experiment's seed)
    mode: Mode = "grid"
    # dotted path -> list of values (grid, zip) or a distribution (random): {log_uniform:
    # [low, high]}, {uniform: [low, high]} or {choice: [values]}
    params: dict[str, list[Any] | dict[Distribution, list[Any]]] = Field(default_factory=dict)
    samples: Annotated[int, Field(ge=1)] | None = None  # random only: how many points
    # label -> {dotted path: value}: named alternatives, crossed with ``params``
    variants: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @property
    def axes(self) -> list[str]:
        """The sweep's axes in order: ``variant`` (when there are variants), then the paths."""
        return ([VARIANT] if self.variants else []) + list(self.params)

    @model_validator(mode="before")
    @classmethod
    def _read(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data  # pydantic says it: "sweep: must be a mapping, got ..."
        block, problems = _check(data)
        if problems:
            raise keyed_lines(problems)
        return block

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        full = handler(schema)
        short = {
            "type": "object",
            "description": "short form: dotted path -> list of values (a grid)",
            "additionalProperties": {"type": "array", "minItems": 1},
        }
        return {"anyOf": [full, short]}


def is_full_form(block: dict[str, Any]) -> bool:
    """Whether a raw block is in the full form: it has any of ``SweepConfig``'s keys."""
    return any(key in block for key in SweepConfig.model_fields)


def setting_maps(block: Any) -> list[dict[str, Any]]:
    """The mappings of a raw block that hold dotted paths (params or the short-form block, and
    each variant's settings), as the objects themselves, for edits in place."""
    if not isinstance(block, dict):
        return []
    if not is_full_form(block):
        return [block]
    variants = block.get("variants") or {}
    maps = [block.get("params") or {}, *(variants.values() if isinstance(variants, dict) else [])]
    return [m for m in maps if isinstance(m, dict)]


def parse_sweep(block: Any) -> SweepConfig:
    """A raw ``sweep:`` block (None: no sweep) -> ``SweepConfig``; problems raise
    ``ConfigError``, one line each."""
    try:
        return SweepConfig.model_validate({} if block is None else block)
    except ValidationError as e:
        raise ConfigError(*format_errors(e, SweepConfig, at=("sweep",))) from None


def _check(block: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A raw block -> (its full form, the problems with its shape, each naming its key)."""
    keys = list(SweepConfig.model_fields)
    if is_full_form(block):
        unknown = [k for k in block if k not in keys]
        if unknown:
            return {}, [f"sweep.{k}: unknown key in the full form; valid: {', '.join(keys)}"
                        for k in unknown]  # fmt: skip
        mode = block.get("mode", "grid")
        params = block.get("params") or {}
        samples = block.get("samples")
        variants = block.get("variants") or {}
    else:
        mode, params, samples, variants = "grid", block, None, {}
    problems: list[str] = []
    if mode not in MODES:
        problems.append(f"sweep.mode: must be one of {', '.join(MODES)}, got {mode!r}")
    if not isinstance(params, dict):
        return {}, [f"sweep.params: must be a mapping of dotted paths, got {params!r}"]
    for path, values in params.items():
        problems += _check_path(path, "sweep.params" if "params" in block else "sweep")
        problems += _check_values(path, values, mode)
    if mode == "random":
        if not isinstance(samples, int) or isinstance(samples, bool) or samples < 1:
            problems.append(f"sweep.samples: random mode needs a number of samples >= 1, "
                            f"got {samples!r}")  # fmt: skip
    elif samples is not None:
        problems.append(f"sweep.samples: only applies to mode random, not {mode}")
    if mode == "zip":
        lengths = {p: len(v) for p, v in params.items() if isinstance(v, list)}
        if len(set(lengths.values())) > 1:
            listed = ", ".join(f"{p} has {n}" for p, n in lengths.items())
            problems.append(f"sweep.params: zip needs lists of equal length; {listed}")
    if not isinstance(variants, dict):
        problems.append(f"sweep.variants: must map labels to settings, got {variants!r}")
        variants = {}
    for label, settings in variants.items():
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._+-]*", str(label)):
            problems.append(f"sweep.variants.{label}: a label may hold only letters, digits, "
                            "'.', '_', '+' and '-'")  # fmt: skip
        if not isinstance(settings, dict):
            problems.append(f"sweep.variants.{label}: must map dotted paths to values, "
                            f"got {settings!r}")  # fmt: skip
            continue
        for path in settings:
            problems += _check_path(path, f"sweep.variants.{label}")
    full = {"mode": mode, "params": params, "samples": samples,
            "variants": {str(k): v for k, v in variants.items()}}  # fmt: skip
    return full, problems


def _check_path(path: Any, where: str) -> list[str]:
    text = str(path)
    head = text.split(".", 1)[0]
    if text == "seed" or (head in SWEEPABLE_SECTIONS and "." in text):
        return []
    return [f"{where}.{text}: not a sweepable path; use data.<key>, model.<key>, "
            "train.<key> or seed"]  # fmt: skip


def _check_values(path: str, values: Any, mode: str) -> list[str]:
    if mode == "random" and isinstance(values, dict):
        if len(values) != 1 or next(iter(values)) not in DISTRIBUTIONS:
            return [f"sweep.params.{path}: a distribution is one of "
                    f"{', '.join(DISTRIBUTIONS)}, got {values!r}"]  # fmt: skip
        (kind, args), = values.items()  # fmt: skip
        if kind == "choice":
            ok = isinstance(args, list) and len(args) > 0
            return [] if ok else [f"sweep.params.{path}: choice needs a list of values"]
        ok = (isinstance(args, list) and len(args) == 2
              and all(isinstance(a, int | float) and not isinstance(a, bool) for a in args)
              and args[0] < args[1])  # fmt: skip
        if not ok:
            return [f"sweep.params.{path}: {kind} needs [low, high] with low < high, "
                    f"got {args!r}"]  # fmt: skip
        if not all(math.isfinite(a) for a in args):
            return [f"sweep.params.{path}: {kind} needs finite numbers, got {args!r}"]
        if kind == "log_uniform" and args[0] <= 0:
            return [f"sweep.params.{path}: log_uniform needs low > 0, got {args[0]!r}"]
        return []
    if not isinstance(values, list) or not values:
        hint = " or a distribution ({log_uniform: [lo, hi]})" if mode == "random" else ""
        return [f"sweep.{'params.' if mode != 'grid' else ''}{path}: must be a non-empty "
                f"list of values{hint}, got {values!r}"]  # fmt: skip
    return []
