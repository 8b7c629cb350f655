"""Which runs train together: runs whose program shape is the same form a group, and a group
is split into chunks that fit in memory. Pure: reads configs, imports no backend.

The program shape is the resolved run config without what each member may hold on its own:
its seed (initial weights, dropout and noise streams, batch order, its data split),
``train.learning_rate`` (an optimizer variable), ``model.initializer`` (each member's weights
are drawn by its own Keras model), and the callbacks' numbers (``train.early_stopping``,
``train.lr_schedule``: Keras' own callbacks run per member on the host), and a built-in
model's ``dropout``, ``noise``, ``l1`` and ``l2`` (``fused.numbers``; only whether each layer
is there counts). Everything else (data, architecture, batch size, epochs, loss, metrics,
the optimizer and its other arguments, capture) must match: Keras reads an optimizer's
momentum or betas as Python numbers when it traces the step.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from nnlab import user_code
from nnlab.errors import ConfigError
from nnlab.expansion import EXECUTION_KEYS, LABEL_KEYS, RunSpec, without_keys

# what a member may hold on its own (dotted keys of the run config)
MEMBER_KEYS = ("seed", "train.learning_rate", "model.initializer", "train.early_stopping",
               "train.lr_schedule")  # fmt: skip
# a built-in model's numbers a member may hold on its own (which layers exist is shared)
MODEL_NUMBERS = ("dropout", "noise", "l1", "l2")
# members per chunk: the stacked state, snapshots and per-member data of a chunk stay well
# inside a few GiB (1,000 Pima members: 4 chunks); image models hold far larger tensors
CHUNK_MEMBERS = {"mlp": 250, "lenet5": 32, "cnn": 32, "custom": 32}


@dataclass(frozen=True)
class Plan:
    """How an experiment's runs are trained: units of runs (fused when ``fused``), and one
    line per reason some runs are not fused."""

    units: list[tuple[tuple[RunSpec, ...], bool]]
    notes: list[str]

    @property
    def groups(self) -> int:
        return sum(1 for _, fused in self.units if fused)


def program_key(spec: RunSpec) -> str:
    """The run's program shape, as text: equal keys train as one program. Of a built-in
    model's dropout, noise, l1 and l2 only which layers they put there counts
    (``fused.numbers`` gives each member its own values)."""
    model = spec.config.model
    numbers: tuple[str, ...] = ()
    shape = {}
    if model.kind != "custom":
        numbers = tuple(f"model.{key}" for key in MODEL_NUMBERS)
        shape = {"dropout": model.dropout > 0, "noise": model.noise > 0,
                 "regularized": model.l1 > 0 or model.l2 > 0}  # fmt: skip
    skip = (*LABEL_KEYS, *EXECUTION_KEYS, *MEMBER_KEYS, *numbers)
    doc = {"run": without_keys(spec.config.run_dict(), skip), "layers": shape}
    return json.dumps(doc, sort_keys=True, default=str)


def chunk_size(spec: RunSpec) -> int:
    """Members per chunk for runs like ``spec``. Each member with its own split (a seeded
    split of an image or CSV dataset) holds its own copy of the data, so those chunks are
    small."""
    config = spec.config
    size = CHUNK_MEMBERS.get(config.model.kind, 32)
    data = config.data
    shared_split = (data.random_state is not None or data.validation in ("test", "none")
                    or data.split == "ordered")  # fmt: skip
    if data.name in ("mnist", "cifar10", "csv") and not shared_split:
        size = min(size, 8)
    return size


def why_not_fused(spec: RunSpec) -> str | None:
    """Why a run cannot join a fused group, from its config alone; None when it can."""
    config = spec.config
    if config.backend != "jax":
        return f"backend is {config.backend}; fused groups run on JAX (backend: jax or auto)"
    if config.train.checkpoint_every:
        return "train.checkpoint_every: checkpointed runs train on Keras fit, one at a time"
    if config.train.callbacks or user_code.OBJECTS:
        return "the user's own callbacks (train.callbacks) run on Keras fit, one run at a time"
    return None


def plan(specs: Sequence[RunSpec], fused: str | bool) -> Plan:
    """Group ``specs`` (in their order) for ``fused`` (``auto``, True, False).

    ``auto`` fuses groups of two or more runs that can be fused and trains the rest one by
    one, with a note for each reason; True fuses every group (also of one run) and raises
    ``ConfigError`` when a run cannot be fused; False trains every run on its own."""
    if fused is False or not specs:
        return Plan([((s,), False) for s in specs], [])
    notes: dict[str, int] = {}
    groups: dict[str, list[RunSpec]] = {}
    alone: list[RunSpec] = []
    for spec in specs:
        reason = why_not_fused(spec)
        if reason is not None:
            if fused is True:
                raise ConfigError(f"fused: true cannot be honoured: {reason}; "
                                  "use fused: auto or --no-fused")  # fmt: skip
            notes[reason] = notes.get(reason, 0) + 1
            alone.append(spec)
        else:
            groups.setdefault(program_key(spec), []).append(spec)
    units: list[tuple[tuple[RunSpec, ...], bool]] = []
    for members in groups.values():
        if len(members) < 2 and fused == "auto":
            alone.extend(members)
            continue
        size = chunk_size(members[0])
        units.extend((tuple(members[i : i + size]), True) for i in range(0, len(members), size))
    order = {s.run_id: i for i, s in enumerate(specs)}
    units.extend(((s,), False) for s in sorted(alone, key=lambda s: order[s.run_id]))
    lines = [f"not fused ({n} run{'s' * (n != 1)}): {why}" for why, n in notes.items()]
    return Plan(units, lines)


def describe(plan_: Plan) -> list[str]:
    """``--dry-run``'s lines about the grouping."""
    fused = [specs for specs, on in plan_.units if on]
    alone = sum(1 for specs, on in plan_.units if not on)
    lines = []
    if fused:
        sizes = ", ".join(str(len(s)) for s in fused[:12]) + (", ..." if len(fused) > 12 else "")
        lines.append(f"fused: {len(fused)} group(s) of {sizes} runs, each trained as one JAX "
                     "program")  # fmt: skip
    if alone and fused:
        lines.append(f"{alone} run(s) trained one by one")
    return lines + plan_.notes
