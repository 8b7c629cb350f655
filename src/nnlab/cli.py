"""The ``nnlab`` command. The only module that prints and exits.

Exit status: 0 every run completed (diverged counts as completed); 1 a run failed;
2 the command or config is wrong (nothing trained); 130 interrupted by Ctrl-C.
Heavy imports (Keras, matplotlib, the data loaders) happen inside the commands.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from nnlab import cli_export, commands, completion
from nnlab.cli_options import (
    BackendOpt,
    ConfigArg,
    DebugOpt,
    DeviceOpt,
    DryRunOpt,
    ForceOpt,
    FusedOpt,
    GpusPerRunOpt,
    LauncherOpt,
    MaxRunsOpt,
    OutOpt,
    QuietOpt,
    RayAddressOpt,
    RepeatsOpt,
    SetOpt,
    TensorboardOpt,
    WorkersOpt,
)  # fmt: skip
from nnlab.errors import NnlabError
from nnlab.version import __version__

app = typer.Typer(
    name="nnlab",
    help="Run Keras experiments that compare how training choices change learning.\n\n"
    "Write a YAML config (dataset, model, training choices), then `nnlab run config.yaml`: "
    "you get per-epoch history CSVs, learning-curve plots and a result per run under runs/.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
app.add_typer(cli_export.app, name="export")
# in a pipe or a log, tables get room for whole run ids instead of the 80-column default
_WIDTH = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 160
err = Console(stderr=True, highlight=False, soft_wrap=True, width=_WIDTH)
out = Console(highlight=False, soft_wrap=True, width=_WIDTH)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


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


def _experiment(
    config: Path, sets: list[str] | None, out_dir: Path, where: commands.Where,
    backend: str | None, device: str | None, repeats: int | None, force: bool, quiet: bool,
    dry_run: bool, debug: bool, axes: list[str] | None = None, mode: str | None = None,
    max_runs: int | None = None, fused: bool | None = None, tensorboard: bool = False,
) -> None:  # fmt: skip
    """What ``run`` and ``sweep`` do: check everything, then train every pending run."""
    from nnlab import display, store

    request = commands.Request(
        config, sets=list(sets or []), axes=list(axes or []), mode=mode, out=out_dir,
        where=where, backend=backend, device=device, repeats=repeats, fused=fused, force=force,
        dry_run=dry_run, max_runs=max_runs, tensorboard=tensorboard,
    )  # fmt: skip
    try:
        prepared = commands.check(request)
    except NnlabError as e:
        raise _fail(e, debug) from None
    exp_dir = store.experiment_dir(out_dir, prepared.cfg.name)
    if dry_run:
        _print_dry_run(prepared.specs, exp_dir, force, prepared.cfg.fused)
        raise typer.Exit(EXIT_OK)
    try:
        outcome = commands.train(request, prepared, display.make_display(err, quiet))
    except NnlabError as e:  # another command holds the experiment (nothing was touched),
        raise _fail(e, debug) from None  # or the Ray cluster could not train
    except OSError as e:  # the disk is full or the folder went away: say so, keep the rest
        if debug:
            raise
        where_ = f" {e.filename}" if e.filename else ""
        err.print(
            f"error: cannot write{where_}: {e.strerror or e}; the runs recorded before it are "
            "kept (every record is written whole or not at all); free the space and run the "
            "same command again to finish the rest",
            markup=False,
        )
        raise typer.Exit(EXIT_FAILED) from None
    if outcome.plot_error:
        err.print(f"warning: comparison plots failed: {outcome.plot_error}", markup=False)
    if outcome.report_error:
        err.print(f"warning: the report failed: {outcome.report_error}; `nnlab report "
                  f"{exp_dir}` tries again", markup=False)  # fmt: skip
    if outcome.tensorboard_error:
        err.print(f"warning: the TensorBoard files failed: {outcome.tensorboard_error}; "
                  f"`nnlab export tensorboard {exp_dir}` tries again", markup=False)  # fmt: skip
    if outcome.interrupted:
        err.print(
            f"interrupted: finished runs are kept in {exp_dir}; run the same command again "
            "to finish the rest",
            markup=False,
        )
        raise typer.Exit(EXIT_INTERRUPTED)
    if not quiet:
        _print_outcome(outcome, exp_dir)
    raise typer.Exit(EXIT_FAILED if outcome.failed else EXIT_OK)


@app.command()
def run(
    config: ConfigArg,
    set_: SetOpt = None,
    out_dir: OutOpt = Path("runs"),
    workers: WorkersOpt = None,
    launcher: LauncherOpt = None,
    ray_address: RayAddressOpt = None,
    gpus_per_run: GpusPerRunOpt = 0.0,
    backend: BackendOpt = None,
    device: DeviceOpt = None,
    repeats: RepeatsOpt = None,
    force: ForceOpt = False,
    quiet: QuietOpt = False,
    dry_run: DryRunOpt = False,
    max_runs: MaxRunsOpt = 100_000,
    fused: FusedOpt = None,
    tensorboard: TensorboardOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Run every run the config describes (each sweep point x repeats), skipping runs that
    already finished; an interrupted sweep is finished by the same command.

    Results go to OUT/NAME/: summary.csv, plots/ and one folder per run with config.yaml,
    history.csv (a row per epoch, epoch 0 is the untrained model), result.json, env.json.
    """
    where = commands.Where(workers, launcher, ray_address, gpus_per_run)
    _experiment(config, set_, out_dir, where, backend, device, repeats, force, quiet,
                dry_run, debug, max_runs=max_runs, fused=fused,
                tensorboard=tensorboard)  # fmt: skip


