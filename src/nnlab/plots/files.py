"""The PNGs of a run or an experiment folder: read what ``store`` wrote (through
:mod:`nnlab.results`), turn it into plot data (:mod:`~nnlab.plots.curves`,
:mod:`~nnlab.plots.comparison`, :mod:`~nnlab.plots.dynamics`), hand that to the drawing
(:mod:`~nnlab.plots.draw`, :mod:`~nnlab.plots.draw_dynamics`) and remove the PNGs of an older
drawing. ``nnlab plot`` calls :func:`plot_dir`; a run ends with :func:`plot_run`, a sweep with
:func:`plot_experiment`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from nnlab import results, store
from nnlab.errors import NnlabError
from nnlab.plots import comparison, draw, draw_dynamics, dynamics
from nnlab.plots.curves import curve_panels, read_boundary
from nnlab.results import RUN_ID

# a run's plots
LEARNING_CURVES_FILE = "learning_curves.png"
DECISION_BOUNDARY_FILE = "decision_boundary.png"
WEIGHTS_PLOT = "weights.png"
GRADIENTS_PLOT = "gradients.png"
BATCHES_PLOT = "batches.png"


def run_title(run_dir: Path, result: dict[str, Any] | None) -> str:
    """The title of a run's plots: its id, and how it ended unless it completed."""
    run_id = (result or {}).get("run_id") or run_dir.resolve().name
    status = (result or {}).get("status")
    if status == store.COMPLETED:
        return str(run_id)
    if status is None:
        return f"{run_id} (unfinished: no result.json)"
    diverged = (result or {}).get("diverged_epoch")
    if status == store.DIVERGED and diverged is not None:
        return f"{run_id} (diverged at epoch {diverged})"
    return f"{run_id} ({status})"


def _drop_stale(folder: Path, written: list[Path]) -> list[Path]:
    """Remove the PNGs in ``folder`` that this drawing did not write (a sweep axis that is
    gone, a capture that was turned off), so nothing shows a plot of an older config."""
    keep = {p.resolve() for p in written}
    for png in folder.glob("*.png") if folder.is_dir() else []:
        if png.resolve() not in keep:
            png.unlink(missing_ok=True)
    return written


def plot_run(run_dir: str | Path) -> list[Path]:
    """Draw the plots of one run directory from its files; returns the PNGs written.

    ``plots/learning_curves.png`` always, ``plots/decision_boundary.png`` when the run wrote a
    ``boundary.csv``, and ``plots/weights.png``, ``gradients.png``, ``batches.png`` when it
    captured ``weights.csv``, ``gradients.csv``, ``batches.csv`` (:func:`plot_run_dynamics`).
    Called by ``nnlab plot``, by :func:`plot_dir` and at the end of a run. Raises
    ``NnlabError`` when the history is missing or has no complete row
    (:class:`nnlab.results.NothingToRead`).
    """
    run_dir = Path(run_dir)
    history = results.read_history(run_dir / store.HISTORY_FILE)
    result = results.read_record(run_dir)
    title = run_title(run_dir, result)
    diverged = (result or {}).get("diverged_epoch")
    diverged_epoch = int(diverged) if isinstance(diverged, int | float) else None

    out = run_dir / store.PLOTS_DIR
    written = [
        draw.draw_learning_curves(
            curve_panels(history), title, diverged_epoch, out / LEARNING_CURVES_FILE
        )
    ]
    boundary_file = run_dir / store.BOUNDARY_FILE
    if boundary_file.is_file():
        data = read_boundary(boundary_file)
        written.append(
            draw.draw_boundary(data, f"{title}\ndecision boundary", out / DECISION_BOUNDARY_FILE)
        )
    written += plot_run_dynamics(run_dir)
    return _drop_stale(out, written)


def plot_run_dynamics(run_dir: str | Path) -> list[Path]:
    """Draw the captured training dynamics of one run; returns the PNGs written.

    Under ``<run_dir>/plots/``, each only when its file exists and has a usable row:

    * ``weights.png`` from ``weights.csv``: mean and std (log axis) of every kernel per layer
      against epoch, a colour per layer from the first (dark) to the output (light);
    * ``gradients.png`` from ``gradients.csv``: the same for the kernel gradients, plus the
      update ratio (lr·|g|/|w|, log axis) with the 1e-3 rule of thumb;
    * ``batches.png`` from ``batches.csv``: the loss (and each metric) of every batch against
      the global step, with the mean of each epoch over it.

    A file that is unreadable or has nothing finite draws nothing. Called by :func:`plot_run`.
    """
    run_dir = Path(run_dir)
    out = run_dir / store.PLOTS_DIR
    written: list[Path] = []
    figures = (
        (store.WEIGHTS_FILE, WEIGHTS_PLOT, dynamics.WEIGHT_STATS, "weights of each layer's kernel"),
        (
            store.GRADIENTS_FILE,
            GRADIENTS_PLOT,
            dynamics.GRADIENT_STATS,
            "gradient of the loss for each kernel",
        ),
    )
    title: str | None = None
    for file, plot, stats, subtitle in figures:
        if not (run_dir / file).is_file():
            continue
        try:
            panels = dynamics.layer_panels(dynamics.read_layer_stats(run_dir / file), stats)
        except NnlabError:
            continue
        if panels:
            title = title or run_title(run_dir, results.read_record(run_dir))
            written.append(draw_dynamics.draw_layer_panels(panels, title, subtitle, out / plot))
    if (run_dir / store.BATCHES_FILE).is_file():
        try:
            batches = dynamics.read_batches(run_dir / store.BATCHES_FILE)
        except NnlabError:
            batches = None
        panels_b = dynamics.batch_panels(batches) if batches is not None and len(batches) else []
        if panels_b:
            title = title or run_title(run_dir, results.read_record(run_dir))
            per_epoch = dynamics.steps_per_epoch(batches) if batches is not None else None
            written.append(
                draw_dynamics.draw_batches(panels_b, per_epoch, title, out / BATCHES_PLOT)
            )
    return written


