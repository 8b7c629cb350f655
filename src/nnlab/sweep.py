"""Config -> the list of runs it describes. Pure: imports no backend, trains nothing.

The ``sweep:`` block has a short form (dotted path -> list of values: a grid) and a full form
(``mode``, ``params``, ``samples``, ``variants``). Every point is crossed with ``repeats`` seeds
(seed + k) and validated exactly like a base config before anything runs.

Each ``RunSpec`` carries its fully resolved config (no sweep block, its own seed) and a run id:
the swept values in words plus the seed, then a short hash of the resolved config, e.g.
``batch_size=100_seed=0_3f9a1c``. The hash makes a changed config give new ids.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnlab.config import ExperimentConfig, set_dotted, validate
from nnlab.errors import ConfigError

MODES = ("grid", "zip", "random")
FULL_FORM_KEYS = ("mode", "params", "samples", "variants")
DISTRIBUTIONS = ("log_uniform", "uniform", "choice")
SWEEPABLE_SECTIONS = ("data", "model", "train")
VARIANT = "variant"  # the axis name of named variants (summary.csv column, plots)


@dataclass(frozen=True)
class RunSpec:
    run_id: str
    config: ExperimentConfig  # resolved: seed set for this repeat, sweep removed
    seed: int
    repeat: int = 0
    values: dict[str, Any] = field(default_factory=dict)  # axis -> value (variant: its label)


@dataclass(frozen=True)
class SweepPlan:
    """A parsed ``sweep:`` block."""

    mode: str = "grid"
    params: dict[str, Any] = field(default_factory=dict)  # path -> list, or distribution
    samples: int | None = None
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def axes(self) -> list[str]:
        return ([VARIANT] if self.variants else []) + list(self.params)


# ---------------------------------------------------------------------------------------------
# parsing


def parse_sweep(block: dict[str, Any] | None) -> SweepPlan:
    """Check the ``sweep:`` block's shape; every problem names its key under ``sweep``."""
    if not block:
        return SweepPlan()
    if not isinstance(block, dict):
        raise ConfigError(f"sweep: must be a mapping, got {type(block).__name__}")
    if any(k in block for k in FULL_FORM_KEYS):
        unknown = [k for k in block if k not in FULL_FORM_KEYS]
        if unknown:
            raise ConfigError(
                *(f"sweep.{k}: unknown key in the full form; valid: {', '.join(FULL_FORM_KEYS)}"
                  for k in unknown)
            )  # fmt: skip
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
        raise ConfigError(f"sweep.params: must be a mapping of dotted paths, got {params!r}")
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
    if problems:
        raise ConfigError(*problems)
    return SweepPlan(mode, dict(params), samples, {str(k): v for k, v in variants.items()})


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
        if kind == "log_uniform" and args[0] <= 0:
            return [f"sweep.params.{path}: log_uniform needs low > 0, got {args[0]!r}"]
        return []
    if not isinstance(values, list) or not values:
        hint = " or a distribution ({log_uniform: [lo, hi]})" if mode == "random" else ""
        return [f"sweep.{'params.' if mode != 'grid' else ''}{path}: must be a non-empty "
                f"list of values{hint}, got {values!r}"]  # fmt: skip
    return []


# ---------------------------------------------------------------------------------------------
# points


def points(plan: SweepPlan, seed: int) -> list[dict[str, Any]]:
    """The sweep's points in order: each maps axis -> value (``variant`` -> label)."""
    if plan.mode == "random":
        rng = random.Random(seed)
        drawn = [
            {path: _draw(spec, rng) for path, spec in plan.params.items()}
            for _ in range(plan.samples or 0)
        ]
    elif plan.mode == "zip":
        columns = list(plan.params.values())
        drawn = [dict(zip(plan.params, row, strict=True)) for row in zip(*columns, strict=True)]
    else:
        combos = itertools.product(*plan.params.values())
        drawn = [dict(zip(plan.params, combo, strict=True)) for combo in combos]
    if not plan.variants:
        return drawn or [{}]
    return [{VARIANT: label, **p} for label in plan.variants for p in (drawn or [{}])]