@app.command()
def sweep(
    config: ConfigArg,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            help="A sweep axis: KEY=V1,V2,... (values parsed as YAML), e.g. "
            "-p train.batch_size=1,100,full. In random mode, "
            "-p 'train.learning_rate={log_uniform: [1e-4, 1e-1]}'.",
            show_default=False,
            autocompletion=completion.sweep_axes,
        ),
    ] = None,
    mode: Annotated[
        str | None,
        typer.Option(
            help="grid (every combination), zip (walk the lists "
            "together) or random (draw sweep.samples points)."
        ),
    ] = None,
    set_: SetOpt = None,
    out_dir: OutOpt = Path("runs"),
    workers: WorkersOpt = None,
    launcher: LauncherOpt = None,
    ray_address: RayAddressOpt = None,
    gpus_per_run: GpusPerRunOpt = 0.0,
    backend: BackendOpt = None,
    device: DeviceOpt = None,
    repeats: RepeatsOpt = None,
    force: ForceOpt = False,
    quiet: QuietOpt = False,
    dry_run: DryRunOpt = False,
    max_runs: MaxRunsOpt = 100_000,
    fused: FusedOpt = None,
    tensorboard: TensorboardOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Add sweep axes from the command line to the config's own, and run them all.

    Example: nnlab sweep configs/pima.yaml -p train.batch_size=10,100,full --repeats 3
    """  # fmt: skip
    where = commands.Where(workers, launcher, ray_address, gpus_per_run)
    _experiment(config, set_, out_dir, where, backend, device, repeats, force, quiet,
                dry_run, debug, axes=param or [], mode=mode, max_runs=max_runs,
                fused=fused, tensorboard=tensorboard)  # fmt: skip


def _print_dry_run(specs: list[Any], exp_dir: Path, force: bool, fused: Any) -> None:
    from nnlab import store
    from nnlab.fused import groups

    axes = list(dict.fromkeys(a for s in specs for a in s.values))
    table = Table(title=f"{exp_dir}", title_justify="left", show_edge=False)
    for col in ("run", *axes, "seed", "status"):
        table.add_column(col)
    todo = 0
    for spec in specs:
        status = store.run_status(exp_dir / spec.run_id)
        will_train = store.will_train(status, force)
        todo += will_train
        shown = f"{status}, will re-run" if status and will_train else status or "to run"
        values = [str(spec.values.get(a, "")) for a in axes]
        table.add_row(spec.run_id, *values, str(spec.seed), shown)
    out.print(table)
    n = len(specs)
    out.print(f"{n} run{'s' * (n != 1)} ({todo} to train, {n - todo} already finished); "
              "dry run, nothing trained", markup=False)  # fmt: skip
    for line in groups.describe(groups.plan(specs, fused)):
        out.print(line, markup=False, highlight=False)


def _print_outcome(outcome: Any, exp_dir: Path) -> None:
    from nnlab.display import headline

    table = Table(title=f"{exp_dir}", title_justify="left", show_edge=False)
    held_out = any("val_loss" in (r.get("final") or {}) for r in outcome.results.values())
    shown = "validation" if held_out or not outcome.results else "training (no validation set)"
    for col in ("run", "status", "epochs", shown, "wall s", "diagnosis"):
        table.add_column(col, justify="right" if col in ("epochs", "wall s") else "left")
    for run_id, res in outcome.results.items():
        status = res.get("status", "?")
        note = res.get("error", "") if status == "failed" else headline(res)
        diagnosis = (res.get("diagnosis") or {}).get("label", "")
        table.add_row(run_id, status, str(res.get("epochs_run", "")), note,
                      f"{res.get('wall_s', 0):.1f}", diagnosis)  # fmt: skip
    out.print(table)
    trained, skipped = len(outcome.trained), len(outcome.skipped)
    out.print(
        f"{trained} trained, {skipped} already finished, {len(outcome.failed)} failed. "
        f"Per-run files: {exp_dir}/<run>/ (history.csv, result.json, plots/)",
        markup=False,
    )
    if outcome.report is not None:
        out.print(f"Report: {outcome.report} (and report.md beside it)", markup=False)


def _runs_in_words(configs: list[Any]) -> str:
    """``digits, mlp, 20 epochs``; what the sweep varies as a range or a list of choices
    (``blobs, mlp, 20 to 1000 epochs``)."""

    def choices(values: list[Any]) -> str:
        return " or ".join(dict.fromkeys(str(v) for v in values))

    epochs = sorted({c.train.epochs for c in configs})
    span = f"{epochs[0]}" if len(epochs) == 1 else f"{epochs[0]} to {epochs[-1]}"
    return (f"{choices([c.data.name for c in configs])}, "
            f"{choices([c.model.kind for c in configs])}, {span} epochs")  # fmt: skip


@app.command()
def validate(
    config: ConfigArg, set_: SetOpt = None, max_runs: MaxRunsOpt = 100_000,
    debug: DebugOpt = False,
) -> None:  # fmt: skip
    """Check a config (and its --set overrides) as run does before training; print how many
    runs it has.

    The same checks as run: the schema, every sweep point, the optimizer, initializer,
    builder and callbacks, and the data: each distinct data section is loaded once (a missing
    data.path, n_samples or a validation fraction that leaves a class without examples, a
    malformed file) and the loss and metrics are checked against its task. Trains nothing,
    writes nothing and never downloads: a dataset not in the cache yet (pima, mnist or
    cifar10 without data.path) is checked by the run that downloads it.
    """
    from nnlab.data import would_download

    try:
        cfg, _, specs, _ = commands.prepare(config, set_, {}, load_data=True, download=False,
                                            max_runs=max_runs)  # fmt: skip
    except NnlabError as e:
        raise _fail(e, debug) from None
    n = len(specs)
    out.print(f"{config}: ok: experiment {cfg.name!r}, {n} run{'s' * (n != 1)} "
              f"({_runs_in_words([s.config for s in specs] or [cfg])})", markup=False)  # fmt: skip
    sections = {s.config.data.model_dump_json(): s.config.data for s in specs}
    for name in sorted({d.name for d in sections.values() if would_download(d)}):
        err.print(f"note: data.name: {name} is not in the cache yet, so its data was not "
                  f"checked; `nnlab run` downloads it (or set data.path)", markup=False)


@app.command()
def schema(
    out_file: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write it to this file instead.", show_default=False),
    ] = None,
) -> None:
    """Print the JSON Schema of the config file, for editors (completion, hover help, errors
    as you type): docs/config.schema.json is this output. Never imports a backend."""
    from nnlab.schema import schema_text

    if out_file is None:
        typer.echo(schema_text(), nl=False)
        return
    try:
        out_file.write_text(schema_text(), encoding="utf-8")
    except OSError as e:
        err.print(f"error: cannot write {out_file}: {e.strerror or e}", markup=False)
        raise typer.Exit(EXIT_USAGE) from None
    err.print(f"wrote {out_file}", markup=False)


@app.command()
def plot(
    directory: Annotated[Path, typer.Argument(help="A run directory or an experiment directory.")],
    runs: Annotated[bool, typer.Option("--runs", help="Also draw each run's own plots past 50 "
                                       "runs (up to 50 they are drawn anyway).")] = False,
    debug: DebugOpt = False,
) -> None:  # fmt: skip
    """Draw the plots of a run or experiment again, from its CSV files alone: an experiment's
    comparison plots first, then each run's own (up to 50 runs, or all with --runs; from 16 runs
    in parallel processes, one per core)."""
    import rich.progress as rp

    from nnlab import plots, store

    bar = rp.Progress(*rp.Progress.get_default_columns(), rp.MofNCompleteColumn(), console=err,
                      transient=True, disable=not err.is_terminal)  # fmt: skip
    tasks: dict[str, Any] = {}
    totals: dict[str, int] = {}

    def progress(stage: str, done: int, total: int) -> None:
        totals[stage] = total
        if stage == plots.RUNS_SKIPPED:
            return
        size = total if stage == plots.RUNS or done else None  # the comparison: a pulsing bar
        if stage not in tasks:
            what = "per-run plots" if stage == plots.RUNS else "comparison plots"
            tasks[stage] = bar.add_task(what, total=size)
        bar.update(tasks[stage], completed=done, total=size)

    try:
        with bar:
            written = plots.plot_dir(directory, runs=runs, progress=progress)
    except NnlabError as e:
        raise _fail(e, debug) from None
    own = [p for p in written if p.parent == directory / store.PLOTS_DIR]
    n_runs = len({p.parent.parent for p in written} - {directory})
    for path in written if n_runs <= plots.PER_RUN_PLOTS_MAX else own:
        out.print(str(path), markup=False)
    kind = "comparison plot" if totals else "plot"
    message = f"wrote {len(own)} {kind}{'s' * (len(own) != 1)} in {directory / store.PLOTS_DIR}"
    if n_runs:
        message += f", and {len(written) - len(own):,} plots of {n_runs:,} runs in their plots/"
    if plots.RUNS_SKIPPED in totals:
        message += (f"; the per-run plots of its {totals[plots.RUNS_SKIPPED]:,} runs (more than "
                    f"{plots.PER_RUN_PLOTS_MAX}) were not drawn: `nnlab plot {directory} --runs` "
                    "draws them, `nnlab plot RUN_DIR` those of one run")  # fmt: skip
    err.print(message, markup=False)


@app.command()
def report(
    directory: Annotated[
        Path, typer.Argument(help="An experiment directory (or a single run directory).")
    ],
    debug: DebugOpt = False,
) -> None:
    """Write report.md and report.html into an experiment (or run) directory: what was run,
    the results ranked by the target metric, whether the best setting beats the runner-up by
    more than the seed noise (Welch's t-test), the diagnosis of each run, every plot, and the
    runs that failed. The HTML embeds its images and needs nothing else to be read.

    Written at the end of `nnlab run` and `nnlab sweep` too; never imports a backend."""
    from nnlab import report as report_module

    try:
        written = report_module.write_report(directory)
    except NnlabError as e:
        raise _fail(e, debug) from None
    for path in written:
        out.print(str(path), markup=False)


@app.command("ls")
def ls(
    directory: Annotated[
        Path, typer.Argument(help="An output folder (lists experiments) or an experiment.")
    ] = Path("runs"),
) -> None:
    """A table of experiments, or of one experiment's runs: status, epochs, best validation
    metric, wall time."""
    from nnlab import listing

    try:
        title, columns, rows = listing.table(directory)
    except NnlabError as e:
        raise _fail(e, False) from None
    table = Table(title=title, title_justify="left", show_edge=False)
    for col in columns:
        table.add_column(col, no_wrap=col in ("run", "experiment"))
    for row in rows:
        table.add_row(*row)
    out.print(table)


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
