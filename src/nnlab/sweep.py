"""Config -> the list of runs it describes. Pure: imports no backend.

Each ``RunSpec`` carries its fully resolved config (no sweep block, its own seed) and a run id:
the swept values in words plus the seed, then a short hash of the resolved config, e.g.
``batch_size=100_seed=0_3f9a1c``. The hash makes a changed config give new ids.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnlab.config import ExperimentConfig, validate
from nnlab.errors import ConfigError


@dataclass(frozen=True)
class RunSpec:
    run_id: str
    config: ExperimentConfig  # resolved: seed set for this repeat, sweep removed
    seed: int
    repeat: int = 0
    values: dict[str, Any] = field(default_factory=dict)  # swept path -> value (or label)


# keys that label a run or say where it runs, not what it computes
_UNHASHED = ("name", "description", "device")


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


def _word(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return re.sub(r"[^A-Za-z0-9.+-]+", "-", text).strip("-")[:40] or "x"


def run_id(values: dict[str, Any], seed: int, run_config: dict[str, Any]) -> str:
    """``<last path part>=<value>_..._seed=<seed>_<hash>``; safe as a folder name."""
    parts = [f"{path.rsplit('.', 1)[-1]}={_word(v)}" for path, v in values.items()]
    parts.append(f"seed={seed}")
    return "_".join([*parts, config_hash(run_config)])


def expand(config: ExperimentConfig) -> list[RunSpec]:
    """Every run of the experiment: each sweep point times ``repeats`` seeds (seed + k)."""
    if config.sweep:
        raise ConfigError(
            "sweep: sweeps are not supported by this version of nnlab yet; "
            "remove the sweep block, or use --set to run one point"
        )
    # only what the user set: defaults that depend on the data (metrics) stay defaults
    base = config.model_dump(mode="json", exclude={"sweep"}, exclude_unset=True)
    specs = []
    for k in range(config.repeats):
        doc = dict(base, seed=config.seed + k, repeats=1)
        resolved = validate(doc)
        specs.append(
            RunSpec(
                run_id=run_id({}, resolved.seed, resolved.run_dict()),
                config=resolved,
                seed=resolved.seed,
                repeat=k,
            )
        )
    return specs
