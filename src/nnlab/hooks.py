"""What the CLI and the Python API run when a run or an experiment ends: draw the plots, write
the report and, when asked, the TensorBoard files. These are the hooks ``execute`` and the
launchers take, so that the training wing imports nothing of the reading wing; this module joins
the two, like cli.

Drawing never fails a run: the results are safe on disk and ``nnlab plot`` / ``nnlab report``
can retry, so a problem is noted (in the run's result, or the outcome) and training goes on.
An experiment of more than ``nnlab.plots.PER_RUN_PLOTS_MAX`` runs gets no per-run plots as its
runs end (:func:`run_end`): its comparison plots at the end are what a large sweep is read by.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nnlab import store
from nnlab.execute import Outcome
from nnlab.expansion import RunSpec
from nnlab.launchers import RunEnd


def plot_run(run_dir: Path, result: dict[str, Any]) -> None:
    """The run-end hook: draw the run's plots, and its TensorBoard scalars when its config asks
    (:func:`tensorboard_run`); a problem is noted in its result."""
    from nnlab import plots

    try:
        plots.plot_run(run_dir)
    except Exception as e:  # the run's data is safe on disk; `nnlab plot` can retry
        _note(run_dir, result, "plot_error", e)
    tensorboard_run(run_dir, result)


def tensorboard_run(run_dir: Path, result: dict[str, Any]) -> None:
    """The run's TensorBoard scalars as it ends, when its config has ``train.tensorboard``
    (where it trained: a worker, a Ray actor); a problem is noted in its result."""
    from nnlab import results

    if not results.read_config_text(run_dir / store.CONFIG_FILE)[1].get("train", {}).get(
        "tensorboard"
    ):
        return
    from nnlab.export import tensorboard

    try:
        tensorboard.write_run(run_dir)
    except Exception as e:  # `nnlab export tensorboard` can retry
        _note(run_dir, result, "tensorboard_error", e)


def _note(run_dir: Path, result: dict[str, Any], key: str, e: Exception) -> None:
    """Record a run-end problem in the run's result (the run itself is safe on disk)."""
    result[key] = f"{type(e).__name__}: {e}"
    store.write_json(run_dir / store.RESULT_FILE, result)


def run_end(n_runs: int, tensorboard: bool = False) -> RunEnd | None:
    """The run-end hook of an experiment of ``n_runs`` runs: :func:`plot_run` up to
    ``nnlab.plots.PER_RUN_PLOTS_MAX`` runs; past it no per-run plots (``nnlab plot RUN_DIR``
    or ``nnlab plot EXPERIMENT --runs`` draws them on demand), only the TensorBoard files
    when a run asks for them (``tensorboard``), else no hook."""
    from nnlab.plots.files import PER_RUN_PLOTS_MAX

    if n_runs <= PER_RUN_PLOTS_MAX:
        return plot_run
    return tensorboard_run if tensorboard else None


def plot_experiment(exp_dir: Path) -> str | None:
    """Draw the comparison plots; returns the problem, if any."""
    from nnlab import plots

    try:
        plots.plot_experiment(exp_dir)
    except Exception as e:
        return f"{type(e).__name__}: {e}"
    return None


def write_report(exp_dir: Path) -> tuple[Path | None, str | None]:
    """Write report.md and report.html; returns the HTML path, or the problem."""
    from nnlab import report

    try:
        _, html = report.write_report(exp_dir)
    except Exception as e:
        return None, f"{type(e).__name__}: {e}"
    return html, None


def write_tensorboard(exp_dir: Path, run_ids: list[str]) -> str | None:
    """The HParams experiment and sessions of ``run_ids`` (and the scalars of any run that
    has none yet); returns the problem, if any."""
    from nnlab.export import tensorboard

    try:
        tensorboard.write_experiment(exp_dir, run_ids)
    except Exception as e:
        return f"{type(e).__name__}: {e}"
    return None


def finish_experiment(exp_dir: Path, specs: list[RunSpec], outcome: Outcome) -> None:
    """The experiment-end hook: comparison plots (for more than one run), then the report,
    then the TensorBoard HParams of the runs that ask for it; their problems go into
    ``outcome`` for the CLI to print as warnings."""
    if len(specs) > 1:
        outcome.plot_error = plot_experiment(exp_dir)
    outcome.report, outcome.report_error = write_report(exp_dir)
    tensorboard_runs = [s.run_id for s in specs if s.config.train.tensorboard]
    if tensorboard_runs:
        outcome.tensorboard_error = write_tensorboard(exp_dir, tensorboard_runs)
