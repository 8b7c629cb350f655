"""The PNGs of a run or an experiment folder: read what ``store`` wrote (through
:mod:`nnlab.results`), turn it into plot data (:mod:`~nnlab.plots.curves`,
:mod:`~nnlab.plots.comparison`, :mod:`~nnlab.plots.dynamics`), hand that to the drawing
(:mod:`~nnlab.plots.draw`, :mod:`~nnlab.plots.draw_comparison`,
:mod:`~nnlab.plots.draw_dynamics`) and remove the PNGs of an older drawing. ``nnlab plot``
calls :func:`plot_dir`; a run ends with :func:`plot_run` (up to ``PER_RUN_PLOTS_MAX`` runs),
a sweep with :func:`plot_experiment`.

Sweeps of thousands of runs: the comparison plots are drawn first and read only the histories
of the sweep points they show; each run's own plots are drawn by default only up to
``PER_RUN_PLOTS_MAX`` runs, past it on demand (``runs=True``), in worker processes. Nothing
here prints: progress goes to the caller's callback.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import pandas as pd

from nnlab import results, store
from nnlab.cores import available_cores
from nnlab.errors import NnlabError
from nnlab.plots import (
    comparison,
    draw,
    draw_comparison,
    draw_dynamics,
    draw_importance,
    dynamics,
    importance,
    parameters,
)
from nnlab.plots.curves import NO_VALIDATION, curve_panels, read_boundary
from nnlab.results import RUN_ID

# a run's plots
LEARNING_CURVES_FILE = "learning_curves.png"
DECISION_BOUNDARY_FILE = "decision_boundary.png"
WEIGHTS_PLOT = "weights.png"
PARAMETERS_PLOT = "parameters.png"
GRADIENTS_PLOT = "gradients.png"
BATCHES_PLOT = "batches.png"
# an experiment's parameter importance (two or more axes, enough completed runs)
IMPORTANCE_PLOT = "importance.png"

# an experiment's runs get their own plots from `nnlab plot EXPERIMENT` and at the end of each
# run up to this many runs; past it on demand (`nnlab plot RUN_DIR`, `nnlab plot EXP --runs`)
PER_RUN_PLOTS_MAX = 50
# per-run plots of this many runs or more are drawn in worker processes, one per available core
PARALLEL_MIN_RUNS = 16

# the stages :func:`plot_dir` reports to its ``progress(stage, done, total)`` callback, in order
COMPARISON = "comparison"  # (0, 1) before the comparison plots, (1, 1) after
RUNS = "runs"  # (0, n) before the per-run plots of n runs, then (k, n) as each run is drawn
RUNS_SKIPPED = "runs skipped"  # (0, n): the n runs are past PER_RUN_PLOTS_MAX, not drawn
Progress = Callable[[str, int, int], None]


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
    if "val_loss" not in history.columns:
        title += f"\ntrain only: {NO_VALIDATION}"

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
      the global step, with the mean of each epoch over it;
    * ``parameters.png`` when the model is a few single numbers (``weights.csv``, see
      :func:`nnlab.plots.parameters.trajectories`): each one's value and the loss per epoch.

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
            table = dynamics.read_layer_stats(run_dir / file)
            panels = dynamics.layer_panels(table, stats)
        except NnlabError:
            continue
        if panels:
            title = title or run_title(run_dir, results.read_record(run_dir))
            written.append(draw_dynamics.draw_layer_panels(panels, title, subtitle, out / plot))
        paths = parameters.trajectories(table) if file == store.WEIGHTS_FILE else []
        if paths:
            history = results.read_history(run_dir / store.HISTORY_FILE)
            written.append(draw_dynamics.draw_parameters(
                paths, history["epoch"].to_numpy(), history["loss"].to_numpy(dtype=float),
                title or run_title(run_dir, None), out / PARAMETERS_PLOT))  # fmt: skip
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
      and validation dashed, mean over repeats with a band of ± 1 std; past
      ``comparison.CURVE_GROUPS_MAX`` sweep points only the best and worst
      (:func:`nnlab.plots.comparison.shown_groups`), whose histories alone are read;
    * ``<target>_vs_<axis>.png`` per swept axis: the target column
      (:func:`nnlab.results.target_column`) of every run, its mean ± std per value, and the
      final value beside it in a lighter colour;
    * ``heatmap_<target>.png`` when exactly two axes are swept;
    * ``importance.png`` when two or more axes are swept and at least
      ``importance.MIN_RUNS`` runs completed: each axis' importance for the target and its
      correlation with it (:func:`nnlab.plots.importance.importance_data`);
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

    column = results.target_column(summary)
    shown = comparison.shown_groups(summary, column)
    histories = results.read_histories(experiment_dir, shown.rows_of(summary))
    for metric in comparison.curve_metrics(list(histories.values())):
        groups = comparison.group_curves(summary, histories, metric, shown)
        if groups:
            log_y = comparison.curves_log_y(metric, groups)
            target = out / f"curves_{metric}.png"
            written.append(
                draw_comparison.draw_group_curves(
                    groups, metric, log_y, title, target, shown.note()
                )
            )
    written += plot_experiment_dynamics(experiment_dir, summary, shown)

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
            draw_comparison.draw_value_series(
                best, final if final.n.any() else None, name, title, target
            )
        )
    heat = comparison.heatmap_data(summary, column)
    if heat is not None and heat.n.any():
        written.append(draw_comparison.draw_heatmap(heat, title, out / f"heatmap_{column}.png"))
    ranked = importance.importance_data(summary, column)
    if ranked is not None and ranked.axes and not ranked.constant:
        target = out / IMPORTANCE_PLOT
        written.append(draw_importance.draw_importance(ranked, title, target))
    return _drop_stale(out, written)


def plot_experiment_dynamics(
    experiment_dir: str | Path,
    summary: pd.DataFrame,
    shown: comparison.ShownGroups | None = None,
) -> list[Path]:
    """The per-layer comparison plots of an experiment, under ``<experiment>/plots/``.

    ``gradients_std.png``, ``weights_std.png`` and ``gradients_mean.png``, each when a run of
    ``summary`` captured the file: a panel per layer (depth order, up to six a row), the stat
    of its kernel against epoch, a colour per sweep point (as in ``curves_*.png``), the
    geometric mean over seeds with a ×/÷ 1 geometric std band on the log std panels, the mean
    ± 1 std on the mean panels (see :func:`nnlab.plots.dynamics.group_layer_curves`). Failed
    runs and runs without the file are left out. With ``shown`` (the settings the curves
    show, when there are many) only those, in the curves' colours, and only their files are
    read. Called by :func:`plot_experiment`; returns the PNGs.
    """
    experiment_dir = Path(experiment_dir)
    if summary.empty or RUN_ID not in summary.columns:
        return []
    title = experiment_dir.resolve().name
    out = experiment_dir / store.PLOTS_DIR
    written: list[Path] = []
    frames: dict[str, dict[str, pd.DataFrame]] = {}
    read = summary if shown is None else shown.rows_of(summary)
    stats = list(dynamics.EXPERIMENT_STATS)
    for kind, stat in stats:
        if kind not in frames:
            frames[kind] = dynamics.read_captures(experiment_dir, read, kind)
            # a model of a few single numbers: their values per setting (weights_mean.png)
            if kind == "weights" and frames[kind] and parameters.trajectories(
                    next(iter(frames[kind].values()))):  # fmt: skip
                stats.append(("weights", "mean"))
        if not frames[kind]:
            continue
        data = dynamics.group_layer_curves(summary, frames[kind], stat, kind=kind, shown=shown)
        if data.groups and data.layers:
            target = out / f"{kind}_{stat}.png"
            written.append(draw_dynamics.draw_layer_comparison(data, title, target))
    return written


def plot_dir(
    path: str | Path,
    runs: bool = False,
    progress: Progress | None = None,
    workers: int | None = None,
) -> list[Path]:
    """``nnlab plot DIR``: the plots of a run directory, or of an experiment.

    For an experiment, the comparison plots (:func:`plot_experiment`) first; then each run's
    own plots (:func:`plot_run`) when it has at most ``PER_RUN_PLOTS_MAX`` run folders, or
    when ``runs`` asks for them. Past the threshold the runs' folders are left as they are
    (their older PNGs too). Runs that never completed an epoch (no history rows: they failed
    while building the model) have nothing to plot and are skipped; their status is in
    result.json. The runs are drawn in ``workers`` processes (default: one per available core
    from ``PARALLEL_MIN_RUNS`` runs, else in this process; spawned, so a script that calls this
    needs the usual ``if __name__ == "__main__":`` guard); ``progress(stage, done, total)`` is
    told of each stage (``COMPARISON``, then ``RUNS`` or ``RUNS_SKIPPED``).

    Returns the PNGs written: each run's, in run order, then the experiment's.
    """
    path = Path(path)
    if store.is_run_dir(path):
        return plot_run(path)
    folders = store.run_dirs(path)
    if not folders:
        raise NnlabError(f"{path}: not a run or experiment directory (no history.csv found)")

    def notify(stage: str, done: int, total: int) -> None:
        if progress is not None:
            progress(stage, done, total)

    notify(COMPARISON, 0, 1)
    # without a summary.csv the runs with a history are compared (a scan not needed otherwise)
    with_history = None
    if not (path / store.SUMMARY_FILE).is_file():
        with_history = [run for run in folders if (run / store.HISTORY_FILE).is_file()]
    experiment = plot_experiment(path, with_history)
    notify(COMPARISON, 1, 1)
    # the runs of the current config, as training counts them (a folder left by an older
    # config, or one that never wrote a history, does not make a sweep large)
    if with_history is None:
        n_runs = len(results.read_summary_text(path / store.SUMMARY_FILE))
    else:
        n_runs = len(with_history)
    if not runs and n_runs > PER_RUN_PLOTS_MAX:
        notify(RUNS_SKIPPED, 0, n_runs)
        return experiment
    return plot_runs(folders, notify, workers) + experiment


def plot_runs(
    folders: Sequence[Path], progress: Progress | None = None, workers: int | None = None
) -> list[Path]:
    """:func:`plot_run` of every folder (one without a history row is skipped), in ``workers``
    processes (default: one per available core from ``PARALLEL_MIN_RUNS`` folders; 1 draws
    here). ``progress(RUNS, done, total)`` as each is drawn. Returns the PNGs, in folder order.
    """
    total = len(folders)
    if progress is not None:
        progress(RUNS, 0, total)
    if workers is None:
        workers = available_cores() if total >= PARALLEL_MIN_RUNS else 1
    workers = max(1, min(workers, total))
    drawn: list[list[Path] | None] = [None] * total
    if workers == 1:
        for k, run in enumerate(folders):
            drawn[k] = _plot_run_if_any(run)
            if progress is not None:
                progress(RUNS, k + 1, total)
    else:
        # spawned, not forked: a caller (a notebook) may hold threads or a backend
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_ignore_interrupt)
        try:
            futures = {pool.submit(_plot_run_if_any, run): k for k, run in enumerate(folders)}
            for done, future in enumerate(as_completed(futures), 1):
                drawn[futures[future]] = future.result()
                if progress is not None:
                    progress(RUNS, done, total)
        finally:  # on an error or Ctrl-C: no new run is started, the ones drawing end
            pool.shutdown(wait=True, cancel_futures=True)
    return [png for pngs in drawn if pngs for png in pngs]


def _plot_run_if_any(run: Path) -> list[Path] | None:
    """:func:`plot_run`, or None for a run without a history row (nothing to draw)."""
    try:
        return plot_run(run)
    except results.NothingToRead:
        return None


def _ignore_interrupt() -> None:
    """A drawing worker leaves Ctrl-C to the process that started it, and leaves when that
    process dies without a word (kill -9): it would otherwise wait on its queue forever."""
    import multiprocessing as mp
    import threading
    from multiprocessing.connection import wait

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = mp.parent_process()
    if parent is not None:

        def watch() -> None:
            wait([parent.sentinel])
            os._exit(1)

        threading.Thread(target=watch, name="nnlab-plot-parent-watch", daemon=True).start()
