"""Config -> the list of runs it describes. Pure: imports no backend, trains nothing.

The ``sweep:`` block arrives checked and typed (``config_sweep.SweepConfig``: mode, params,
samples, variants). Every point is crossed with ``repeats`` seeds (seed + k) and validated
exactly like a base config before anything runs.

Each ``RunSpec`` carries its fully resolved config (no sweep block, its own seed) and a run id:
the swept values in words plus the seed, then a short hash of the resolved config, e.g.
``batch_size=100_seed=0_3f9a1c``. The hash makes a changed config give new ids; an id is at
most ``MAX_ID_LENGTH`` characters (long swept values are shortened, the seed and hash kept).

Sweeps of many thousand points: ``count_runs`` counts the runs from the axes alone, and
``expand`` refuses more than ``max_runs`` (``--max-runs``) before it expands anything. Then
the base config is validated once and each point validates only the sections it changes,
each distinct changed section once; a point whose config is invalid is validated again
whole, the way a base config is, so its messages are the same.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import itertools
import json
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from nnlab.config import DataConfig, ExperimentConfig, ModelConfig, TrainConfig, validate
from nnlab.config_document import set_dotted
from nnlab.config_sweep import VARIANT, SweepConfig
from nnlab.errors import ConfigError

# the default of ``--max-runs``: more runs than this are refused before the sweep is expanded
MAX_RUNS = 100_000
# a run id names a folder: file systems allow 255 bytes; this leaves room for the temporary
# and suffixed names written beside it
MAX_ID_LENGTH = 200


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


def count_points(plan: SweepConfig) -> int:
    """How many points ``points`` gives, counted from the axes without making them."""
    lengths = [len(v) for v in plan.params.values()]
    if plan.mode == "random":
        drawn = plan.samples or 0
    elif plan.mode == "zip":
        drawn = min(lengths, default=0)
    else:
        drawn = math.prod(lengths) if lengths else 0
    return (drawn or 1) * (len(plan.variants) or 1)


def count_runs(config: ExperimentConfig) -> int:
    """How many runs ``expand`` makes at most: the sweep's points times ``repeats`` (before
    points that resolve to the same run id are merged)."""
    return count_points(config.sweep or SweepConfig()) * config.repeats


def check_size(config: ExperimentConfig, max_runs: int | None = MAX_RUNS) -> None:
    """Raise ``ConfigError`` when the experiment has more than ``max_runs`` runs (None: any
    number), naming the count and where it comes from; expands nothing."""
    n = count_runs(config)
    if max_runs is None or n <= max_runs:
        return
    key = "sweep" if config.sweep else "repeats"
    raise ConfigError(
        f"{key}: {n:,} runs ({_size_words(config)}) is more than --max-runs {max_runs:,}; "
        f"sweep fewer values, or pass --max-runs {n} to run them all"
    )


def _size_words(config: ExperimentConfig) -> str:
    """``1000 x 1000 grid x 1 repeat``, ``3 variants x 20 random samples x 2 repeats``."""
    plan = config.sweep or SweepConfig()
    lengths = [len(v) for v in plan.params.values()]
    parts = [_plural(len(plan.variants), "variant")] if plan.variants else []
    if plan.mode == "random":
        parts.append(_plural(plan.samples or 0, "random sample"))
    elif plan.mode == "zip" and lengths:
        parts.append(f"zip of {min(lengths)}")
    elif len(lengths) == 1:
        parts.append(_plural(lengths[0], "value"))
    elif lengths:
        parts.append(" x ".join(map(str, lengths)) + " grid")
    return " x ".join([*parts, _plural(config.repeats, "repeat")])


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


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
    "train.tensorboard", "train.save_model",
})  # fmt: skip
# keys added after run ids were first handed out, with their default (as run_dict writes it,
# JSON values): a run config holding the default hashes as if the key did not exist, so
# existing run ids stay; any other value changes the id. Register every new key that changes
# the training here.
# (a checkpointed run draws its batch order from its seed and epoch, not Keras' shuffle:
# ``nnlab.checkpoint``)
HASH_OMITTED_AT_DEFAULT: dict[str, Any] = {"train.shuffle": True, "train.callbacks": [],
                                           "train.checkpoint_every": None,
                                           "data.split": "stratified",
                                           "train.evaluate_on": [],
                                           "model.penalize_output": True,
                                           "model.use_bias": True,
                                           "model.output_activation": "auto",
                                           "data.x": None, "data.y": None}  # fmt: skip


def config_hash(run_config: dict[str, Any]) -> str:
    """Six hex digits of the SHA-256 of the resolved run config (keys sorted, JSON).

    Covered: what changes the training: ``data`` (dataset, its parameters and the split),
    ``model``, ``train`` (numbers, optimizer, loss, metrics, early stopping, schedule,
    capture), ``backend`` and ``seed``; and, for a custom model, the SHA-256 of the builder
    file's contents, so editing it gives new runs.

    Not covered: ``LABEL_KEYS`` (name, description), ``EXECUTION_KEYS`` (device, and the
    launcher, workers, fused, TensorBoard and saved-model keys), and each key of
    ``HASH_OMITTED_AT_DEFAULT`` while it holds its default. ``repeats`` is not in a run
    config (each repeat has its own seed).
    """
    kept = dict(_stripped(run_config))
    builder = (run_config.get("model") or {}).get("builder")
    if builder:
        kept["builder_sha256"] = _builder_sha(builder)
    user = (run_config.get("train") or {}).get("callbacks")
    if user:
        kept["callbacks_sha256"] = _callback_shas(tuple(c["path"] for c in user))
    return hashlib.sha256(_json(kept).encode()).hexdigest()[:6]


def _stripped(run_config: dict[str, Any]) -> dict[str, Any]:
    """``run_config`` without what the hash leaves out (it is left as it is)."""
    kept = without_keys(run_config, (*LABEL_KEYS, *EXECUTION_KEYS))
    for path, default in HASH_OMITTED_AT_DEFAULT.items():
        kept = _without(kept, path, only_if=default)
    return kept


def _callback_shas(refs: tuple[str, ...]) -> list[str | None]:
    """The SHA-256 of each callback file (None for a module's class): editing it gives new
    runs, as for a builder."""
    from nnlab import user_code

    return [user_code.file_sha256(ref) for ref in refs]


def _builder_sha(builder: str) -> str | None:
    from nnlab import user_code

    return user_code.file_sha256(builder)


_ANY = object()


def without_keys(doc: dict[str, Any], paths: Any) -> dict[str, Any]:
    """``doc`` without each dotted path of ``paths``; ``doc`` itself is left as it is."""
    for path in paths:
        doc = _without(doc, path)
    return doc


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
    """``<last path part>=<value>_..._seed=<seed>_<hash>``; a variant shows its label alone.

    At most ``MAX_ID_LENGTH`` characters: when the swept values make it longer, the longest
    words are cut first (then, with very many axes, the words' text as a whole); the seed and
    the hash are always kept whole, and the hash keeps ids unique."""
    return _id_of(values, seed, config_hash(run_config))


def _id_of(
    values: dict[str, Any], seed: int, digest: str, word: Callable[[Any], str] = _word
) -> str:
    keys = [None if path == VARIANT else path.rsplit(".", 1)[-1]
            for path in values if path != "seed"]  # fmt: skip
    words = [word(v) for path, v in values.items() if path != "seed"]
    tail = f"seed={seed}_{digest}"
    head = _join(keys, words)
    if _size(head) + 1 + len(tail) > MAX_ID_LENGTH:
        head = _shorten(keys, words, MAX_ID_LENGTH - 1 - len(tail))
    return f"{head}_{tail}" if head else tail


def _join(keys: list[str | None], words: list[str]) -> str:
    return "_".join(w if k is None else f"{k}={w}" for k, w in zip(keys, words, strict=True))


def _size(text: str) -> int:
    return len(text.encode())  # a file name's limit is in bytes


def _shorten(keys: list[str | None], words: list[str], budget: int) -> str:
    """The values part cut to ``budget`` bytes: the longest words first, each kept to at
    least 4 characters; what is still too long is cut at the end."""
    for cap in range(max(map(len, words), default=0), 3, -1):
        text = _join(keys, [w[:cap] for w in words])
        if _size(text) <= budget:
            return text
    text = _join(keys, [w[:4] for w in words])
    return text.encode()[:budget].decode(errors="ignore").rstrip("_=")


def expand(config: ExperimentConfig, max_runs: int | None = MAX_RUNS) -> list[RunSpec]:
    """Every run of the experiment: each sweep point times ``repeats`` seeds (seed + k).

    Raises ``ConfigError`` naming the sweep key and the point when a point is invalid, and,
    before expanding anything, when there are more than ``max_runs`` runs (``check_size``).
    """
    check_size(config, max_runs)
    plan = config.sweep or SweepConfig()
    # only what the user set: defaults that depend on the data (metrics) stay defaults
    base = config.model_dump(mode="json", exclude={"sweep"}, exclude_unset=True)
    base.pop("repeats", None)
    resolver = _Resolver(base)
    specs: list[RunSpec] = []
    seen: set[str] = set()
    problems: list[str] = []
    for point in points(plan, config.seed):
        changes = list(plan.variants[point[VARIANT]].items()) if VARIANT in point else []
        changes += [(path, v) for path, v in point.items() if path != VARIANT]
        doc = resolver.doc(changes)
        first = doc.get("seed", config.seed)
        for k in range(config.repeats):
            # repeat k uses seed + k (a swept seed is the base of its own repeats)
            doc_k = dict(doc, seed=first + k) if isinstance(first, int) and k else doc
            try:
                resolved = resolver.validate(doc_k, changes)
            except ConfigError as e:
                where = _describe_point(point)
                problems += [f"{p} (sweep point {where})" if where else p for p in e.problems]
                break
            rid = _id_of(point, resolved.seed, resolver.digest(resolved), resolver.word)
            if rid not in seen:
                seen.add(rid)
                specs.append(RunSpec(rid, resolved, resolved.seed, k, dict(point)))
    if problems:
        raise ConfigError(*dict.fromkeys(problems))
    return specs


_SECTIONS: dict[str, type[BaseModel]] = {
    "data": DataConfig, "model": ModelConfig, "train": TrainConfig,
}  # fmt: skip
_INVALID = object()


class _Resolver:
    """The points' configs, for many points at once. The base config's sections are validated
    once; a point's changed section is validated once per distinct set of changes, and the
    validated sections go into the experiment's validation as they are (pydantic does not
    validate a model instance again). Each distinct section is serialised once for the hash.
    A config that fails is validated again as one plain document, as ``config.validate``
    does, so that every message is word for word the one a base config gets."""

    def __init__(self, base: dict[str, Any]) -> None:
        self.base = base
        self.top = {k: v for k, v in base.items() if k not in _SECTIONS}
        self.sections = {
            head: _section(head, base[head]) for head in _SECTIONS if head in base
        }  # fmt: skip
        self.cache: dict[tuple[str, tuple[tuple[str, str], ...]], Any] = {}
        self.fragments: dict[int | str, tuple[BaseModel, str]] = {}
        self.tops: dict[tuple[Any, ...], dict[str, str]] = {}
        self.builders: dict[Any, Any] = {}  # builder or callback files -> their SHA-256
        # a sweep's values are the same objects point after point: each is written once
        self.memo: dict[int, tuple[Any, str, str | None]] = {}

    def _written(self, value: Any) -> tuple[Any, str, str | None]:
        held = self.memo.get(id(value))
        if held is None or held[0] is not value:
            held = self.memo[id(value)] = (value, repr(value), None)
        return held

    def word(self, value: Any) -> str:
        """``_word(value)``, once per value."""
        held = self._written(value)
        if held[2] is None:
            held = self.memo[id(value)] = (value, held[1], _word(value))
        return held[2]  # type: ignore[return-value]

    def doc(self, changes: list[tuple[str, Any]]) -> dict[str, Any]:
        """The point's document: the top-level keys as plain values, each section as a
        validated model (or, when it is invalid, as the plain mapping)."""
        by_head: dict[str, list[tuple[str, str]]] = {}
        for path, value in changes:
            by_head.setdefault(path.partition(".")[0], []).append((path, self._written(value)[1]))
        keys = {h: (h, tuple(c)) for h, c in by_head.items() if h in _SECTIONS}
        if any(key not in self.cache for key in keys.values()):
            plain = self._plain(changes, heads=keys)
            for head, key in keys.items():
                self.cache.setdefault(key, _section(head, plain[head]))
        doc = dict(self.top)
        for head in _SECTIONS:
            if head in keys:
                doc[head] = self.cache[keys[head]]
            elif head in self.sections:
                doc[head] = self.sections[head]
        for path, value in changes:
            if path.partition(".")[0] not in _SECTIONS:
                set_dotted(doc, path, copy.deepcopy(value))  # the seed
        return doc

    def validate(self, doc: dict[str, Any], changes: list[tuple[str, Any]]) -> ExperimentConfig:
        """``doc`` (from ``doc``, its seed set for the repeat) validated; when it is invalid,
        the ``ConfigError`` of the point's whole plain document."""
        if not any(v is _INVALID for v in doc.values()):
            try:
                return ExperimentConfig.model_validate(doc)
            except ValidationError:
                pass
        plain = self._plain(changes)
        if "seed" in doc:
            plain["seed"] = doc["seed"]
        return validate(plain)  # raises the ConfigError a base config gets

    def _plain(self, changes: list[tuple[str, Any]], heads: Any = None) -> dict[str, Any]:
        """The point's document as plain data (only the sections in ``heads``, when given),
        changed in the order written, as the old per-point copy was."""
        if heads is None:
            doc = copy.deepcopy(self.base)
        else:
            doc = {h: copy.deepcopy(self.base[h]) for h in heads if h in self.base}
        for path, value in changes:
            if heads is None or path.partition(".")[0] in heads:
                set_dotted(doc, path, copy.deepcopy(value))
        return doc

    def digest(self, resolved: ExperimentConfig) -> str:
        """``config_hash(resolved.run_dict())``, each distinct section serialised once."""
        fields = resolved.__dict__
        values = tuple((type(v), v) for k, v in fields.items() if k not in _SECTIONS)
        texts = self.tops.get(values) if _hashable(values) else None
        if texts is None:
            top = resolved.model_dump(mode="json", exclude={"sweep", "repeats", *_SECTIONS})
            texts = {k: _json(v) for k, v in _stripped(top).items()}
            if _hashable(values):
                self.tops[values] = texts
        texts = dict(texts)
        for head in _SECTIONS:
            section = getattr(resolved, head)
            # a section holding only defaults (no key set) is the same whichever it is
            key = id(section) if section.model_fields_set else head
            held = self.fragments.get(key)
            if held is None or (key != head and held[0] is not section):
                kept = _stripped({head: section.model_dump(mode="json")})
                held = (section, _json(kept[head]) if head in kept else "")
                self.fragments[key] = held
            if held[1]:
                texts[head] = held[1]
        builder = resolved.model.builder
        if builder:
            if builder not in self.builders:
                self.builders[builder] = _builder_sha(builder)
            texts["builder_sha256"] = _json(self.builders[builder])
        if resolved.train.callbacks:
            refs = tuple(c.path for c in resolved.train.callbacks)
            if refs not in self.builders:
                self.builders[refs] = _callback_shas(refs)  # read once per command
            texts["callbacks_sha256"] = _json(self.builders[refs])
        # what _json(kept) writes: keys sorted, no spaces
        text = "{" + ",".join(f"{_key_json(k)}:{texts[k]}" for k in sorted(texts)) + "}"
        return hashlib.sha256(text.encode()).hexdigest()[:6]


@functools.cache
def _key_json(key: str) -> str:
    return _json(key)


def _hashable(values: tuple[Any, ...]) -> bool:
    """Values that equal each other only when they are written alike (not 0.0 and -0.0)."""
    return all(isinstance(v, str | int | type(None)) for _, v in values)


def _section(head: str, value: Any) -> Any:
    """A section's mapping validated alone (_INVALID when it is not valid)."""
    try:
        return _SECTIONS[head].model_validate(value)
    except ValidationError:
        return _INVALID


def _describe_point(point: dict[str, Any]) -> str:
    return ", ".join(f"{path}={v}" for path, v in point.items())
