"""The options that ``nnlab run`` and ``nnlab sweep`` share (Typer annotations)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nnlab import completion

ConfigArg = Annotated[
    Path,
    typer.Argument(
        help="The experiment's YAML config.", show_default=False,
        autocompletion=completion.config_files,
    ),
]  # fmt: skip
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        "-s",
        help="Override a dotted key, value parsed as YAML: --set train.learning_rate=0.01",
        show_default=False,
        autocompletion=completion.set_assignments,
    ),
]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show Python tracebacks.")]
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Where experiments are written.")]
WorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--workers", "-w", min=1, show_default=False,
        help="Runs trained at once, each in its own process (CPU threads are split); "
        "default 1, with --launcher ray one per CPU of the cluster.",
    ),
]  # fmt: skip
LauncherOpt = Annotated[
    str | None,
    typer.Option(
        help="Where runs train: local (this machine) or ray (a Ray cluster; needs the "
        "ray extra). Overrides the config's launcher.",
    ),
]
RayAddressOpt = Annotated[
    str | None,
    typer.Option(
        "--ray-address", show_default=False,
        help="The Ray cluster to use (default: $RAY_ADDRESS, else a local Ray instance "
        "started for this command).",
    ),
]  # fmt: skip
GpusPerRunOpt = Annotated[
    float,
    typer.Option(
        "--gpus-per-run", min=0.0,
        help="With --launcher ray: the fraction of a GPU each run reserves (0.25 packs four "
        "runs on a GPU).",
    ),
]  # fmt: skip
BackendOpt = Annotated[
    str | None,
    typer.Option(
        help="Keras backend: auto (JAX when installed), tensorflow, jax or torch "
        "(overrides the config)."
    ),
]
FusedOpt = Annotated[
    bool | None,
    typer.Option(
        "--fused/--no-fused",
        help="Train runs that share a program shape as one "
        "compiled JAX program (default: the config's fused, auto).",
    ),
]
DeviceOpt = Annotated[str | None, typer.Option(help="auto, cpu or gpu (overrides the config).")]
RepeatsOpt = Annotated[
    int | None, typer.Option(help="Independent seeds per sweep point (seed, seed+1, ...).")
]
ForceOpt = Annotated[
    bool, typer.Option("--force", help="Re-run runs that already completed or diverged.")
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="List the runs (ids and values) and train nothing.")
]
MaxRunsOpt = Annotated[
    int,
    typer.Option(
        "--max-runs", min=1,
        help="Refuse a sweep of more runs than this, before expanding it.",
    ),
]  # fmt: skip
TensorboardOpt = Annotated[
    bool,
    typer.Option(
        "--tensorboard",
        help="Write TensorBoard event files and HParams sessions under each run's "
        "tensorboard/ (as train.tensorboard: true); tensorboard --logdir OUT/NAME.",
    ),
]
