"""The ``nnlab`` command. The only module that prints and exits.

Exit status: 0 every run completed (diverged counts as completed); 1 a run failed;
2 the command or config is wrong (nothing trained); 130 interrupted by Ctrl-C.
Heavy imports (Keras, matplotlib, the data loaders) happen inside the commands.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from nnlab import __version__
from nnlab.errors import ConfigError, DataError, NnlabError

app = typer.Typer(
    name="nnlab",
    help="Run Keras experiments that compare how training choices change learning.\n\n"
    "Write a YAML config (dataset, model, training choices), then `nnlab run config.yaml`: "
    "you get per-epoch history CSVs, learning-curve plots and a result per run under runs/.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

ConfigArg = Annotated[
    Path, typer.Argument(help="The experiment's YAML config.", show_default=False)
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        "-s",
        help="Override a dotted key, value parsed as YAML: --set train.learning_rate=0.01",
        show_default=False,
    ),
]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show Python tracebacks.")]


def _fail(e: NnlabError, debug: bool) -> typer.Exit:
    if debug:
        err.print_exception()
    for line in e.problems:
        err.print(f"error: {line}", markup=False)
    return typer.Exit(e.exit_code)


def _version(value: bool) -> None:
    if value:
        out.print(f"nnlab {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Run Keras experiments that compare how training choices change learning."""


def _prepare(
    config: Path, sets: list[str] | None, cli_overrides: dict[str, Any], *, load_data: bool
) -> tuple[Any, dict[str, Any], list[Any]]:
    """Everything ``run`` and ``validate`` check before anything trains: the schema and the
    expanded runs, the backend and device, the Keras objects the config names, and (with
    ``load_data``) each distinct dataset and whether the loss and metrics fit its task."""
    from nnlab import backend, compile
    from nnlab.config import load_config
    from nnlab.sweep import expand

    overrides = list(sets or [])
    overrides += [f"{k}={v}" for k, v in cli_overrides.items() if v is not None]
    cfg, doc = load_config(config, overrides)
    specs = expand(cfg)
    backend.activate(cfg.backend, cfg.device)
    checked: set[str] = set()
    for spec in specs:
        key = spec.config.data.model_dump_json() + spec.config.train.model_dump_json()
        data = _load_checked(spec) if load_data and key not in checked else None
        checked.add(key)
        compile.preflight(spec.config, data)
    return cfg, doc, specs


def _load_checked(spec: Any) -> Any:
    from nnlab.data import load_dataset

    try:
        return load_dataset(spec.config.data, spec.seed)
    except NnlabError:
        raise
    except Exception as e:  # a loader bug or an unforeseen file: still a data problem
        raise DataError(
            f"data: loading {spec.config.data.name} failed: {type(e).__name__}: {e}"
        ) from e


def _check_writable(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out_dir, prefix=".nnlab-write-test-"):
            pass
    except OSError as e:
        raise ConfigError(f"--out: cannot write to {out_dir} ({e.strerror or e})") from None


@app.command()
def run(
    config: ConfigArg,
    set_: SetOpt = None,
    out_dir: Annotated[
        Path, typer.Option("--out", "-o", help="Where experiments are written.")
    ] = Path("runs"),
    backend: Annotated[
        str | None,
        typer.Option(help="Keras backend: tensorflow, jax or torch (overrides the config)."),
    ] = None,
    device: Annotated[
        str | None, typer.Option(help="auto, cpu or gpu (overrides the config).")
    ] = None,
    repeats: Annotated[
        int | None, typer.Option(help="Independent seeds per sweep point (seed, seed+1, ...).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Re-run runs that already completed.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")] = False,
    debug: DebugOpt = False,
) -> None:
    """Run every run the config describes, skipping runs that already finished.

    Results go to OUT/NAME/RUN_ID/: config.yaml, history.csv (a row per epoch, epoch 0 is
    the untrained model), result.json, env.json and plots/.
    """
    try:
        overrides = {"backend": backend, "device": device, "repeats": repeats}
        cfg, doc, specs = _prepare(config, set_, overrides, load_data=True)
        _check_writable(out_dir)
    except NnlabError as e:
        raise _fail(e, debug) from None
    from nnlab import display, execute, store

    exp_dir = store.experiment_dir(out_dir, cfg.name)
    exp_dir.mkdir(parents=True, exist_ok=True)
    store.write_yaml(exp_dir / store.EXPERIMENT_FILE, doc)
    progress = display.make_progress(err, quiet)
    try:
        outcome = execute.execute(specs, exp_dir, force=force, progress=progress)
    except KeyboardInterrupt:
        getattr(progress, "stop", lambda: None)()
        err.print(
            f"interrupted: finished runs are kept in {exp_dir}; run the same command again "
            "to finish the rest",
            markup=False,
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None
    getattr(progress, "stop", lambda: None)()
    if not quiet:
        _print_outcome(outcome, exp_dir)
    raise typer.Exit(EXIT_FAILED if outcome.failed else EXIT_OK)


def _print_outcome(outcome: Any, exp_dir: Path) -> None:
    from nnlab.display import headline

    table = Table(title=f"{exp_dir}", title_justify="left", show_edge=False)
    for col in ("run", "status", "epochs", "validation", "wall s"):
        table.add_column(col, justify="right" if col in ("epochs", "wall s") else "left")
    for run_id, res in outcome.results.items():
        status = res.get("status", "?")
        note = res.get("error", "") if status == "failed" else headline(res)
        table.add_row(
            run_id, status, str(res.get("epochs_run", "")), note, f"{res.get('wall_s', 0):.1f}"
        )
    out.print(table)
    trained, skipped = len(outcome.trained), len(outcome.skipped)
    out.print(
        f"{trained} trained, {skipped} already finished, {len(outcome.failed)} failed. "
        f"Per-run files: {exp_dir}/<run>/ (history.csv, result.json, plots/)",
        markup=False,
    )


@app.command()
def validate(config: ConfigArg, set_: SetOpt = None, debug: DebugOpt = False) -> None:
    """Check a config (and its --set overrides) without training; print how many runs it has."""
    try:
        cfg, _, specs = _prepare(config, set_, {}, load_data=False)
    except NnlabError as e:
        raise _fail(e, debug) from None
    n = len(specs)
    out.print(
        f"{config}: ok: experiment {cfg.name!r}, {n} run{'s' * (n != 1)} "
        f"({cfg.data.name}, {cfg.model.kind}, {cfg.train.epochs} epochs)",
        markup=False,
    )


@app.command()
def plot(
    directory: Annotated[Path, typer.Argument(help="A run directory or an experiment directory.")],
    debug: DebugOpt = False,
) -> None:
    """Draw the plots of a run or experiment again, from its CSV files alone."""
    from nnlab import plots

    try:
        written = plots.plot_dir(directory)
    except NnlabError as e:
        raise _fail(e, debug) from None
    for path in written:
        out.print(str(path), markup=False)


@app.command()
def datasets() -> None:
    """List the built-in datasets, where they come from, and whether they are cached."""
    from nnlab.data import cache_dir, dataset_table

    table = Table(show_edge=False)
    for col in ("name", "kind", "source", "cached"):
        table.add_column(col, overflow="fold", no_wrap=col != "source")
    for row in dataset_table():
        cached = row["cached"]
        if cached not in ("no", "-"):
            cached = f"yes: {Path(cached).name}"
        table.add_row(row["name"], row["kind"], row["source"], cached)
    out.print(table)
    out.print(f"cache folder: {cache_dir()} (set NNLAB_DATA_DIR to move it)", markup=False)


def main() -> None:
    """Console-script entry point."""
    app()
