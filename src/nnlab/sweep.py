"""Config -> the list of runs it describes. Pure: imports no backend, trains nothing.

The ``sweep:`` block arrives checked and typed (``config_sweep.SweepConfig``: mode, params,
samples, variants). Every point is crossed with ``repeats`` seeds (seed + k) and validated
exactly like a base config before anything runs.

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

from nnlab.config import ExperimentConfig, validate
from nnlab.config_document import set_dotted
from nnlab.config_sweep import VARIANT, SweepConfig
from nnlab.errors import ConfigError


@dataclass(frozen=True)
class RunSpec:
    run_id: str
    config: ExperimentConfig  # resolved: seed set for this repeat, sweep removed
    seed: int
    repeat: int = 0
    values: dict[str, Any] = field(default_factory=dict)  # axis -> value (variant: its label)


# ---------------------------------------------------------------------------------------------
# points


def points(plan: SweepConfig, seed: int) -> list[dict[str, Any]]:
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


# Run ids are how a resumed sweep finds its finished runs, so what the hash covers is a contract
# (docs: "Run ids"; pinned by tests/test_run_ids.py). Keys are dotted paths into the run config.

# keys that label the experiment: renaming or describing it must not orphan its finished runs
LABEL_KEYS = frozenset({"name", "description"})
# how or where a run executes, or what it records besides its history: never hashed. The
# entries that are not config keys yet are reserved for when they become ones.
EXECUTION_KEYS = frozenset({
    "device", "launcher", "workers", "fused",
    "train.tensorboard", "train.save_model", "train.checkpoint_every",
})  # fmt: skip
# keys added after run ids were first handed out, with their default (as run_dict writes it,
# JSON values): a run config holding the default hashes as if the key did not exist, so
# existing run ids stay; any other value changes the id. Register every new key that changes
# the training here.
HASH_OMITTED_AT_DEFAULT: dict[str, Any] = {}


def config_hash(run_config: dict[str, Any]) -> str:
    """Six hex digits of the SHA-256 of the resolved run config (keys sorted, JSON).

    Covered: what changes the training: ``data`` (dataset, its parameters and the split),
    ``model``, ``train`` (numbers, optimizer, loss, metrics, early stopping, schedule,
    capture), ``backend`` and ``seed``; and, for a custom model, the SHA-256 of the builder
    file's contents, so editing it gives new runs.

    Not covered: ``LABEL_KEYS`` (name, description), ``EXECUTION_KEYS`` (device, and the
    launcher, workers, fused, TensorBoard, saved-model and checkpoint keys), and each key of
    ``HASH_OMITTED_AT_DEFAULT`` while it holds its default. ``repeats`` is not in a run
    config (each repeat has its own seed).
    """
    kept = run_config
    for path in (*LABEL_KEYS, *EXECUTION_KEYS):
        kept = _without(kept, path)
    for path, default in HASH_OMITTED_AT_DEFAULT.items():
        kept = _without(kept, path, only_if=default)
    kept = dict(kept)
    builder = (run_config.get("model") or {}).get("builder")
    if builder:
        file = Path(builder.rpartition(":")[0])
        kept["builder_sha256"] = (
            hashlib.sha256(file.read_bytes()).hexdigest() if file.is_file() else None
        )
    return hashlib.sha256(_json(kept).encode()).hexdigest()[:6]


_ANY = object()


def _without(doc: dict[str, Any], path: str, only_if: Any = _ANY) -> dict[str, Any]:
    """``doc`` without the dotted ``path`` (only while it holds the JSON value ``only_if``,
    when given); ``doc`` itself is left as it is."""
    head, _, rest = path.partition(".")
    if head not in doc:
        return doc
    if rest:
        child = doc[head]
        new = _without(child, rest, only_if) if isinstance(child, dict) else child
        return doc if new is child else {**doc, head: new}
    if only_if is not _ANY and _json(doc[head]) != _json(only_if):
        return doc
    return {k: v for k, v in doc.items() if k != head}


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


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
    plan = config.sweep or SweepConfig()
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