def plot_experiment(experiment_dir: str | Path, runs: Sequence[Path] | None = None) -> list[Path]:
    """The cross-run comparison plots of an experiment, under ``<experiment>/plots/``.

    * ``curves_<metric>.png`` for loss and each metric: one colour per sweep point, train solid
      and validation dashed, mean over repeats with a band of ± 1 std;
    * ``<target>_vs_<axis>.png`` per swept axis: the target column
      (:func:`nnlab.results.target_column`) of every run, its mean ± std per value, and the
      final value beside it in a lighter colour;
    * ``heatmap_<target>.png`` when exactly two axes are swept;
    * ``gradients_std.png``, ``weights_std.png``, ``gradients_mean.png`` when runs captured
      ``gradients.csv`` / ``weights.csv``: a panel per layer, a curve per sweep point
      (:func:`plot_experiment_dynamics`).

    Rows come from ``summary.csv`` (runs of the current config only); an experiment without one
    is summarised from the ``result.json`` of ``runs`` (default: every run folder), without
    axes. Failed runs and runs without history rows are left out. Called by :func:`plot_dir`
    and at the end of a sweep; returns the PNGs written.
    """
    experiment_dir = Path(experiment_dir)
    summary = results.experiment_summary(experiment_dir, runs)
    if summary.empty or RUN_ID not in summary.columns:
        return []
    title = experiment_dir.resolve().name
    out = experiment_dir / store.PLOTS_DIR
    written: list[Path] = []

    histories = results.read_histories(experiment_dir, summary)
    for metric in comparison.curve_metrics(list(histories.values())):
        groups = comparison.group_curves(summary, histories, metric)
        if groups:
            log_y = comparison.curves_log_y(metric, groups)
            target = out / f"curves_{metric}.png"
            written.append(draw.draw_group_curves(groups, metric, log_y, title, target))
    written += plot_experiment_dynamics(experiment_dir, summary)

    column = results.target_column(summary)
    if column is None:
        return _drop_stale(out, written)
    final_column = "final_" + column.removeprefix("best_")
    axes = results.sweep_axes(summary)
    short = results.short_names(axes)
    for axis in axes:
        best = comparison.metric_vs_value(summary, axis, column)
        if not best.n.any():
            continue
        final = comparison.metric_vs_value(summary, axis, final_column)
        name = short[axis]
        target = out / f"{column}_vs_{name}.png"
        written.append(
            draw.draw_value_series(best, final if final.n.any() else None, name, title, target)
        )
    heat = comparison.heatmap_data(summary, column)
    if heat is not None and heat.n.any():
        written.append(draw.draw_heatmap(heat, title, out / f"heatmap_{column}.png"))
    return _drop_stale(out, written)


def plot_experiment_dynamics(experiment_dir: str | Path, summary: pd.DataFrame) -> list[Path]:
    """The per-layer comparison plots of an experiment, under ``<experiment>/plots/``.

    ``gradients_std.png``, ``weights_std.png`` and ``gradients_mean.png``, each when a run of
    ``summary`` captured the file: a panel per layer (depth order, up to six a row), the stat
    of its kernel against epoch, a colour per sweep point (as in ``curves_*.png``), the
    geometric mean over seeds with a ×/÷ 1 geometric std band on the log std panels, the mean
    ± 1 std on the mean panels (see :func:`nnlab.plots.dynamics.group_layer_curves`). Failed
    runs and runs without the file are left out. Called by :func:`plot_experiment`; returns
    the PNGs.
    """
    experiment_dir = Path(experiment_dir)
    if summary.empty or RUN_ID not in summary.columns:
        return []
    title = experiment_dir.resolve().name
    out = experiment_dir / store.PLOTS_DIR
    written: list[Path] = []
    frames: dict[str, dict[str, pd.DataFrame]] = {}
    for kind, stat in dynamics.EXPERIMENT_STATS:
        if kind not in frames:
            frames[kind] = dynamics.read_captures(experiment_dir, summary, kind)
        if not frames[kind]:
            continue
        data = dynamics.group_layer_curves(summary, frames[kind], stat, kind=kind)
        if data.groups and data.layers:
            target = out / f"{kind}_{stat}.png"
            written.append(draw_dynamics.draw_layer_comparison(data, title, target))
    return written


def plot_dir(path: str | Path) -> list[Path]:
    """``nnlab plot DIR``: the plots of a run directory, or of every run of an experiment.

    For an experiment, runs that never completed an epoch (no history rows: they failed while
    building the model) have nothing to plot and are skipped; their status is in result.json.
    Returns the PNGs written.
    """
    path = Path(path)
    if store.is_run_dir(path):
        return plot_run(path)
    runs = store.run_dirs(path)
    if not runs:
        raise NnlabError(f"{path}: not a run or experiment directory (no history.csv found)")
    written: list[Path] = []
    plotted: list[Path] = []
    for run in runs:
        try:
            written += plot_run(run)
        except results.NothingToRead:
            continue
        plotted.append(run)
    written += plot_experiment(path, plotted)
    return written
