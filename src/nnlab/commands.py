"""What ``run``, ``sweep`` and ``validate`` do, for the command line and the Python API alike:
check everything before anything trains (:func:`prepare`), pick the launcher, and train the
pending runs (:func:`train`). Problems are raised as ``NnlabError``; nothing here prints or
exits (``cli`` and ``api`` decide how to say it). Joins both wings, like ``hooks``.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnlab import events
from nnlab.errors import ConfigError, DataError, NnlabError


@dataclass(frozen=True)
class Where:
    """Where the runs of a command train: the launcher options."""

    workers: int | None = None
    launcher: str | None = None
    ray_address: str | None = None
    gpus_per_run: float = 0.0


@dataclass
class Request:
    """One ``run`` or ``sweep``: the config (a path, a mapping or a config object), its
    overrides and sweep axes, and how to run it."""

    config: Any
    sets: list[str] = field(default_factory=list)
    axes: list[str] = field(default_factory=list)
    mode: str | None = None
    out: Path = Path("runs")
    where: Where = field(default_factory=Where)
    backend: str | None = None
    device: str | None = None
    repeats: int | None = None
    fused: bool | None = None
    force: bool = False
    dry_run: bool = False
    max_runs: int | None = None
    in_process: bool = False  # the runs must train in this process (API callback objects)
    tensorboard: bool = False  # --tensorboard: as train.tensorboard=true for every run

    def all_sets(self) -> list[str]:
        return [*self.sets, *(["train.tensorboard=true"] if self.tensorboard else [])]

    def overrides(self) -> dict[str, Any]:
        return {"backend": self.backend, "device": self.device, "repeats": self.repeats,
                "fused": None if self.fused is None else str(self.fused).lower(),
                "launcher": self.where.launcher}  # fmt: skip


@dataclass
class Prepared:
    """A request checked: the config, the raw document, the runs, and the device."""

    cfg: Any
    doc: dict[str, Any]
    specs: list[Any]
    device: dict[str, Any]
    launcher: Any = None


def prepare(
    config: Any,
    sets: list[str] | None,
    cli_overrides: dict[str, Any],
    *,
    load_data: bool,
    axes: list[str] | None = None,
    mode: str | None = None,
    dry_run: bool = False,
    max_runs: int | None = None,
    download: bool = True,
) -> tuple[Any, dict[str, Any], list[Any], dict[str, Any]]:
    """Everything ``run``, ``sweep`` and ``validate`` check before anything trains: the schema,
    the number of runs (more than ``max_runs`` is refused before expanding) and every
    expanded run, then (unless ``dry_run``) the backend and device, the Keras objects the
    config names, and (with ``load_data``) each distinct dataset and whether the loss and
    metrics fit its task. Each check runs once per distinct data section, train section and
    builder, not once per run: each data section is loaded once, however its runs are
    ordered. Without ``download`` a dataset that is not cached yet is not fetched, and only
    the checks that need no data are made for it (``validate``: see ``would_download``).
    Returns the config, raw doc, runs and device info."""
    from nnlab.config import load_config
    from nnlab.expansion import MAX_RUNS, expand

    overrides = list(sets or [])
    overrides += [f"{k}={v}" for k, v in cli_overrides.items() if v is not None]
    cfg, doc = load_config(config, overrides, axes=axes or [], mode=mode)
    specs = expand(cfg, MAX_RUNS if max_runs is None else max_runs)
    from nnlab.fused import groups

    groups.plan(specs, cfg.fused)  # an impossible `fused: true` is a config error
    if dry_run:
        return cfg, doc, specs, {}
    from nnlab import backend, keras_objects

    device = backend.activate(cfg.backend, cfg.device)
    preflight = keras_objects.Preflight()
    by_data: dict[str, list[Any]] = {}  # the runs of each data section, in order of first use
    for spec in specs:
        by_data.setdefault(spec.config.data.model_dump_json(), []).append(spec)
    for group in by_data.values():  # one dataset in memory at a time
        data = None
        if load_data and (download or not _would_download(group[0])):
            data = load_checked(group[0], group if len(by_data) > 1 else None)
        for spec in group:
            preflight.check(spec.config, data)
    return cfg, doc, specs, device


def _would_download(spec: Any) -> bool:
    from nnlab.data import would_download

    return would_download(spec.config.data)


def load_checked(spec: Any, group: list[Any] | None = None) -> Any:
    """The dataset of ``spec``; a loader's unforeseen exception becomes a ``DataError``. When
    the sweep sets the data section, a problem names the sweep's data values, from the runs
    of ``group`` (those that share the section)."""
    from nnlab.data import load_dataset

    try:
        return load_dataset(spec.config.data, spec.seed)
    except NnlabError as e:
        where = _data_point(group) if group else ""
        if not where:
            raise
        raise type(e)(*(f"{p} ({where})" for p in e.problems)) from None
    except Exception as e:  # a loader bug or an unforeseen file: still a data problem
        raise DataError(
            f"data: loading {spec.config.data.name} failed: {type(e).__name__}: {e}"
        ) from e


def _data_point(group: list[Any]) -> str:
    """``sweep point data.validation=0.999`` (``the 40 sweep points with ...`` when several
    share the section): the swept data keys and variant of these runs; "" if none."""
    from nnlab.config_sweep import VARIANT

    values = {k: v for k, v in group[0].values.items() if k == VARIANT or k.startswith("data.")}
    if not values:
        return ""
    where = ", ".join(f"{k}={v}" for k, v in values.items())
    n = len({repr(s.values) for s in group})  # the repeats of a point share its values
    return f"the {n} sweep points with {where}" if n > 1 else f"sweep point {where}"


def check_writable(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out_dir, prefix=".nnlab-write-test-"):
            pass
    except OSError as e:
        raise ConfigError(f"--out: cannot write to {out_dir} ({e.strerror or e})") from None


def make_launcher(cfg: Any, where: Where, device_info: dict[str, Any], run_end: Any) -> Any:
    """The launcher ``where`` names; a launcher option that does not fit is a ConfigError."""
    from nnlab import launchers

    if cfg.launcher == "ray":
        launchers.require_ray()
        if cfg.device == "gpu" and not where.gpus_per_run:
            raise ConfigError("--gpus-per-run: device gpu on Ray needs the share of a GPU each "
                              "run reserves (1 for a whole GPU, 0.25 packs four runs on one)")
        launcher = launchers.RayLauncher(where.workers, where.ray_address, where.gpus_per_run,
                                         run_end=run_end)  # fmt: skip
        launcher.connect()  # an address that does not answer: exit 2, nothing written
        return launcher
    if where.ray_address or where.gpus_per_run:
        flag = "--ray-address" if where.ray_address else "--gpus-per-run"
        raise ConfigError(f"{flag}: only with --launcher ray (the launcher is local)")
    return launchers.PoolLauncher(where.workers or 1, device_info, run_end=run_end)


def check(request: Request) -> Prepared:
    """Every check of :func:`prepare`, then (unless a dry run) the launcher and the output
    folder. Raises ``NnlabError``; nothing is written."""
    from nnlab import hooks

    cfg, doc, specs, device = prepare(
        request.config, request.all_sets(), request.overrides(), load_data=True, axes=request.axes,
        mode=request.mode, dry_run=request.dry_run, max_runs=request.max_runs,
    )  # fmt: skip
    prepared = Prepared(cfg, doc, specs, device)
    if request.in_process and (cfg.launcher != "local" or (request.where.workers or 1) > 1):
        raise ConfigError("callbacks: objects given to nnlab.run join runs in this process "
                          "only (workers=1, the local launcher); name a class in "
                          "train.callbacks instead for workers or Ray")  # fmt: skip
    if not request.dry_run:
        tensorboard = any(spec.config.train.tensorboard for spec in specs)
        prepared.launcher = make_launcher(cfg, request.where, device,
                                          hooks.run_end(len(specs), tensorboard))  # fmt: skip
        check_writable(request.out)
    return prepared


def train(request: Request, prepared: Prepared, on_event: events.OnEvent) -> Any:
    """Train the pending runs of a checked request; returns ``execute``'s outcome (the
    comparison plots and report are drawn at the end). Ctrl-C finishes the bookkeeping and
    the outcome says ``interrupted``; a full disk raises OSError after the summary."""
    from nnlab import execute, hooks, store

    exp_dir = store.experiment_dir(request.out, prepared.cfg.name)
    return execute.execute(
        prepared.specs, exp_dir, prepared.launcher, force=request.force, on_event=on_event,
        experiment_end=hooks.finish_experiment, record=prepared.doc, fused=prepared.cfg.fused,
    )  # fmt: skip
