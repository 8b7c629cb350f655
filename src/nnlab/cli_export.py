"""``nnlab export``: finished runs, written for TensorBoard or logged into MLflow, without
training again (``nnlab.export``). Registered on the ``nnlab`` command by ``cli``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from nnlab.errors import ConfigError, NnlabError

app = typer.Typer(
    name="export",
    help="Write finished runs for TensorBoard or log them into MLflow (no retraining).",
    no_args_is_help=True,
)
err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)

DirArg = Annotated[
    Path, typer.Argument(help="An experiment directory (runs/NAME).", show_default=False)
]


def _experiment_dir(directory: Path) -> Path:
    from nnlab import store

    if not directory.is_dir():
        raise ConfigError(f"DIR: {directory}: no such directory")
    if store.is_run_dir(directory):
        raise ConfigError(f"DIR: {directory} is a run folder; give its experiment folder, "
                          f"{directory.parent}")  # fmt: skip
    return directory


def _fail(e: NnlabError) -> typer.Exit:
    for line in e.problems:
        err.print(f"error: {line}", markup=False)
    return typer.Exit(e.exit_code)


@app.command()
def tensorboard(directory: DirArg) -> None:
    """Write TensorBoard event files into every run of DIR, as train.tensorboard would have.

    Scalars per epoch from history.csv, what train.capture recorded (weight statistics and
    histograms), and the HParams sessions (swept values, seed, status, final and best
    numbers). Then: tensorboard --logdir DIR."""
    from nnlab.export import tensorboard as tb

    try:
        written = tb.write_experiment(_experiment_dir(directory))
    except NnlabError as e:
        raise _fail(e) from None
    if not written:
        raise _fail(ConfigError(f"DIR: {directory}: no runs with a summary row to export"))
    out.print(f"wrote TensorBoard files for {len(written)} run{'s' * (len(written) != 1)} "
              f"under {directory}/*/{tb.TB_DIR}/; view them: tensorboard --logdir {directory}",
              markup=False)  # fmt: skip


@app.command()
def mlflow(
    directory: DirArg,
    tracking_uri: Annotated[
        str | None,
        typer.Option(
            "--tracking-uri", show_default=False,
            help="Where to log (default: $MLFLOW_TRACKING_URI, else MLflow's default, the "
            "SQLite file mlflow.db in the current folder).",
        ),
    ] = None,
    experiment_name: Annotated[
        str | None,
        typer.Option("--experiment-name", show_default=False,
                     help="The MLflow experiment (default: the nnlab experiment's name)."),
    ] = None,
) -> None:  # fmt: skip
    """Log every run of DIR into MLflow (needs: pip install 'nnlab\\[mlflow]').

    Params: the resolved config; metrics: history.csv per epoch (step = epoch) and the final
    and best numbers; tags: status, diagnosis, run id; artifacts: plots, history.csv, the
    config and record, the model if saved. Exporting again adds nothing for runs that did not
    change, and replaces the MLflow run of one that did."""
    from nnlab.export import mlflow as ml

    try:
        done = ml.export(_experiment_dir(directory), tracking_uri, experiment_name)
    except NnlabError as e:
        raise _fail(e) from None
    except Exception as e:  # MLflow failed mid-way (an upload, a database): nothing is lost
        err.print(f"error: the export stopped: {type(e).__name__}: {e}; the runs logged "
                  "before it are kept, and the same command finishes the rest",
                  markup=False)  # fmt: skip
        raise typer.Exit(1) from None
    out.print(
        f"MLflow ({done.tracking_uri}), experiment {done.experiment_id}: logged "
        f"{len(done.logged)}, replaced {len(done.replaced)} (changed since), unchanged "
        f"{len(done.unchanged)}", markup=False,
    )  # fmt: skip
    ui = f" --backend-store-uri {done.tracking_uri}" if not done.tracking_uri.startswith(
        "http") else ""  # fmt: skip
    if ui:
        out.print(f"view them: mlflow ui{ui}", markup=False)