def _draw(spec: Any, rng: random.Random) -> Any:
    if not isinstance(spec, dict):
        return rng.choice(spec)  # a plain list in random mode: choose from it
    (kind, args), = spec.items()  # fmt: skip
    if kind == "choice":
        return rng.choice(args)
    if kind == "uniform":
        return _round(rng.uniform(args[0], args[1]))
    return _round(math.exp(rng.uniform(math.log(args[0]), math.log(args[1]))))


def _round(x: float) -> float:
    """Three significant digits: readable run ids, and the value used is the value shown."""
    return float(f"{x:.3g}")


# ---------------------------------------------------------------------------------------------
# runs


def config_hash(run_config: dict[str, Any]) -> str:
    """Six hex digits of the SHA-256 of the resolved run config (keys sorted).

    Leaves out the experiment's name, description and device, so renaming does not orphan
    finished runs; adds the custom builder file's contents, so editing it gives new runs.
    """
    kept = {k: v for k, v in run_config.items() if k not in _UNHASHED}
    builder = (run_config.get("model") or {}).get("builder")
    if builder:
        file = Path(builder.rpartition(":")[0])
        kept["builder_sha256"] = (
            hashlib.sha256(file.read_bytes()).hexdigest() if file.is_file() else None
        )
    text = json.dumps(kept, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:6]


# keys that label a run or say where it runs, not what it computes
_UNHASHED = ("name", "description", "device")


def _word(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return re.sub(r"[^A-Za-z0-9.+-]+", "-", text).strip("-")[:40] or "x"


def run_id(values: dict[str, Any], seed: int, run_config: dict[str, Any]) -> str:
    """``<last path part>=<value>_..._seed=<seed>_<hash>``; a variant shows its label alone."""
    parts = [
        _word(v) if path == VARIANT else f"{path.rsplit('.', 1)[-1]}={_word(v)}"
        for path, v in values.items()
        if path != "seed"
    ]
    parts.append(f"seed={seed}")
    return "_".join([*parts, config_hash(run_config)])


def expand(config: ExperimentConfig) -> list[RunSpec]:
    """Every run of the experiment: each sweep point times ``repeats`` seeds (seed + k).

    Raises ``ConfigError`` naming the sweep key and the point when a point is invalid.
    """
    plan = parse_sweep(config.sweep)
    # only what the user set: defaults that depend on the data (metrics) stay defaults
    base = config.model_dump(mode="json", exclude={"sweep"}, exclude_unset=True)
    base.pop("repeats", None)
    specs: list[RunSpec] = []
    seen: set[str] = set()
    problems: list[str] = []
    for point in points(plan, config.seed):
        doc = copy.deepcopy(base)
        if VARIANT in point:
            for path, value in plan.variants[point[VARIANT]].items():
                set_dotted(doc, path, copy.deepcopy(value))
        for path, value in point.items():
            if path != VARIANT:
                set_dotted(doc, path, copy.deepcopy(value))
        first = doc.get("seed", config.seed)
        for k in range(config.repeats):
            # repeat k uses seed + k (a swept seed is the base of its own repeats)
            doc_k = dict(doc, seed=first + k) if isinstance(first, int) and k else doc
            try:
                resolved = validate(doc_k)
            except ConfigError as e:
                where = _describe_point(point)
                problems += [f"{p} (sweep point {where})" if where else p for p in e.problems]
                break
            rid = run_id(point, resolved.seed, resolved.run_dict())
            if rid not in seen:
                seen.add(rid)
                specs.append(RunSpec(rid, resolved, resolved.seed, k, dict(point)))
    if problems:
        raise ConfigError(*dict.fromkeys(problems))
    return specs


def _describe_point(point: dict[str, Any]) -> str:
    return ", ".join(f"{path}={v}" for path, v in point.items())
